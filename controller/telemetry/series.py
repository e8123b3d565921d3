"""Series ids for one write group, and the per-device series limit.

Like Prometheus' `sample_limit`, a batch that would give its device more than `limit`
distinct (name, labels) series is refused whole: one token could otherwise create series
without bound, and the store, the series cache and every device view would grow with them.
The check is exact within one server process; several processes writing for the same
device at the same moment may together pass the limit by the series of one batch each.

Costs: a batch whose series are all cached (the steady state) runs no query; one with
unknown series probes only those (by the unique index) and counts the device's series once
per group (an index range count).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import bindparam, func, insert, select, tuple_
from sqlalchemy.engine import Connection

from controller.store.telemetry import Series
from controller.telemetry.errors import SeriesLimitExceeded
from controller.telemetry.schemas import WireSample

LabelSet = tuple[tuple[str, str], ...]
Local = tuple[str, LabelSet]  # (name, sorted labels): a series within one device
SeriesKey = tuple[int, str, LabelSet]  # (device pk, name, sorted labels)

_PROBE_CHUNK = 500  # pairs per IN list: 1,000 bind parameters, far below any driver's cap
_PROBE = select(Series.id, Series.name, Series.labels).where(
    Series.device_pk == bindparam("pk"),
    tuple_(Series.name, Series.labels).in_(bindparam("pairs", expanding=True)),
)
_COUNT = select(func.count()).select_from(Series).where(Series.device_pk == bindparam("pk"))
_NEW_SERIES = insert(Series).returning(Series.id, sort_by_parameter_order=True)


def labels_json(labels: LabelSet) -> str:
    """The stored (canonical) form of a label set."""
    return json.dumps(dict(labels), separators=(",", ":"))


class SeriesBook:
    """The series one group reads, checks against the limit and creates."""

    def __init__(self, conn: Connection, cache: Mapping[SeriesKey, int], limit: int) -> None:
        self._conn = conn
        self._cache = cache
        self.limit = limit
        self.found: dict[SeriesKey, int] = {}  # read in this group, or created by flush()
        self._pending: dict[SeriesKey, WireSample] = {}  # to create in flush()
        self._pending_of: Counter[int] = Counter()  # device pk -> series pending
        self._stored: dict[int, int] = {}  # device pk -> series in the store, once counted

    def _known(self, key: SeriesKey) -> bool:
        return key in self._cache or key in self.found or key in self._pending

    def check(self, pk: int | None, wanted: Mapping[Local, WireSample], device: str) -> None:
        """SeriesLimitExceeded if adding `wanted` would pass the limit; `pk` None: a device
        that has no row yet (so no series either)."""
        if pk is None:
            have, new = 0, len(wanted)
        else:
            unknown = [local for local in wanted if not self._known((pk, *local))]
            if not unknown:
                return
            self._probe(pk, unknown)
            new = sum((pk, *local) not in self.found for local in unknown)
            have = self._count(pk) + self._pending_of[pk]
        if have + new > self.limit:
            raise SeriesLimitExceeded(
                f"this batch would give device {device!r} {have + new} series, over the limit"
                f" of {self.limit} per device (EDGEFLEET_TELEMETRY_MAX_SERIES_PER_DEVICE);"
                " nothing of it was stored")

    def add(self, pk: int, wanted: Mapping[Local, WireSample]) -> None:
        """Queue the series of a `check`ed batch that do not exist yet."""
        for local, sample in wanted.items():
            key = (pk, *local)
            if not self._known(key):
                self._pending[key] = sample
                self._pending_of[pk] += 1

    def id_of(self, key: SeriesKey) -> int:
        sid = self._cache.get(key)
        return self.found[key] if sid is None else sid

    def flush(self) -> None:
        """Create the queued series (one multi-row INSERT ... RETURNING)."""
        if not self._pending:
            return
        keys = list(self._pending)
        ids = self._conn.execute(_NEW_SERIES, [
            {"device_pk": k[0], "name": k[1], "labels": labels_json(k[2]),
             "unit": s.unit, "source": s.source} for k, s in self._pending.items()
        ]).scalars().all()
        self.found.update(zip(keys, ids, strict=True))
        self._pending.clear()

    def _probe(self, pk: int, locals_: list[Local]) -> None:
        """Ids of those series that the store has (created by an earlier group, maybe by
        another process) but this process has not cached."""
        asked = {(name, labels_json(labels)): (pk, name, labels) for name, labels in locals_}
        pairs = list(asked)
        for i in range(0, len(pairs), _PROBE_CHUNK):
            rows = self._conn.execute(_PROBE, {"pk": pk, "pairs": pairs[i:i + _PROBE_CHUNK]})
            for sid, name, labels in rows:
                self.found[asked[(name, labels)]] = sid

    def _count(self, pk: int) -> int:
        if pk not in self._stored:
            self._stored[pk] = self._conn.execute(_COUNT, {"pk": pk}).scalar_one()
        return self._stored[pk]
