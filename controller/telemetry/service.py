"""The telemetry side of one server process: ingest, reads and periodic maintenance.

The clock is injectable (`service.clock = lambda: t`) so tests can age heartbeats and
retention without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from controller.store import Store
from controller.telemetry import maintenance, malloc, query, registry
from controller.telemetry.committer import GroupCommitter
from controller.telemetry.errors import NotFound
from controller.telemetry.gate import TokenGate
from controller.telemetry.metrics import IngestMetrics
from controller.telemetry.schemas import invalid_payload, parse_push
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.writer import GroupWriter, Push, PushResult

log = logging.getLogger("edgefleet.telemetry")
# Young-generation collections every 10,000 allocations instead of 700: a 100-sample push
# allocates a few thousand objects, so at the default the collector ran several times per push.
_GC_THRESHOLDS = (10_000, 10, 10)


def _tune_gc() -> None:
    """Freeze what startup allocated (imports, app, ORM metadata: long-lived) so full
    collections stop walking it, and collect the young generation less often.

    Measured with benchmarks/ingest.py: about a third less server CPU per sample (36 -> 25
    to 30 us), most of it time the collector spent walking the startup heap.
    """
    if gc.get_threshold() == _GC_THRESHOLDS:
        return  # once per process (tests start many apps)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


class TelemetryService:
    """Owns the group committer and the maintenance task; the API calls in here."""

    def __init__(self, settings: TelemetrySettings, store: Store,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.counters = IngestMetrics()
        self.gate = TokenGate(store)
        self._committer = GroupCommitter(
            GroupWriter(store.engine, settings.max_series_per_device))
        self._maintainer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _tune_gc()
        self._committer.start()
        self._maintainer = asyncio.get_running_loop().create_task(self._maintain_forever())

    async def stop(self) -> None:
        if self._maintainer is not None:
            self._maintainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintainer
        await self._committer.stop()

    async def authenticate(self, authorization: str | None) -> str:
        """The device token's hash, checked before the body is read (401 at once otherwise);
        an unknown token thus learns nothing about the payload rules either."""
        return await self.gate.check(authorization)

    async def push(self, token_hash: str, body: bytes, address: str | None) -> PushResult:
        """Validate and store one push of an `authenticate`d token; raises a TelemetryError
        otherwise (the writer checks the token again in the storing transaction)."""
        now = self.clock()
        try:
            parsed = parse_push(body, now, self.settings.max_future_skew_s)
        except ValidationError as exc:
            raise invalid_payload(exc) from None
        return await self._committer.submit(Push(token_hash, parsed, address, now))

    def maintain(self, now: float | None = None) -> maintenance.Report:
        return maintenance.run(self.store.engine, self.settings,
                               self.clock() if now is None else now)

    async def _maintain_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.maintenance_interval_s)
            malloc.trim()  # what a burst of uploads freed goes back to the OS
            try:
                report = await self._maintain_once(self.clock())
            except Exception:  # noqa: BLE001 - a failed pass must not stop the next one
                log.exception("telemetry maintenance failed")
                continue
            if report.deleted_raw or report.deleted_1m or report.deleted_1h:
                log.info("telemetry maintenance: %s", report)

    async def _maintain_once(self, now: float) -> maintenance.Report:
        """maintenance.run, one short transaction at a time on the event loop, so ingest
        groups get their turn in between (they share SQLite's single write lock)."""
        engine, settings = self.store.engine, self.settings
        maintenance.mark(engine, now)
        rolled = raw = 0
        settled = now - settings.rollup_settle_s
        while (rows := maintenance.rollup_step(engine, settled)) is not None:
            rolled += rows
            await asyncio.sleep(0)
        while (deleted := maintenance.expire_raw(engine, settings, now)) is not None:
            raw += deleted
            await asyncio.sleep(0)
        m1, h1 = maintenance.expire_rollups(engine, settings, now)
        return maintenance.Report(rolled, raw, m1, h1)

    def devices(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return registry.list_devices(s, self.settings, self.clock())

    def device(self, key: str) -> dict[str, Any]:
        with self.store.session() as s:
            return registry.get_device(s, key, self.settings, self.clock())

    def metrics(self, key: str, name: str, since: str | None, until: str | None,
                step: int | None, labels: str | None) -> dict[str, Any]:
        now = self.clock()
        w = query.window(since, until, step, now)
        wanted = query.parse_labels(labels)
        with self.store.session() as s:
            d = registry.find_device(s, key)
            if d is None:
                raise NotFound(f"no device with id or name {key!r} has sent telemetry")
            body = query.series(s.connection(), d.pk, name, wanted, w, self.settings, now)
        return {"device": {"id": d.id, "name": d.name}, **body}
