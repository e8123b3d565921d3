"""The seed experiment over the REST API: start one (operator token), read its record.

POST checks what it can at once (policy 422, hosts 422, stored results 404, fresh
telemetry and one experiment at a time 409, a registry 503) and answers 202 with the
record; the run goes on in the background and GET shows its rows as they are measured.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.params import Depends
from pydantic import BaseModel, ConfigDict, Field

from controller.api.jobs import _who
from controller.api.openapi import answer
from controller.api.schemas import LIMIT_DESCRIPTION, LIMIT_PATTERN
from controller.experiment.images import MAX_IMAGES
from controller.experiment.service import ExperimentService, ExperimentSpec

router = APIRouter(prefix="/api")
_HOST = r"^[A-Za-z0-9_.-]{1,255}$"
_ID = r"^[0-9a-f]{12}$"


class ExperimentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget_ms: float = Field(gt=0, le=3_600_000, description="p90 latency budget per request.")
    max_acc_drop: float = Field(ge=0, le=100, description=(
        "Tolerance: a fraction 0-1 (relative) or points 0-100 (points); 422 outside."))
    acc_drop_mode: Literal["points", "relative"] = "relative"
    objective: Literal["latency", "energy", "accuracy"] = Field("latency", description=(
        "Advanced rank among allowed models: lowest p90, lowest energy, or most accurate."))
    limit: str | None = Field(None, description=LIMIT_DESCRIPTION,
                              json_schema_extra={"pattern": LIMIT_PATTERN})
    images: int = Field(10, ge=1, le=MAX_IMAGES, description="Requests measured per model.")
    variants: list[str] | None = Field(None, max_length=8, description="Only these variants.")
    load_device: str | None = Field(None, pattern=_HOST, description=(
        "Repeat the run with a background CPU load on this host."))
    load_workers: int | None = Field(None, ge=1, le=256, description="Default: 4 per core.")
    load_seconds: int = Field(900, ge=60, le=3600, description="The load stops by itself.")


class Measured(BaseModel):
    median_ms: float
    p90_ms: float
    n: int
    phases_ms: dict[str, float]
    warmup_ms: float
    image: str = Field(description="The pinned image repo@sha256 that was measured.")
    deploy_job: str | None = Field(description="None: the device already served it.")


class Choice(BaseModel):
    label: str
    model: str
    variant: str
    input_size: int | None
    accuracy_top1: float
    accuracy_kind: Literal["measured", "model card"]
    accuracy_source: str | None
    expected_p90_ms: float = Field(description="Benchmark p90 scaled to the live state.")
    measured: Measured | None


class DeviceRow(BaseModel):
    device: str
    status: dict[str, Any] = Field(description="Live state the plan used.")
    budget_ms_left: float
    greedy: Choice | None
    advanced: Choice | None
    t_b_ms: float | None
    t_a_ms: float | None
    saving: float | None = Field(description="(t_b - t_a) / t_b, a fraction.")
    accuracy_drop: float | None = Field(description="In the mode's unit.")
    accuracy_drop_points: float | None
    reason: str | None
    warnings: list[str]
    error: str | None


class Summary(BaseModel):
    saving_rate: float | None
    accuracy_drop: float | None
    accuracy_drop_points: float | None
    acc_drop_mode: str
    acc_drop_unit: str
    max_acc_drop: float
    min_saving: float
    devices_measured: int
    devices_without_result: list[str]
    passed: bool


class Phase(BaseModel):
    name: Literal["normal", "load"]
    load: dict[str, Any] | None
    rows: list[DeviceRow]
    summary: Summary | None


class Adaptation(BaseModel):
    device: str
    greedy: list[str | None] = Field(description="[normal, under load]")
    advanced: list[str | None] = Field(description="[normal, under load]")
    greedy_unchanged: bool
    advanced_changed: bool


class Experiment(BaseModel):
    id: str
    status: Literal["running", "succeeded", "failed"]
    created_at: str
    finished_at: str | None
    requested_by: str
    request: dict[str, Any]
    step: str
    progress: list[str]
    phases: list[Phase]
    adaptation: Adaptation | None
    error: str | None


def _service(request: Request) -> ExperimentService:
    return request.app.state.experiments


@router.post("/experiments", status_code=202, response_model=None,
             responses=answer(Experiment, 404, 409, 503, status=202, description="Started."))
def start(body: ExperimentRequest, request: Request) -> dict[str, Any]:
    spec = ExperimentSpec(
        budget_ms=body.budget_ms, max_acc_drop=body.max_acc_drop, mode=body.acc_drop_mode,
        objective=body.objective, limit=body.limit, images=body.images,
        variants=tuple(body.variants) if body.variants else None,
        load_device=body.load_device, load_workers=body.load_workers,
        load_seconds=body.load_seconds)
    return _service(request).start(spec, _who(request))


@router.get("/experiments", response_model=None, responses=answer(list[Experiment]))
def list_experiments(request: Request,
                     limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    """Newest first."""
    return _service(request).list(limit)


@router.get("/experiments/{exp_id}", response_model=None, responses=answer(Experiment, 404))
def get_experiment(request: Request,
                   exp_id: str = Path(pattern=_ID)) -> dict[str, Any]:
    return _service(request).get(exp_id)


def install(app: FastAPI, guarded: list[Depends]) -> None:
    """The service over the app's manager, telemetry, benchmarks and registry, and the
    routes behind the admin token."""
    s = app.state
    s.experiments = ExperimentService(s.manager, s.telemetry, s.benchmarks.repository,
                                      s.registry_settings)
    app.include_router(router, dependencies=guarded)
