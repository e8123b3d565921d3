"""Benchmark results per device, benchmark runs (bench.yml jobs) and model selection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from controller.api.openapi import errors
from controller.api.registry import SERVER_HINT
from controller.api.schemas import LIMIT_DESCRIPTION, LIMIT_PATTERN, Job
from controller.benchmarks.service import BenchmarkService, runtime_vars
from controller.selection import Policy

router = APIRouter(prefix="/api")


class BenchRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: str | None = Field(None, description=LIMIT_DESCRIPTION,
                              json_schema_extra={"pattern": LIMIT_PATTERN})  # documented only
    extra_vars: dict[str, Any] | None = Field(None, description="Passed to bench.yml with -e.")
    timeout_s: int | None = Field(None, ge=1, le=86400, description="Whole-job timeout.")


class ResultsUpload(BaseModel):
    """Results measured outside a bench job (`edgefleet bench --controller`), for one device."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$",
                        description="The device the results were measured on.")
    zone: str | None = Field(None, max_length=64, description="Grid zone to price carbon.")
    results: list[dict[str, Any]] = Field(min_length=1, max_length=2000,
                                          description="`edgefleet bench --json` objects.")


def _service(request: Request) -> BenchmarkService:
    return request.app.state.benchmarks


@router.get("/benchmarks")
def list_benchmarks(
    request: Request,
    device: str | None = Query(None, max_length=255),
    model: str | None = Query(None, max_length=128),
    limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    return _service(request).repository.list(device, model, limit)


@router.post("/benchmarks", status_code=201, responses=errors(502))
def upload_benchmarks(body: ResultsUpload, request: Request) -> dict[str, Any]:
    """Store one device's results (validated against the bench contract; all or nothing)."""
    return _service(request).upload(body.device, body.results, body.zone)


@router.post("/benchmarks/run", status_code=201, response_model=None,
             responses={201: {"model": Job, "description": "Queued."},
                        **errors(404, 409, 502, 503)})
def run_benchmarks(body: BenchRunRequest, request: Request) -> dict[str, Any]:
    """Start bench.yml as a job in the runtime image of the configured registry (pinned by
    digest); each host's results are stored when it finishes."""
    who = f"api:{request.client.host if request.client else 'unknown'}"

    def runtime() -> dict[str, Any]:
        with request.app.state.registry_settings.client(SERVER_HINT) as client:
            return runtime_vars(client)

    return _service(request).run(
        limit=body.limit, extra_vars=body.extra_vars, timeout_s=body.timeout_s,
        requested_by=who, runtime=runtime,
    )


@router.post("/benchmarks/jobs/{job_id}/collect", responses=errors(404, 409))
def collect_benchmarks(job_id: str, request: Request) -> dict[str, Any]:
    """Store (again) the results of a finished bench job."""
    return _service(request).collect(job_id)


@router.get("/selection", responses=errors(404, 502))
def selection(
    request: Request,
    budget_ms: float = Query(gt=0, description="p90 latency budget per request."),
    max_acc_drop: float = Query(
        ge=0, description="Tolerance: points (0-100) or relative (fraction 0-1)."
    ),
    mode: Literal["points", "relative"] = "relative",
    objective: Literal["latency", "energy"] = "latency",
    device: str | None = Query(None, max_length=255),
    memory_mb: float | None = Query(None, gt=0, description="Device memory available."),
    variant: Annotated[
        list[str] | None, Query(description="Only these variants, e.g. fp32 (repeat).")
    ] = None,
) -> dict[str, Any]:
    policy = Policy(budget_ms, max_acc_drop, mode, objective, memory_mb)
    return _service(request).select(policy, device, variant)
