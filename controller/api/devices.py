"""Device registry and series reads (admin API: mounted behind `require_token`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from controller.telemetry.query import MAX_STEP_S

router = APIRouter(prefix="/api")


@router.get("/devices")
def list_devices(request: Request) -> list[dict[str, Any]]:
    return request.app.state.telemetry.devices()


@router.get("/devices/{key}")
def get_device(key: str, request: Request) -> dict[str, Any]:
    """`key` is the device id or its name."""
    return request.app.state.telemetry.device(key)


@router.get("/devices/{key}/metrics")
def device_metrics(
    key: str,
    request: Request,
    name: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,99}$")],
    since: Annotated[str | None, Query(description="seconds ago, epoch or ISO-8601")] = None,
    until: Annotated[str | None, Query(description="seconds ago, epoch or ISO-8601")] = None,
    step: Annotated[int | None, Query(ge=1, le=MAX_STEP_S,
                                      description="bucket width in seconds")] = None,
    labels: Annotated[str | None, Query(description="k=v[,k=v]: series having them")] = None,
) -> dict[str, Any]:
    return request.app.state.telemetry.metrics(key, name, since, until, step, labels)
