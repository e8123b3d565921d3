"""Deterministic layer tarballs: same content in, same digest out (sorted, mtime 0, root-owned).

Determinism is what makes rebuilding a platform a no-op for the registry (blob HEAD hits)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

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


# Excludes a path (relative to its tree's root) and, for a directory, all below it.
Exclude = Callable[[PurePosixPath], bool]
_CHUNK = 1024 * 1024


def _tree_entries(root: Path, prefix: PurePosixPath, exclude: Exclude | None,
                  keep_owner: bool) -> Iterator[tuple[tarfile.TarInfo, Path | None]]:
    """(header, file to read or None) for each entry under `root`, depth-first in name order.

    Modes, symlinks and hardlinks (a later name of an inode becomes a link to the first) are
    kept; sockets, fifos and device nodes are skipped (a container engine provides /dev)."""
    seen: dict[tuple[int, int], str] = {}

    def walk(directory: Path, rel: PurePosixPath) -> Iterator[tuple[tarfile.TarInfo, Path | None]]:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            sub = rel / entry.name
            if exclude is not None and exclude(sub):
                continue
            st = entry.stat(follow_symlinks=False)
            name = (prefix / sub).as_posix()
            owner = {"uid": st.st_uid, "gid": st.st_gid} if keep_owner else {}
            if stat.S_ISLNK(st.st_mode):
                yield _info(name, type=tarfile.SYMTYPE, linkname=os.readlink(entry.path),
                            mode=0o777, **owner), None
            elif stat.S_ISDIR(st.st_mode):
                yield _info(name, type=tarfile.DIRTYPE, mode=st.st_mode & 0o7777, **owner), None
                yield from walk(Path(entry.path), sub)
            elif stat.S_ISREG(st.st_mode):
                mode = st.st_mode & 0o7777
                first = seen.get((st.st_dev, st.st_ino)) if st.st_nlink > 1 else None
                if first is not None:
                    yield _info(name, type=tarfile.LNKTYPE, linkname=first, mode=mode,
                                **owner), None
                else:
                    seen[(st.st_dev, st.st_ino)] = name
                    yield _info(name, size=st.st_size, mode=mode, **owner), Path(entry.path)

    yield from walk(root, PurePosixPath())


def _write_trees(tar: tarfile.TarFile, trees: Sequence[tuple[Path, str]],
                 exclude: Exclude | None = None, keep_owner: bool = False) -> None:
    """Add each (host dir, path in image) tree; parent dirs of the image paths come first."""
    prefixes = sorted(PurePosixPath(dest.strip("/")) for _src, dest in trees)
    parents = {p for prefix in prefixes for p in prefix.parents if str(p) != "."}
    for parent in sorted(parents | {p for p in prefixes if str(p) != "."}):
        tar.addfile(_info(parent.as_posix(), type=tarfile.DIRTYPE, mode=0o755))
    for src, dest in sorted(trees, key=lambda t: t[1]):
        for info, source in _tree_entries(src, PurePosixPath(dest.strip("/")), exclude,
                                          keep_owner):
            if source is None:
                tar.addfile(info)
            else:
                with source.open("rb") as fh:
                    tar.addfile(info, fh)


def layer_from_dir(root: Path) -> Layer:
    """Layer of a whole directory tree (a base rootfs), preserving modes and symlinks."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _write_trees(tar, [(root, "")])
    return _layer(raw.getvalue())


@dataclass(frozen=True)
class FileLayer:
    """An uncompressed tar layer on disk: its digest is also its diff_id."""

    path: Path
    digest: str
    size: int

    @property
    def diff_id(self) -> str:
        return self.digest


class _HashingWriter:
    """File sink that hashes and counts what passes through, so the tar is read only once."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh, self._sha, self.size = fh, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self._sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    @property
    def digest(self) -> str:
        return "sha256:" + self._sha.hexdigest()


def stream_dir_layer(trees: Sequence[tuple[Path, str]], out: Path,
                     exclude: Exclude | None = None, keep_owner: bool = False) -> FileLayer:
    """Write an uncompressed tar of the (host dir, path in image) trees to `out`, hashing it.

    Streamed, never held in memory (a runtime's site-packages is ~700 MB). `keep_owner`
    keeps numeric uid/gid (a Debian rootfs has root:shadow files); otherwise all is root's."""
    with out.open("wb") as fh:
        writer = _HashingWriter(fh)
        with tarfile.open(fileobj=writer, mode="w", format=tarfile.PAX_FORMAT,  # type: ignore[arg-type]
                          copybufsize=_CHUNK) as tar:
            _write_trees(tar, trees, exclude, keep_owner)
    return FileLayer(out, writer.digest, writer.size)


class FileChunks:
    """A file's bytes in chunks, as an upload body that never sits in memory whole.

    Iterable again from the start (not a one-shot generator), so httpx can re-send it when
    an auth challenge makes it retry the request."""

    def __init__(self, path: Path, size: int = _CHUNK) -> None:
        self.path, self.size = path, size

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while chunk := fh.read(self.size):
                yield chunk
