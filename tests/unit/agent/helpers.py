"""Shared test helpers: fixture trees and a fake command runner."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"


class Commands:
    """Replays captured command outputs; `calls` records what ran."""

    def __init__(self, outputs: dict[str, str | Exception]) -> None:
        self.outputs = outputs
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> str:
        self.calls.append(argv)
        out = self.outputs[argv[-1]]
        if isinstance(out, Exception):
            raise out
        return out


def cmd(name: str) -> str:
    return (FIXTURES / "cmd" / name).read_text()


def tree(tmp_path: Path, name: str) -> Path:
    """A writable copy of a fixture tree (tests edit files to make the next reading)."""
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest
