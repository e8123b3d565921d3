"""Group commit: concurrent pushes share one transaction, written by one thread.

While the writer thread commits one group, new pushes queue up; the next group takes them
all (up to `max_samples`). Under load that turns a thousand small transactions a second into
a few dozen larger ones; when idle a push is written at once, with no added wait. A single
writer also means SQLite never has two of our own transactions waiting on its file lock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from controller.telemetry.errors import TelemetryError, Unavailable
from controller.telemetry.writer import GroupWriter, Push, PushResult

T = TypeVar("T")


class GroupCommitter:
    def __init__(self, writer: GroupWriter, max_samples: int = 20_000) -> None:
        self._writer = writer
        self._max_samples = max_samples
        self._pending: deque[tuple[Push, asyncio.Future[PushResult]]] = deque()
        self._wake = asyncio.Event()
        self._stopping = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="telemetry-writer")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="telemetry-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop the writer thread."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def submit(self, push: Push) -> PushResult:
        """Queue a push and wait until its group is committed (or rejected)."""
        if self._task is None or self._stopping:
            raise Unavailable("telemetry writer is not running")
        future: asyncio.Future[PushResult] = asyncio.get_running_loop().create_future()
        self._pending.append((push, future))
        self._wake.set()
        return await future

    async def run_in_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """Run other store writes (maintenance) on the writer thread, between groups: SQLite
        has one write lock, and taking turns here is fair where its busy-wait is not."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._write_pending()
            if self._stopping:
                return

    async def _write_pending(self) -> None:
        group, size = [], 0
        while self._pending and (not group or size < self._max_samples):
            item = self._pending.popleft()
            group.append(item)
            size += len(item[0].body.samples)
        loop = asyncio.get_running_loop()
        try:
            outcomes = await loop.run_in_executor(
                self._executor, self._writer.write, [p for p, _ in group]
            )
        except Exception as exc:  # noqa: BLE001 - every waiter must get an answer
            outcomes = [Unavailable(f"telemetry store error: {type(exc).__name__}")] * len(group)
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, TelemetryError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
