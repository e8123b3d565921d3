"""The collector contract and what every collector shares.

Modelled on node_exporter: one module per collector, each independent. A collector probes
its hardware once in `applies()` (False means "absent here", skipped without noise), then
`collect()` is called once per cycle and raises on failure; isolating and reporting that
failure is the daemon's job, so collectors never swallow errors to return a fake zero.

Everything a collector touches on the host comes through `CollectorContext`, so tests point
collectors at fake procfs/sysfs trees, captured command outputs and a fake clock.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent import __version__
from agent.protocol import Sample

if TYPE_CHECKING:
    from agent.collectors.nvml_session import NvmlSession

COMMAND_TIMEOUT_S = 2.0
# The controller rejects a whole batch carrying a longer label value (schemas.MAX_LABEL_VALUE).
MAX_LABEL_VALUE = 128

log = logging.getLogger("edgefleet.agent.collectors")


class CommandError(RuntimeError):
    """A helper command (vcgencmd) failed: the message carries its own words."""


def run_command(argv: list[str]) -> str:
    """Run a short helper command with a timeout; its stdout, or CommandError."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"{' '.join(argv)}: {exc}") from exc
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        raise CommandError(f"{' '.join(argv)} exited {proc.returncode}: {said}")
    return proc.stdout


@dataclass
class CollectorContext:
    """Where collectors read the host from; tests replace any of it."""

    proc_root: Path = Path("/proc")
    sys_root: Path = Path("/sys")
    etc_root: Path = Path("/etc")
    # An explicit device id (from enrolment, or lab nodes sharing one /etc/machine-id).
    device_id: str | None = None
    controller_host: str | None = None
    controller_port: int | None = None
    run: Callable[[list[str]], str] = run_command
    which: Callable[[str], str | None] = shutil.which
    monotonic: Callable[[], float] = time.monotonic
    machine: str = field(default_factory=lambda: os.uname().machine)
    hostname: str = field(default_factory=socket.gethostname)
    agent_version: str = __version__
    # The daemon's sampling period: names integration rates ("integrated@1hz").
    interval_s: float = 1.0
    # vcgencmd spawns a process per call: query it at most this often.
    vcgencmd_interval_s: float = 5.0
    # Pi 5 PMIC readings also spawn vcgencmd: at most 1 Hz.
    pmic_interval_s: float = 1.0
    latency_timeout_s: float = 1.0
    # Overrides the per-arch default TDP of the estimate (agent/power/estimate.py).
    cpu_tdp_watts: float | None = None
    # Where deployed models' runtimes send per-inference records (agent.inference);
    # None: live inference reporting off.
    inference_socket: Path | None = None
    # A pynvml-like module to use instead of importing pynvml (tests inject a fake).
    pynvml: Any = None
    # The one NVML session shared by the GPU collector and the GPU power source.
    nvml_session: NvmlSession | None = field(default=None, init=False, repr=False)
    nvml_probed: bool = field(default=False, init=False, repr=False)


class Collector(Protocol):
    """One independent source of samples (cpu, memory, ...)."""

    name: str

    def applies(self) -> bool:
        """Cheap probe, once at start: False means absent here, skipped without noise.

        Never raises: a probe that breaks (a garbled sysfs file, a GPU fallen off the bus)
        is logged once and the collector is left out (see `probe`).
        """
        ...

    def collect(self, now: float) -> list[Sample]:
        """This cycle's samples, stamped `now` (UTC epoch seconds); raises on failure."""
        ...

    def close(self) -> None:
        """Release what applies() opened."""
        ...


def read_text(path: str) -> str:
    """A small procfs/sysfs file in one read (no Path object or codec lookup per call)."""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def read_int(path: str) -> int:
    """An integer sysfs attribute; a garbled value raises ValueError naming the file."""
    text = read_text(path)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path}: not an integer: {text.strip()[:40]!r}") from None


class RateLimit:
    """Lets an expensive read (a process spawn) happen at most once per `min_interval_s`.

    A small slack keeps a 1 Hz daemon whose cycles jitter by a few ms from falling to 0.5 Hz
    against a 1 s limit; a clock that went backwards counts as ready.
    """

    SLACK_S = 0.05

    def __init__(self, min_interval_s: float, clock: Callable[[], float]) -> None:
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._last: float | None = None

    def ready(self) -> bool:
        t = self._clock()
        last = self._last
        if last is None or t < last or t - last >= self.min_interval_s - self.SLACK_S:
            self._last = t
            return True
        return False


def probe(name: str, check: Callable[[], bool]) -> bool:
    """Run an applies() probe: one that breaks is logged in words and counts as absent."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a broken probe must not stop the agent
        log.warning("collector %s left out: its probe failed: %s", name, exc)
        return False


def clip(value: str) -> str:
    """A label value the controller accepts (system strings like mount points can be long)."""
    return value[:MAX_LABEL_VALUE]
