"""The `runtime/torch` base image: Debian + PyTorch CPU + edgefleet's device packages.

Built here for each arch with nothing pulled from a public registry: a cached debootstrap
rootfs, a cached pinned pip --target site dir, and the repo's `bench`, `agent` and
`serving` packages, as three uncompressed, deterministic tar layers streamed to disk. The
same inputs give the same digests, so a rebuild's blob HEADs hit and a re-push uploads
nothing. Push order is blobs, config, per-arch manifest (per-arch tag), then the index."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from controller.images import runtime_rootfs, site_packages
from controller.images.errors import ImageBuildError
from controller.lab.config import DEFAULT_CACHE_DIR, SUITE
from controller.lab.errors import LabError
from controller.lab.proc import is_root
from controller.lab.rootfs import STAMP
from registry import labels
from registry.build import OCI_CONFIG, OCI_LAYER_TAR
from registry.client import OCI_MANIFEST, RegistryClient
from registry.index import dump, update_index
from registry.layers import FileLayer, stream_dir_layer
from registry.platforms import Platform, parse
from registry.reference import platform_tag

RUNTIME_REPO = "runtime/torch"
RUNTIME_TAG = "1"
RUNTIME_REF = f"{RUNTIME_REPO}:{RUNTIME_TAG}"
ARCHES = tuple(sorted(site_packages.RECIPES))

APP_DIR = "/opt/edgefleet/app"
APP_PACKAGES = ("bench", "agent", "serving")
# The repo checkout the device packages are copied from.
SOURCE_ROOT = Path(__file__).resolve().parents[2]

LABEL_RUNTIME = f"{labels.NS}.runtime"
LABEL_TORCH = f"{LABEL_RUNTIME}.torch"
LABEL_PYTHON = f"{LABEL_RUNTIME}.python"
ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f"PYTHONPATH={APP_DIR}:{site_packages.SITE_DIR}",
    # The image is read-only in spirit: the site dir ships hash-checked .pyc already.
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONUNBUFFERED=1",
]
CMD = ["python3", "-m", "serving"]
PORT = "8500/tcp"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LayerResult:
    name: str
    digest: str
    size: int
    uploaded: bool  # False when the registry already had it (blob HEAD hit)


@dataclass(frozen=True)
class RuntimeResult:
    ref: str
    platform: str
    platform_tag: str
    manifest_digest: str
    index_digest: str
    config_digest: str
    layers: list[LayerResult]
    image_size: int  # config + layers, bytes as stored (layers are uncompressed)
    torch: str
    python: str
    app_packages: list[str]
    missing_packages: list[str]  # device packages absent from the checkout at build time
    build_s: float
    push_s: float
    pinned: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def supported_platform(arch: str) -> Platform:
    """The normalised platform for `arch` when there is a runtime recipe for it."""
    platform = parse(arch)
    if platform.os != "linux" or platform.architecture not in site_packages.RECIPES:
        raise ImageBuildError(f"no runtime image for {platform} "
                              f"(supported: {', '.join(f'linux/{a}' for a in ARCHES)})")
    return platform


def build_runtime(client: RegistryClient, arches: Sequence[str],
                  cache_dir: Path = DEFAULT_CACHE_DIR, progress: Progress | None = None,
                  source_root: Path = SOURCE_ROOT) -> list[RuntimeResult]:
    """Build and push RUNTIME_REF for each arch; the index keeps platforms not rebuilt.

    Checks every input and the registry before the minutes-long first build starts."""
    platforms = sorted({supported_platform(a) for a in arches})
    if not platforms:
        raise ImageBuildError("no architecture given (e.g. --arch amd64 --arch arm64)")
    if not is_root():
        raise ImageBuildError("building runtime images needs root (debootstrap and chroot)")
    client.ping()
    say = progress or (lambda _msg: None)
    try:
        return [_build_one(client, p, cache_dir, say, source_root) for p in platforms]
    except LabError as exc:  # debootstrap or pip: one line that names the log
        raise ImageBuildError(str(exc)) from None
    except OSError as exc:  # cache dir unusable, disk full
        raise ImageBuildError(f"building the runtime image: {exc}") from None


def _excluded_stamp(rel: PurePosixPath) -> bool:
    """The cache's ready-stamp is bookkeeping, not image content."""
    return rel == PurePosixPath(STAMP)


def _excluded_from_app(rel: PurePosixPath) -> bool:
    """Sources and package data only: no bytecode caches, no dot-dirs (tool caches)."""
    return (rel.name == "__pycache__" or rel.suffix in (".pyc", ".pyo")
            or rel.name.startswith("."))


