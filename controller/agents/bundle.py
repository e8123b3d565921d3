"""The agent bundle: what `install_agent.yml` unpacks on a device, built with no network.

The agent and its dependencies (prometheus_client, nvidia-ml-py's `pynvml`, and zeroconf
with ifaddr for LAN discovery) are pure Python, so one bundle serves arm64 and amd64 alike
and needs only the device's python3 (>= 3.10): no pip, no compiler, no internet on the
device. The files are copied from the controller's own installed distributions, so agent
and controller run the same versions.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from importlib import metadata
from pathlib import Path, PurePosixPath

import agent

# distribution -> top-level names it installs that the agent needs. Only their .py files
# are taken: zeroconf's compiled modules (.so, with .pxd sources) are optional speed-ups
# built for the controller's arch, and it falls back to the .py beside each of them.
DEPENDENCIES = {"prometheus_client": ("prometheus_client",), "nvidia-ml-py": ("pynvml.py",),
                "zeroconf": ("zeroconf",), "ifaddr": ("ifaddr",)}


def _dependency_files() -> list[tuple[Path, PurePosixPath]]:
    """(source file, path inside lib/) for every file of the agent's dependencies."""
    out: list[tuple[Path, PurePosixPath]] = []
    for dist_name, tops in DEPENDENCIES.items():
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{dist_name} is not installed beside the controller") from None
        for f in dist.files or []:
            rel = PurePosixPath(str(f))
            if rel.parts[0] in tops and rel.suffix == ".py" and "__pycache__" not in rel.parts:
                out.append((Path(str(dist.locate_file(f))), rel))
    return out


def _agent_files() -> list[tuple[Path, PurePosixPath]]:
    root = Path(agent.__file__).resolve().parent
    return [(p, PurePosixPath("agent") / p.relative_to(root).as_posix())
            for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts]


def contents() -> list[tuple[Path, PurePosixPath]]:
    return sorted(_agent_files() + _dependency_files(), key=lambda item: str(item[1]))


def build(out_dir: Path) -> Path:
    """Write `edgefleet-agent-<version>-<digest>.tar.gz` (reproducible: fixed mtimes and
    owners) holding `lib/`; return its path. An identical bundle is reused."""
    files = contents()
    digest = hashlib.sha256()
    for src, rel in files:
        digest.update(str(rel).encode() + b"\0" + src.read_bytes())
    name = f"edgefleet-agent-{agent.__version__}-{digest.hexdigest()[:12]}.tar.gz"
    target = out_dir / name
    if target.exists():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for src, rel in files:
            data = src.read_bytes()
            info = tarfile.TarInfo(str(PurePosixPath("lib") / rel))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    tmp = target.with_suffix(".partial")
    tmp.write_bytes(buf.getvalue())
    tmp.rename(target)
    return target
