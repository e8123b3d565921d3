"""Benchmark results per device: one row per (device, model, variant, batch, threads) run.

The headline numbers are columns (filterable, sortable); the full result object as the
harness sent it -- plus the carbon record it was priced with -- stays in `data`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controller.store.models import Base, utcnow


class BenchmarkResult(Base):
    __tablename__ = "benchmark_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device: Mapped[str] = mapped_column(String(255), index=True)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    model: Mapped[str] = mapped_column(String(128), index=True)
    variant: Mapped[str] = mapped_column(String(64))
    batch: Mapped[int] = mapped_column(Integer)
    threads: Mapped[int | None] = mapped_column(Integer)
    accelerator: Mapped[str] = mapped_column(String(32))
    p50_ms: Mapped[float] = mapped_column(Float)
    p90_ms: Mapped[float] = mapped_column(Float)
    p99_ms: Mapped[float | None] = mapped_column(Float)
    accuracy_top1: Mapped[float | None] = mapped_column(Float)
    energy_j: Mapped[float | None] = mapped_column(Float)
    energy_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    carbon_g: Mapped[float | None] = mapped_column(Float)
    carbon_zone: Mapped[str | None] = mapped_column(String(64))
    carbon_source: Mapped[str | None] = mapped_column(String(16))  # api | fallback
    measured_at: Mapped[datetime | None] = mapped_column()
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
