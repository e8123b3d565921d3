"""Deterministic layer tarballs: same content in, same digest out (sorted, mtime 0, root-owned).

Determinism is what makes rebuilding a platform a no-op for the registry (blob HEAD hits)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Fixed, so the same content always gives the same digest.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Layer:
    blob: bytes  # gzip-compressed tar, what is pushed
    diff_id: str  # sha256 of the uncompressed tar, what the config lists
    digest: str  # sha256 of the blob


def _layer(tar_bytes: bytes, compress: bool = True) -> Layer:
    blob = gzip.compress(tar_bytes, compresslevel=GZIP_LEVEL, mtime=0) if compress else tar_bytes
    return Layer(blob, "sha256:" + hashlib.sha256(tar_bytes).hexdigest(),
                 "sha256:" + hashlib.sha256(blob).hexdigest())


def _info(name: str, **kw: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    for key, value in kw.items():
        setattr(info, key, value)
    return info


def build_layer(files: dict[str, bytes | Path], modes: dict[str, int] | None = None,
                compress: bool = True) -> Layer:
    """Layer from {absolute path in image: bytes or host file}; parent dirs are added.

    `compress=False` suits model weights: they barely compress, and gzip costs seconds."""
    modes = modes or {}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for path in files:
            for parent in reversed(PurePosixPath(path.lstrip("/")).parents[:-1]):
                dirs.add(str(parent))
        for name in sorted(dirs):
            tar.addfile(_info(name, type=tarfile.DIRTYPE, mode=0o755))
        for path in sorted(files):
            source = files[path]
            data = source.read_bytes() if isinstance(source, Path) else source
            info = _info(path.lstrip("/"), size=len(data), mode=modes.get(path, 0o644))
            tar.addfile(info, io.BytesIO(data))
    return _layer(raw.getvalue(), compress)


def layer_from_dir(root: Path) -> Layer:
    """Layer of a whole directory tree (a base rootfs), preserving modes and symlinks."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            stat = path.lstat()
            if path.is_symlink():
                tar.addfile(_info(name, type=tarfile.SYMTYPE, linkname=str(path.readlink()),
                                  mode=0o777))
            elif path.is_dir():
                tar.addfile(_info(name, type=tarfile.DIRTYPE, mode=stat.st_mode & 0o7777))
            elif path.is_file():
                with path.open("rb") as fh:
                    tar.addfile(_info(name, size=stat.st_size, mode=stat.st_mode & 0o7777), fh)
    return _layer(raw.getvalue())
