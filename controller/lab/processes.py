"""Start detached lab processes and stop them by recorded PID (never by name)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from controller.lab.errors import LabError
from controller.lab.state import Proc


def spawn(argv: Sequence[str | Path], log: Path) -> Proc:
    """Start argv in its own session so it outlives the `edgefleet lab up` process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            child = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise LabError(f"command not found: {argv[0]}") from exc
    time.sleep(0.05)
    if child.poll() is not None:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise LabError(f"{argv[0]} exited at once ({child.returncode}): {tail[0]} (see {log})")
    return Proc.of(child.pid)


def stop(proc: Proc | None, grace: float = 3.0, first: signal.Signals = signal.SIGTERM) -> None:
    """`first` signal, then SIGKILL after `grace` s; a PID reused by someone else is left alone."""
    if proc is None or not proc.alive():
        return
    for sig, wait in ((first, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(psutil.Error):
            psutil.Process(proc.pid).send_signal(sig)
        if _gone(proc, wait):
            return


def _gone(proc: Proc, wait: float) -> bool:
    """Poll `alive()` (which counts an unreaped zombie as gone: we are not its parent)."""
    deadline = time.monotonic() + wait
    while proc.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
