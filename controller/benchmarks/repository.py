"""Store benchmark results per device, priced in carbon on the way in, and read them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from controller.benchmarks.schema import BenchResult
from controller.carbon import CarbonIntensity, Intensity, grams_co2
from controller.carbon.service import InvalidZone, check_zone
from controller.jobs.views import iso
from controller.store import BenchmarkResult, Store


def _carbon(
    carbon: CarbonIntensity, r: BenchResult, zone: str | None
) -> tuple[float | None, Intensity | None, str | None]:
    """(gCO2 per inference, the intensity used, why there is none)."""
    if r.energy_j is None:
        return None, None, "no energy per inference measured"
    if zone is None:
        return None, None, "device has no edgefleet_carbon_zone in the inventory"
    try:
        check_zone(zone)
    except InvalidZone as exc:
        return None, None, str(exc)
    # Priced at the hour the benchmark ran (the harness stamps the result when it finishes).
    intensity = carbon.for_zone(zone, r.timestamp or datetime.now(UTC))
    return grams_co2(r.energy_j, intensity), intensity, None


def priced(carbon: CarbonIntensity, r: BenchResult, zone: str | None) -> dict[str, Any]:
    """The result as JSON with `carbon_g` and how it was priced (shared by the store and
    `edgefleet bench --zone`, so both price the same way)."""
    grams, intensity, why = _carbon(carbon, r, zone)
    data = r.model_dump(mode="json")
    data["carbon_g"] = grams
    data["carbon"] = {
        "zone": zone,
        "intensity": intensity.as_dict() if intensity else None,
        "note": why,
    }
    return data


def row_dict(row: BenchmarkResult) -> dict[str, Any]:
    """The result object, flat; `device` is the fleet device, the harness's `device`
    (cpu/cuda) reads `accelerator` here."""
    return {
        **row.data,
        "id": row.id,
        "device": row.device,
        "accelerator": row.accelerator,
        "job_id": row.job_id,
        "stored_at": iso(row.stored_at),
    }


class BenchmarkRepository:
    def __init__(self, store: Store, carbon: CarbonIntensity) -> None:
        self.store, self.carbon = store, carbon

    def add(
        self,
        device: str,
        results: list[BenchResult],
        zone: str | None,
        job_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store one device's results; a job's earlier rows are replaced (re-collect is safe)."""
        rows = []
        for r in results:
            data = priced(self.carbon, r, zone)
            grams = data["carbon_g"]
            source = (data["carbon"]["intensity"] or {}).get("source")
            rows.append(
                BenchmarkResult(
                    device=device,
                    job_id=job_id,
                    model=r.model,
                    variant=r.variant,
                    batch=r.batch,
                    threads=r.threads,
                    accelerator=r.device,
                    p50_ms=r.latency_ms.p50,
                    p90_ms=r.latency_ms.p90,
                    p99_ms=r.latency_ms.p99,
                    accuracy_top1=r.accuracy_top1,
                    energy_j=r.energy_j,
                    energy_estimated=r.energy_estimated,
                    carbon_g=grams,
                    carbon_zone=zone,
                    carbon_source=source,
                    measured_at=r.timestamp,
                    data=data,
                )
            )
        with self.store.session() as s:
            if job_id is not None:
                s.execute(
                    delete(BenchmarkResult).where(
                        BenchmarkResult.job_id == job_id, BenchmarkResult.device == device
                    )
                )
            s.add_all(rows)
            s.flush()
            return [row_dict(r) for r in rows]

    def list(
        self, device: str | None = None, model: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        query = select(BenchmarkResult).order_by(BenchmarkResult.id.desc()).limit(limit)
        if device is not None:
            query = query.where(BenchmarkResult.device == device)
        if model is not None:
            query = query.where(BenchmarkResult.model == model)
        with self.store.session() as s:
            return [row_dict(r) for r in s.scalars(query)]

    def by_device(self, device: str | None = None) -> dict[str, list[BenchResult]]:
        """Every stored result per device, as the selection reads them (newest wins there)."""
        query = select(BenchmarkResult).order_by(BenchmarkResult.id)
        if device is not None:
            query = query.where(BenchmarkResult.device == device)
        out: dict[str, list[BenchResult]] = {}
        with self.store.session() as s:
            for row in s.scalars(query):
                out.setdefault(row.device, []).append(BenchResult.model_validate(row.data))
        return out
