"""The result contract of `edgefleet bench --json` (one object per model and variant).

Validated wherever results enter the controller (files, job results, the REST API); fields
the contract does not name are kept as they are, so nothing a newer harness adds is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.errors import ControllerError


class InvalidResults(ControllerError):
    http_status = 422


class LatencyStats(BaseModel):
    model_config = ConfigDict(extra="allow")

    mean: float = Field(ge=0)
    std: float | None = Field(None, ge=0)
    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    p50: float = Field(ge=0)
    p90: float = Field(ge=0)
    p99: float | None = Field(None, ge=0)
    n: int | None = Field(None, ge=1)


class BenchResult(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    model: str = Field(min_length=1, max_length=128)
    variant: str = Field("fp32", min_length=1, max_length=64)
    batch: int = Field(1, ge=1)
    threads: int | None = Field(None, ge=1)
    device: str = "cpu"
    params: int | None = None
    size_mb: float | None = Field(None, ge=0)
    macs: float | None = None
    flops: float | None = None
    latency_ms: LatencyStats
    e2e_latency_ms: LatencyStats | None = None
    throughput_ips: float | None = None
    peak_memory_mb: float | None = Field(None, ge=0)
    gpu_memory_mb: float | None = Field(None, ge=0)
    accuracy_top1: float | None = Field(None, ge=0, le=100)
    accuracy_top5: float | None = Field(None, ge=0, le=100)
    accuracy_source: str | None = None
    weights: str | None = None
    energy_j: float | None = Field(None, ge=0)
    energy_source: str | None = None
    energy_estimated: bool = False
    throttled: bool = False
    host: str | None = None
    timestamp: datetime | None = None
    carbon_g: float | None = Field(None, ge=0)


def parse_results(items: Any, where: str) -> list[BenchResult]:
    """A list of result objects, or a one-line error naming the first bad one."""
    if not isinstance(items, list):
        raise InvalidResults(f"{where}: expected a list of result objects")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(BenchResult.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or "object"
            raise InvalidResults(f"{where}[{i}].{field}: {err.get('msg', 'invalid')}") from None
    return out


def results_by_device(data: Any, where: str) -> dict[str, list[BenchResult]]:
    """Group a results document by device.

    Accepts what the tools produce: `edgefleet bench --json` (a list; device = `host`),
    `{"results": [...]}` (one host's `edgefleet_result`), or `{host: {"results": [...]}}`
    (bench.yml's per-host results).
    """
    if isinstance(data, dict) and "results" in data:
        data = data["results"]
    if isinstance(data, list):
        grouped: dict[str, list[BenchResult]] = {}
        for r in parse_results(data, where):
            grouped.setdefault(r.host or "local", []).append(r)
        return grouped
    if isinstance(data, dict):
        out = {}
        for host, body in data.items():
            items = body.get("results") if isinstance(body, dict) else body
            out[str(host)] = parse_results(items, f"{where}: {host}")
        return out
    raise InvalidResults(f"{where}: expected a list of results or an object keyed by host")
