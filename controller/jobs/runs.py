"""The ansible-playbook processes of a job, found and stopped even after their controller died.

Why: `kill -9` of the controller leaves its ansible-playbook running (pexpect made it a
session leader, so it is nobody's child to reap). A restarted controller must not mark that
job failed and hand its hosts to a second job while the first still changes them. Each run
is recorded (pid + create time of ansible-playbook, from its first event) and also marked:
ansible-runner puts the job's artifact dir in AWX_ISOLATED_DATA_DIR of every process it
starts, which finds the run even before its first event.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil

MARKER_ENV = "AWX_ISOLATED_DATA_DIR"


def started_at(pid: int) -> float | None:
    """The create time of `pid` (tells a reused pid apart), or None when it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _is(pid: int | None, started: float | None) -> bool:
    if pid is None or started is None:
        return False
    now = started_at(pid)
    return now is not None and abs(now - started) < 1.0


def processes(job_dir: Path, pid: int | None = None,
              started: float | None = None) -> list[psutil.Process]:
    """Live processes of the job: the recorded one and any carrying the job dir marker."""
    found: dict[int, psutil.Process] = {}
    if _is(pid, started):
        assert pid is not None
        found[pid] = psutil.Process(pid)
    prefix = str(job_dir)
    for proc in psutil.process_iter(["environ"]):
        env = proc.info.get("environ") or {}
        if env.get(MARKER_ENV, "").startswith(prefix):
            found[proc.pid] = proc
    return list(found.values())


def stop(procs: list[psutil.Process], grace_s: float = 5.0) -> list[int]:
    """SIGTERM each process group (ansible's forks and ssh with it), SIGKILL past `grace_s`.

    Returns the pids that were running."""
    if not procs:
        return []
    groups = set()
    for proc in procs:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(proc.pid))
    groups.discard(os.getpgid(0))  # never our own group, whatever carried the marker
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(OSError):
                os.killpg(group, sig)
        _, alive = psutil.wait_procs(procs, timeout=grace_s)
        if not alive:
            break
    return sorted(p.pid for p in procs)
