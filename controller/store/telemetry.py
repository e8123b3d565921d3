"""Telemetry tables: device tokens, devices, series, per-stream dedupe, samples and rollups.

Samples are normalised: one `telemetry_series` row per (device, name, labels) and narrow
sample rows (series id, ms timestamp, value) so a year of fleet data stays small. Timestamps
are integer milliseconds so bucket arithmetic (`ts_ms // 60000`) is plain integer division
on SQLite and PostgreSQL alike. Bounds and retention: controller/telemetry/maintenance.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controller.store.models import Base, utcnow

# SQLite only makes `INTEGER PRIMARY KEY` the rowid (no extra index, ever increasing).
RowId = BigInteger().with_variant(Integer(), "sqlite")


class DeviceToken(Base):
    """A device's bearer token, stored as its SHA-256; bound to a device id by the first push."""

    __tablename__ = "device_tokens"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    """A device that has pushed telemetry at least once; `name` joins the Ansible host view."""

    __tablename__ = "devices"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(255), unique=True)
    hostname: Mapped[str] = mapped_column(String(255))
    arch: Mapped[str] = mapped_column(String(32))
    os: Mapped[str] = mapped_column(String(128))
    agent_version: Mapped[str] = mapped_column(String(32))
    boot_time: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    dropped_total: Mapped[int] = mapped_column(BigInteger, default=0)


class Series(Base):
    """One time series: a device's metric name with one label set (canonical JSON text)."""

    __tablename__ = "telemetry_series"
    __table_args__ = (UniqueConstraint("device_pk", "name", "labels"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("devices.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    labels: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))


class Stream(Base):
    """Dedupe state: the highest seq stored for one agent stream (a spool's lifetime)."""

    __tablename__ = "telemetry_streams"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.pk", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class Sample(Base):
    """A raw sample. No foreign key: series rows are never deleted while samples exist, and
    a per-row FK check would cost every insert on the hot path."""

    __tablename__ = "telemetry_samples"
    __table_args__ = (Index("ix_telemetry_samples_series_ts", "series_id", "ts_ms"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(Integer)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)


class _Rollup:
    """Aggregate of one series over one bucket; sum (not avg) so late data merges exactly."""

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)


class Rollup1m(_Rollup, Base):
    """bucket = ts_ms // 60_000."""

    __tablename__ = "telemetry_rollup_1m"


class Rollup1h(_Rollup, Base):
    """bucket = ts_ms // 3_600_000."""

    __tablename__ = "telemetry_rollup_1h"


class StoredMark(Base):
    """The highest sample id stored at a given time: maps ingest time to row ids, so
    rollups and raw retention work on id ranges (the rowid index) instead of scanning ts."""

    __tablename__ = "telemetry_marks"

    at: Mapped[float] = mapped_column(Float, primary_key=True)
    max_id: Mapped[int] = mapped_column(BigInteger)


class RollupCursor(Base):
    """Samples with id <= `rolled_up_to` are already in both rollup tables."""

    __tablename__ = "telemetry_rollup_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    rolled_up_to: Mapped[int] = mapped_column(BigInteger)
