"""Subprocess helpers: argument lists only, failures turned into one-line LabErrors."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from controller.lab.errors import LabError


def is_root() -> bool:
    """The lab creates namespaces, bridges and mounts: all of that needs uid 0."""
    return os.geteuid() == 0


def run(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    timeout: float | None = 600,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv, capture output; raise LabError with the last stderr line when it fails."""
    args = [str(a) for a in argv]
    try:
        if log is not None:
            with log.open("a") as fh:
                fh.write(f"$ {' '.join(args)}\n")
                fh.flush()
                res = subprocess.run(
                    args, stdout=fh, stderr=subprocess.STDOUT, text=True,
                    timeout=timeout, env=env, check=False, cwd=cwd,
                )
        else:
            res = subprocess.run(
                args, capture_output=True, text=True, timeout=timeout, env=env, check=False,
                cwd=cwd,
            )
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {args[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f}s: {' '.join(args[:3])}") from exc
    if check and res.returncode != 0:
        detail = _last_line(res.stderr or res.stdout or "")
        if log is not None:
            detail = _last_line(log.read_text(errors="replace")) + f" (see {log})"
        raise LabError(f"{' '.join(args[:3])} failed (exit {res.returncode}): {detail}")
    return res


def ok(argv: Sequence[str | Path], timeout: float | None = 60) -> bool:
    """Best-effort command for clean-up paths: True when it exited 0."""
    try:
        return run(argv, check=False, timeout=timeout).returncode == 0
    except LabError:
        return False


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"
