"""The ingest write path: a group of validated pushes -> one transaction.

Per push: authenticate the token (and bind it to the device on first use), drop samples at
or below the stream's stored seq, check the device's series limit (controller/telemetry/
series.py), register or update the device, and queue rows. Whole-group statements then run
once: one series insert, one multi-row sample insert, one device update, one stream update.
A push that fails auth or the limit gets its error and writes nothing; the others go on.
If the transaction itself fails, GroupWriter retries, then falls back to one push per
transaction so one bad push can never sink its neighbours.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from controller.store.telemetry import Device, DeviceToken, Sample, Stream
from controller.telemetry import tokens
from controller.telemetry.bulk import insert_rows
from controller.telemetry.errors import (
    Forbidden,
    SeriesLimitExceeded,
    TelemetryError,
    Unauthorized,
    Unavailable,
)
from controller.telemetry.schemas import PushBody, WireSample
from controller.telemetry.series import SeriesBook, SeriesKey
from controller.telemetry.txn import write_transaction

log = logging.getLogger("edgefleet.telemetry")
_RETRIES = 3
_SAMPLE_COLUMNS = ("series_id", "ts_ms", "value")

_DEVICE_COLUMNS = ("hostname", "arch", "os", "agent_version", "boot_time", "address",
                   "last_seen", "dropped_total")

# Built once: per group only the (cached) compiled forms run, which matters when groups are
# small. FOR UPDATE locks the rows on PostgreSQL and renders nothing on SQLite (there the
# transaction already holds the database's write lock).
_TOKENS = (
    select(DeviceToken.name, DeviceToken.token_hash, DeviceToken.device_id)
    .where(DeviceToken.token_hash.in_(bindparam("hashes", expanding=True)))
    .order_by(DeviceToken.name).with_for_update()
)
_DEVICES = (
    select(Device.pk, Device.id, Device.name)
    .where(or_(Device.id.in_(bindparam("ids", expanding=True)),
               Device.name.in_(bindparam("names", expanding=True))))
    .order_by(Device.pk).with_for_update()
)
_STREAMS = (
    select(Stream.device_pk, Stream.stream, Stream.last_seq)
    .where(tuple_(Stream.device_pk, Stream.stream).in_(bindparam("pairs", expanding=True)))
    .order_by(Stream.device_pk, Stream.stream).with_for_update()
)
_NEW_DEVICE = insert(Device).returning(Device.pk)
_NEW_STREAMS = insert(Stream)
_STREAM_SEQ = (
    update(Stream)
    .where(Stream.device_pk == bindparam("pk"), Stream.stream == bindparam("s"))
    .values(last_seq=bindparam("seq"))
)
_DEVICE_SEEN = (
    update(Device).where(Device.pk == bindparam("_pk"))
    .values({c: bindparam(c) for c in _DEVICE_COLUMNS})
)


@dataclass(frozen=True)
class Push:
    token_hash: str
    body: PushBody
    address: str | None
    received_at: float


@dataclass(frozen=True)
class PushResult:
    accepted: int
    duplicates: int


Outcome = PushResult | TelemetryError


@dataclass
class _Token:
    name: str
    token_hash: str
    device_id: str | None


@dataclass
class _Device:
    """A device row as the group sees it; written back once at the end of the group."""

    pk: int
    id: str
    name: str | None
    hostname: str = ""
    arch: str = ""
    os: str = ""
    agent_version: str = ""
    boot_time: float | None = None
    address: str | None = None
    last_seen: float = 0.0
    dropped_total: int = 0


@dataclass
class _Group:
    """State of one transaction: rows read once, then updated in memory push by push."""

    conn: Connection
    series: SeriesBook
    tokens: dict[str, _Token] = field(default_factory=dict)
    devices: dict[str, _Device] = field(default_factory=dict)
    last_seq: dict[tuple[int, str], int] = field(default_factory=dict)
    known_streams: set[tuple[int, str]] = field(default_factory=set)
    touched_streams: set[tuple[int, str]] = field(default_factory=set)
    touched_devices: dict[int, _Device] = field(default_factory=dict)
    fresh: list[tuple[SeriesKey, WireSample]] = field(default_factory=list)

    def load(self, pushes: Sequence[Push]) -> None:
        hashes = sorted({p.token_hash for p in pushes})
        for name, token_hash, device_id in self.conn.execute(_TOKENS, {"hashes": hashes}):
            self.tokens[token_hash] = _Token(name, token_hash, device_id)
        ids = sorted({p.body.device.id for p in pushes})
        names = sorted({t.name for t in self.tokens.values()})
        for pk, dev_id, name in self.conn.execute(_DEVICES, {"ids": ids, "names": names}):
            self.devices[dev_id] = _Device(pk, dev_id, name)
        pairs = {(d.pk, p.body.stream) for p in pushes if (d := self.devices.get(p.body.device.id))}
        if pairs:
            for pk, stream, seq in self.conn.execute(_STREAMS, {"pairs": sorted(pairs)}):
                self.last_seq[(pk, stream)] = seq
                self.known_streams.add((pk, stream))

    def apply(self, push: Push) -> PushResult:
        tok = self.tokens.get(push.token_hash)
        if tok is None or not tokens.matches(tok.token_hash, push.token_hash):
            raise Unauthorized("unknown or revoked device token")
        body, known = push.body, self.devices.get(push.body.device.id)
        self._check_owner(tok, known, body.device.id)
        last = -1 if known is None else self.last_seq.get((known.pk, body.stream), -1)
        skip = max(0, min(len(body.samples), last - body.batch.first_seq + 1))
        fresh = body.samples[skip:]
        series = [(sample.name, tuple(sorted(sample.labels.items()))) for sample in fresh]
        wanted = dict(zip(series, fresh, strict=True))
        self.series.check(None if known is None else known.pk, wanted, tok.name)
        device = self._device(tok, push)
        pk = device.pk
        self.series.add(pk, wanted)
        self.fresh.extend(((pk, *s), sample) for s, sample in zip(series, fresh, strict=True))
        key = (pk, body.stream)
        if fresh:
            self.last_seq[key] = body.batch.last_seq
            self.touched_streams.add(key)
        return PushResult(accepted=len(fresh), duplicates=skip)

    def _check_owner(self, tok: _Token, device: _Device | None, device_id: str) -> None:
        """Forbidden unless this token may push for `device_id`; writes nothing."""
        if tok.device_id is not None and tok.device_id != device_id:
            raise Forbidden(f"this token belongs to device {tok.name!r}, not to {device_id}")
        if tok.device_id is None and device is not None and device.name \
                and device.name != tok.name:
            holder = self.conn.execute(
                select(DeviceToken.device_id).where(DeviceToken.name == device.name)
            ).scalar()
            if holder == device_id:
                raise Forbidden(f"device {device_id} is enrolled as {device.name!r}")

    def _device(self, tok: _Token, push: Push) -> _Device:
        """The pushing device's row, created, bound and renamed as needed (`_check_owner`
        has passed)."""
        info = push.body.device
        device = self.devices.get(info.id)
        if tok.device_id is None:
            self._bind(tok, info.id)
        fields_ = {"hostname": info.hostname, "arch": info.arch, "os": info.os,
                   "agent_version": info.agent_version, "boot_time": info.boot_time,
                   "address": push.address, "last_seen": push.received_at,
                   "dropped_total": push.body.dropped.total}
        if device is None:
            self._release_name(tok.name)
            pk = self.conn.execute(
                _NEW_DEVICE,
                {"id": info.id, "name": tok.name, "first_seen": push.received_at, **fields_},
            ).scalar_one()
            device = self.devices[info.id] = _Device(pk, info.id, tok.name)
        elif device.name != tok.name:
            self._rename(device, tok.name)
        for column, value in fields_.items():
            setattr(device, column, value)
        self.touched_devices[device.pk] = device
        return device

    def _bind(self, tok: _Token, device_id: str) -> None:
        """First push with this token: it now belongs to `device_id` for good."""
        self.conn.execute(
            update(DeviceToken).where(DeviceToken.name == tok.name).values(device_id=device_id)
        )
        tok.device_id = device_id

    def _release_name(self, name: str) -> None:
        """A re-enrolled name (new machine, or a device renamed) leaves its previous holder."""
        holders = [d for d in self.devices.values() if d.name == name]
        if holders:
            self.conn.execute(update(Device).where(Device.name == name).values(name=None))
        for other in holders:
            other.name = None

    def _rename(self, device: _Device, name: str) -> None:
        self._release_name(name)
        self.conn.execute(update(Device).where(Device.pk == device.pk).values(name=name))
        device.name = name

    def flush(self) -> None:
        if self.fresh:
            self.series.flush()
            id_of = self.series.id_of
            insert_rows(self.conn, Sample.__table__, _SAMPLE_COLUMNS, [
                (id_of(key), round(sample.ts * 1000), sample.value) for key, sample in self.fresh
            ])
        new = [k for k in self.touched_streams if k not in self.known_streams]
        old = [k for k in self.touched_streams if k in self.known_streams]
        if new:
            self.conn.execute(_NEW_STREAMS, [
                {"device_pk": pk, "stream": s, "last_seq": self.last_seq[(pk, s)]}
                for pk, s in new
            ])
        if old:
            self.conn.execute(
                _STREAM_SEQ,
                [{"pk": pk, "s": s, "seq": self.last_seq[(pk, s)]} for pk, s in old],
            )
        if self.touched_devices:
            self.conn.execute(
                _DEVICE_SEEN,
                [{"_pk": d.pk, **{c: getattr(d, c) for c in _DEVICE_COLUMNS}}
                 for d in self.touched_devices.values()],
            )



class GroupWriter:
    """Writes groups of pushes; owns the series-id cache (ids never change once committed).

    The cache holds only series of devices under their limit, so it is bounded by the
    fleet's size times `max_series_per_device`."""

    def __init__(self, engine: Engine, max_series_per_device: int = 2_000) -> None:
        self.engine = engine
        self.max_series_per_device = max_series_per_device
        self._series: dict[SeriesKey, int] = {}

    def write(self, pushes: Sequence[Push]) -> list[Outcome]:
        """One outcome per push, in order; never raises."""
        for attempt in range(_RETRIES):
            try:
                return self._write_once(pushes)
            except IntegrityError:
                # Another server process inserted the same device/series/stream first.
                log.info("telemetry group retry %d after a concurrent insert", attempt + 1)
            except OperationalError as exc:
                # Locked past busy_timeout, or the database is down: agents keep the batches.
                log.warning("telemetry store unavailable: %s", exc.orig)
                return [Unavailable("the store is busy or down; retry later")] * len(pushes)
            except DBAPIError:
                log.exception("telemetry group of %d pushes failed", len(pushes))
                break
        if len(pushes) > 1:  # isolate whichever push the database refuses
            return [outcome for p in pushes for outcome in self.write([p])]
        return [Unavailable("the store could not take this batch; retry later")]

    def _write_once(self, pushes: Sequence[Push]) -> list[Outcome]:
        with write_transaction(self.engine) as conn:
            group = _Group(conn, SeriesBook(conn, self._series, self.max_series_per_device))
            group.load(pushes)
            outcomes: list[Outcome] = []
            for push in pushes:
                try:
                    outcomes.append(group.apply(push))
                except (Unauthorized, Forbidden, SeriesLimitExceeded) as exc:
                    outcomes.append(exc)
            group.flush()
        self._series.update(group.series.found)
        return outcomes