def _build_one(client: RegistryClient, platform: Platform, cache_dir: Path, say: Progress,
               source_root: Path) -> RuntimeResult:
    arch = platform.architecture
    started = time.monotonic()
    root = runtime_rootfs.ensure_runtime_rootfs(cache_dir, arch, say)
    site = site_packages.ensure_site(cache_dir, arch, say)
    present = [p for p in APP_PACKAGES if (source_root / p / "__init__.py").is_file()]
    missing = [p for p in APP_PACKAGES if p not in present]
    if missing:
        say(f"{arch}: device package(s) {', '.join(missing)} not in {source_root}; "
            "image built without them")
    torch = site_packages.torch_version(site)
    python = runtime_rootfs.python_version(root)
    with tempfile.TemporaryDirectory(prefix="edgefleet-runtime-") as tmp:
        say(f"{arch}: writing Debian layer")
        debian = stream_dir_layer([(root, "/")], Path(tmp) / "debian.tar",
                                  _excluded_stamp, keep_owner=True)
        say(f"{arch}: writing site-packages layer")
        site_layer = stream_dir_layer([(site, site_packages.SITE_DIR)], Path(tmp) / "site.tar",
                                      _excluded_stamp)
        app = stream_dir_layer([(source_root / p, f"{APP_DIR}/{p}") for p in present],
                               Path(tmp) / "app.tar", _excluded_from_app)
        built = time.monotonic()
        layers = {"debian": debian, "site": site_layer, "app": app}
        pushed = [_push_layer(client, name, layer, say) for name, layer in layers.items()]
    meta = {LABEL_RUNTIME: "torch", LABEL_TORCH: torch, LABEL_PYTHON: python}
    history = [
        f"debootstrap --variant=minbase {SUITE} {arch} +{','.join(runtime_rootfs.PACKAGES)}",
        f"pip install --target {site_packages.SITE_DIR} "
        + " ".join(site_packages.recipe_for(arch).requirements()),
        f"copy {', '.join(present) or 'no packages'} to {APP_DIR}"
        + (f" ({', '.join(missing)} missing)" if missing else ""),
    ]
    config = {
        **platform.as_oci(),
        "config": {"Env": ENV, "Cmd": CMD, "ExposedPorts": {PORT: {}}, "Labels": meta},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers.values()]},
        "history": [{"created_by": line} for line in history],
    }
    config_raw = dump(config)
    config_digest = client.push_blob(RUNTIME_REPO, config_raw)
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_raw)},
        "layers": [{"mediaType": OCI_LAYER_TAR, "digest": layer.digest, "size": layer.size}
                   for layer in layers.values()],
        "annotations": meta,
    }
    manifest_raw = dump(manifest)
    arch_tag = platform_tag(RUNTIME_TAG, platform.slug)
    manifest_digest = client.put_manifest(RUNTIME_REPO, arch_tag, manifest_raw, OCI_MANIFEST)
    entry = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest_raw),
             "platform": platform.as_oci(), "annotations": meta}
    # Only the runtime name on the index: torch and python versions differ per arch.
    index_digest = update_index(client, RUNTIME_REPO, RUNTIME_TAG, platform, entry,
                                {LABEL_RUNTIME: "torch"})
    say(f"{arch}: {RUNTIME_REPO}:{arch_tag} -> {manifest_digest[:19]}")
    return RuntimeResult(
        ref=RUNTIME_REF, platform=str(platform), platform_tag=arch_tag,
        manifest_digest=manifest_digest, index_digest=index_digest, config_digest=config_digest,
        layers=pushed, image_size=len(config_raw) + sum(layer.size for layer in pushed),
        torch=torch, python=python, app_packages=present, missing_packages=missing,
        build_s=round(built - started, 1), push_s=round(time.monotonic() - built, 1),
        pinned=f"{client.host}/{RUNTIME_REPO}@{manifest_digest}",
    )


def _push_layer(client: RegistryClient, name: str, layer: FileLayer,
                say: Progress) -> LayerResult:
    new = not client.blob_exists(RUNTIME_REPO, layer.digest)
    if new:
        say(f"uploading {name} layer ({layer.size / 1e6:.0f} MB)")
    client.push_blob_file(RUNTIME_REPO, layer.path, layer.digest)
    return LayerResult(name, layer.digest, layer.size, uploaded=new)
