"""Inference as a service: one worker thread runs every inference, and reports it.

One thread, not a lock shared by the HTTP threads: the server starts a thread per
connection, and torch's OpenMP pool belongs to the thread that calls it, so inferences
from fresh threads would each pay for a new pool. Inferences run one at a time in arrival
order; torch parallelises inside each. At most MAX_WAITING requests wait for the worker
(the rest are told the server is busy), so a burst cannot pile up 16 MiB bodies in memory.

Every successful inference is recorded with the agent's InferenceReporter (decode to
postprocess, the latency this device serves at); the reporter only sends when a record
arrives, so a flusher hands it to the worker every FLUSH_INTERVAL_S to send what is queued
when traffic stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agent.inference import FLUSH_INTERVAL_S, InferenceReporter
from serving.manifest import Manifest
from serving.model import Model

MAX_WAITING = 16
T = TypeVar("T")


class Service:
    def __init__(self, manifest: Manifest, socket_path: Path) -> None:
        self.manifest = manifest
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._slots = threading.BoundedSemaphore(MAX_WAITING)
        self._reporter = InferenceReporter(manifest.model, socket_path)
        self._model: Model | None = None
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="report-flush",
                                         daemon=True)

    @property
    def ready(self) -> bool:
        return self._model is not None

    def _on_worker(self, fn: Callable[[], T]) -> T:
        return self._worker.submit(fn).result()

    def load(self) -> None:
        """Build and warm up the model on the worker thread (where it will run)."""
        self._model = self._on_worker(lambda: Model(self.manifest))
        self._flusher.start()

    def health(self) -> tuple[int, dict[str, Any]]:
        if self._model is None:
            return 503, {"status": "loading"}
        return 200, {"status": "ok", **self.manifest.describe(), "device": self._model.device}

    def admit(self) -> bool:
        """Take a waiting slot (False: busy); the caller hands it back with `release`."""
        return self._slots.acquire(blocking=False)

    def release(self) -> None:
        self._slots.release()

    def predict(self, data: bytes) -> dict[str, Any]:
        """One inference on the worker, reported; ImageError for a body that is no image."""
        model = self._model
        assert model is not None, "predict before load"

        def run() -> dict[str, Any]:
            p = model.predict(data)
            self._reporter.record(p.total_s)
            return model.body(p)

        return self._on_worker(run)

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self._on_worker(self._reporter.flush)

    def close(self) -> None:
        """Send what is queued and stop the worker (after the HTTP server stopped)."""
        self._stop.set()
        if self._flusher.is_alive():
            self._flusher.join()
        self._on_worker(self._reporter.close)
        self._worker.shutdown(wait=True)
