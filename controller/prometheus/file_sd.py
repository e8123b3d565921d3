"""Write Prometheus file_sd JSON atomically, and keep it current while the server runs.

Prometheus watches the file (inotify) and re-reads it on change; a half-written file would
drop every target for a cycle, so the file is replaced by rename, never rewritten in place.
Unchanged content is not rewritten (no reload churn on Prometheus).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from controller.errors import ControllerError
from controller.prometheus.targets import DEFAULT_METRICS_PORT, ScrapeTarget

log = logging.getLogger("edgefleet.prometheus")


def render(targets: Sequence[ScrapeTarget]) -> str:
    return json.dumps([t.as_sd() for t in targets], indent=2) + "\n"


def write(path: Path, targets: Sequence[ScrapeTarget]) -> bool:
    """Replace `path` with the targets' JSON; False when it already held exactly that."""
    text = render(targets)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # Prometheus runs as its own user: the file must be world-readable (it holds no secret).
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


@dataclass(frozen=True)
class SdSettings:
    """EDGEFLEET_PROMETHEUS_SD_FILE switches the writer on (the compose file sets it)."""

    path: Path | None = None
    interval_s: float = 30.0
    metrics_port: int = DEFAULT_METRICS_PORT

    @classmethod
    def from_env(cls) -> SdSettings:
        path = os.environ.get("EDGEFLEET_PROMETHEUS_SD_FILE")
        try:
            interval = float(os.environ.get("EDGEFLEET_PROMETHEUS_SD_INTERVAL", "30"))
            port = int(os.environ.get("EDGEFLEET_AGENT_METRICS_PORT", str(DEFAULT_METRICS_PORT)))
        except ValueError as exc:
            raise ControllerError(f"bad Prometheus SD setting: {exc}") from None
        if not 1 <= interval <= 86400 or not 1 <= port <= 65535:
            raise ControllerError("EDGEFLEET_PROMETHEUS_SD_INTERVAL must be 1..86400 s and "
                                  "EDGEFLEET_AGENT_METRICS_PORT 1..65535")
        return cls(Path(path) if path else None, interval, port)


class SdWriter:
    """Re-collects targets every `interval_s` (devices come and go) on a daemon thread.

    A collection error (say, the inventory mid-edit is invalid) keeps the last good file:
    Prometheus goes on scraping the fleet it knew rather than nothing."""

    def __init__(self, path: Path, collect: Callable[[], list[ScrapeTarget]],
                 interval_s: float) -> None:
        self.path, self._collect, self.interval_s = path, collect, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        try:
            changed = write(self.path, self._collect())
        except ControllerError as exc:
            log.warning("Prometheus targets not updated (kept %s): %s", self.path, exc)
            return False
        if changed:
            log.info("Prometheus targets written to %s", self.path)
        return changed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="prometheus-sd", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
