"""Stopping the servers tests start: SIGTERM first (a clean shutdown is part of what they
test), SIGKILL only when one does not stop."""

from __future__ import annotations

import signal
import subprocess


def stop_processes(*procs: subprocess.Popen | None) -> None:
    """SIGTERM (a clean shutdown is part of the tests), SIGKILL only past 20 s."""
    running = [p for p in procs if p is not None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    for proc in running:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
