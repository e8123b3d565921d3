"""The discovery table: one row per announced device id, pending until an operator decides.

Never holds a secret: `claim_hash` is the SHA-256 the device itself publishes in its TXT
record, and the device token is created only when the approved device claims it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controller.store.models import Base

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)


class DiscoveredDevice(Base):
    __tablename__ = "discovered_devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    instance: Mapped[str] = mapped_column(String(255))  # the DNS-SD service instance name
    hostname: Mapped[str] = mapped_column(String(255))
    arch: Mapped[str] = mapped_column(String(16))
    agent_version: Mapped[str] = mapped_column(String(32))
    metrics_port: Mapped[int] = mapped_column(Integer)
    addresses: Mapped[list[Any]] = mapped_column(JSON)
    address: Mapped[str] = mapped_column(String(64))  # the one the inventory gets
    claim_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)
    decided_at: Mapped[float | None] = mapped_column(Float)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    alias: Mapped[str | None] = mapped_column(String(255))  # inventory host = token name
    group: Mapped[str | None] = mapped_column(String(64))
    token_delivered_at: Mapped[float | None] = mapped_column(Float)
