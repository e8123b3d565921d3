"""The ingest write path: a group of validated pushes -> one transaction.

Per push: authenticate the token (and bind it to the device on first use), register or update
the device, drop samples at or below the stream's stored seq, resolve series ids, and queue
rows. Whole-group statements then run once: one multi-row sample insert, one device update,
one stream update. A push that fails auth gets its error and writes nothing; the others go on.
If the transaction itself fails, GroupWriter retries, then falls back to one push per
transaction so one bad push can never sink its neighbours.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from controller.store.telemetry import Device, DeviceToken, Sample, Series, Stream
from controller.telemetry import tokens
from controller.telemetry.errors import Forbidden, TelemetryError, Unauthorized, Unavailable
from controller.telemetry.schemas import PushBody
from controller.telemetry.txn import write_transaction

log = logging.getLogger("edgefleet.telemetry")
_RETRIES = 3

SeriesKey = tuple[int, str, str]  # (device pk, name, canonical labels JSON)


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


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":")) if labels else "{}"


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
    cache: dict[SeriesKey, int]
    new_series: dict[SeriesKey, int] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    devices: dict[str, _Device] = field(default_factory=dict)
    last_seq: dict[tuple[int, str], int] = field(default_factory=dict)
    known_streams: set[tuple[int, str]] = field(default_factory=set)
    touched_streams: set[tuple[int, str]] = field(default_factory=set)
    touched_devices: dict[int, _Device] = field(default_factory=dict)
    rows: list[dict[str, float | int]] = field(default_factory=list)

    def load(self, pushes: Sequence[Push]) -> None:
        hashes = {p.token_hash for p in pushes}
        for name, token_hash, device_id in self.conn.execute(
            select(DeviceToken.name, DeviceToken.token_hash, DeviceToken.device_id)
            .where(DeviceToken.token_hash.in_(hashes))
            .order_by(DeviceToken.name).with_for_update()
        ):
            self.tokens[token_hash] = _Token(name, token_hash, device_id)
        ids = {p.body.device.id for p in pushes}
        names = {t.name for t in self.tokens.values()}
        for pk, dev_id, name in self.conn.execute(
            select(Device.pk, Device.id, Device.name)
            .where(or_(Device.id.in_(ids), Device.name.in_(names)))
            .order_by(Device.pk).with_for_update()
        ):
            self.devices[dev_id] = _Device(pk, dev_id, name)
        pairs = {(d.pk, p.body.stream) for p in pushes if (d := self.devices.get(p.body.device.id))}
        if pairs:
            for pk, stream, seq in self.conn.execute(
                select(Stream.device_pk, Stream.stream, Stream.last_seq)
                .where(tuple_(Stream.device_pk, Stream.stream).in_(sorted(pairs)))
                .order_by(Stream.device_pk, Stream.stream).with_for_update()
            ):
                self.last_seq[(pk, stream)] = seq
                self.known_streams.add((pk, stream))

    def apply(self, push: Push) -> PushResult:
        tok = self.tokens.get(push.token_hash)
        if tok is None or not tokens.matches(tok.token_hash, push.token_hash):
            raise Unauthorized("unknown or revoked device token")
        body = push.body
        device = self._device(tok, push)
        key = (device.pk, body.stream)
        last = self.last_seq.get(key, -1)
        skip = max(0, min(len(body.samples), last - body.batch.first_seq + 1))
        fresh = body.samples[skip:]
        for sample in fresh:
            self.rows.append({
                "series_id": self._series_id(device.pk, sample.name, sample.labels,
                                             sample.unit, sample.source),
                "ts_ms": round(sample.ts * 1000),
                "value": sample.value,
            })
        if fresh:
            self.last_seq[key] = body.batch.last_seq
            self.touched_streams.add(key)
        return PushResult(accepted=len(fresh), duplicates=skip)

    def _device(self, tok: _Token, push: Push) -> _Device:
        info = push.body.device
        if tok.device_id is not None and tok.device_id != info.id:
            raise Forbidden(f"this token belongs to device {tok.name!r}, not to {info.id}")
        device = self.devices.get(info.id)
        if tok.device_id is None:
            self._bind(tok, device, info.id)
        fields_ = {"hostname": info.hostname, "arch": info.arch, "os": info.os,
                   "agent_version": info.agent_version, "boot_time": info.boot_time,
                   "address": push.address, "last_seen": push.received_at,
                   "dropped_total": push.body.dropped.total}
        if device is None:
            self._release_name(tok.name)
            pk = self.conn.execute(
                insert(Device).returning(Device.pk),
                {"id": info.id, "name": tok.name, "first_seen": push.received_at, **fields_},
            ).scalar_one()
            device = self.devices[info.id] = _Device(pk, info.id, tok.name)
        elif device.name != tok.name:
            self._rename(device, tok.name)
        for column, value in fields_.items():
            setattr(device, column, value)
        self.touched_devices[device.pk] = device
        return device

    def _bind(self, tok: _Token, device: _Device | None, device_id: str) -> None:
        """First push with this token: it now belongs to `device_id` for good."""
        if device is not None and device.name and device.name != tok.name:
            holder = self.conn.execute(
                select(DeviceToken.device_id).where(DeviceToken.name == device.name)
            ).scalar()
            if holder == device_id:
                raise Forbidden(f"device {device_id} is enrolled as {device.name!r}")
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

    def _series_id(self, pk: int, name: str, labels: dict[str, str], unit: str,
                   source: str) -> int:
        key = (pk, name, labels_key(labels))
        sid = self.cache.get(key) or self.new_series.get(key)
        if sid is None:
            for sid_, lbl in self.conn.execute(
                select(Series.id, Series.labels).where(Series.device_pk == pk,
                                                       Series.name == name)
            ):
                self.new_series[(pk, name, lbl)] = sid_
            sid = self.new_series.get(key)
        if sid is None:
            sid = self.conn.execute(
                insert(Series).returning(Series.id),
                {"device_pk": pk, "name": name, "labels": key[2], "unit": unit,
                 "source": source},
            ).scalar_one()
            self.new_series[key] = sid
        return sid

    def flush(self) -> None:
        if self.rows:
            self.conn.execute(insert(Sample), self.rows)
        new = [k for k in self.touched_streams if k not in self.known_streams]
        old = [k for k in self.touched_streams if k in self.known_streams]
        if new:
            self.conn.execute(insert(Stream), [
                {"device_pk": pk, "stream": s, "last_seq": self.last_seq[(pk, s)]}
                for pk, s in new
            ])
        if old:
            self.conn.execute(
                update(Stream)
                .where(Stream.device_pk == bindparam("pk"), Stream.stream == bindparam("s"))
                .values(last_seq=bindparam("seq")),
                [{"pk": pk, "s": s, "seq": self.last_seq[(pk, s)]} for pk, s in old],
            )
        if self.touched_devices:
            self.conn.execute(
                update(Device).where(Device.pk == bindparam("_pk"))
                .values({c: bindparam(c) for c in _DEVICE_COLUMNS}),
                [{"_pk": d.pk, **{c: getattr(d, c) for c in _DEVICE_COLUMNS}}
                 for d in self.touched_devices.values()],
            )


_DEVICE_COLUMNS = ("hostname", "arch", "os", "agent_version", "boot_time", "address",
                   "last_seen", "dropped_total")


class GroupWriter:
    """Writes groups of pushes; owns the series-id cache (ids never change once committed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._series: dict[SeriesKey, int] = {}

    def write(self, pushes: Sequence[Push]) -> list[Outcome]:
        for attempt in range(_RETRIES):
            try:
                return self._write_once(pushes)
            except (IntegrityError, OperationalError) as exc:
                # A concurrent writer (another server process) won a race: read again.
                log.info("telemetry group retry %d after %s", attempt + 1, type(exc).__name__)
            except DBAPIError:
                log.exception("telemetry group of %d pushes failed", len(pushes))
                break
        if len(pushes) > 1:
            return [outcome for p in pushes for outcome in self.write([p])]
        return [Unavailable("the store could not take this batch; retry later")]

    def _write_once(self, pushes: Sequence[Push]) -> list[Outcome]:
        with write_transaction(self.engine) as conn:
            group = _Group(conn, self._series)
            group.load(pushes)
            outcomes: list[Outcome] = []
            for push in pushes:
                try:
                    outcomes.append(group.apply(push))
                except (Unauthorized, Forbidden) as exc:
                    outcomes.append(exc)
            group.flush()
        self._series.update(group.new_series)
        return outcomes
