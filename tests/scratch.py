"""Scratch trees that tests delete when done: a full run writes ~28 GB of registries, Podman
vfs stores and lab root filesystems, more than some CI machines have free."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def mounts_under(path: Path, mounts_file: Path = Path("/proc/self/mounts")) -> list[Path]:
    """Mount points at or below `path` (octal escapes in /proc/self/mounts decoded)."""
    path = path.resolve()
    found = []
    for line in mounts_file.read_text().splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        point = Path(fields[1].encode().decode("unicode_escape"))
        if point == path or path in point.parents:
            found.append(point)
    return found


def remove_tree(path: Path) -> bool:
    """Delete `path`, unless something is still mounted below it: rmtree would then descend
    into a bind mount and delete the real files behind it. False (with a warning) if kept."""
    if not path.exists():
        return True
    held = mounts_under(path)
    if held:
        warnings.warn(f"kept {path}: still mounted below it: {', '.join(map(str, held[:3]))}",
                      stacklevel=2)
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


@contextmanager
def scratch(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A fresh directory from `factory`, removed (mount-safely) when the block ends."""
    root = factory.mktemp(name)
    try:
        yield root
    finally:
        remove_tree(root)
