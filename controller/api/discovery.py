"""Discovery endpoints: the operator's queue (admin token) and the device's claim (no token).

The claim is open to the LAN by design (the device has no token yet), so its body is
capped and its answers say only what the claim secret entitles the caller to know.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.discovery import TXT_RULES
from controller.api.openapi import answer, errors
from controller.api.schemas import ClaimGranted, ClaimPending, DiscoveredDevice
from controller.discovery.registry import Registry
from controller.telemetry.errors import InvalidPayload, PayloadTooLarge

admin_router = APIRouter(prefix="/api/discovery")
claim_router = APIRouter(prefix="/api/discovery")
_MAX_CLAIM_BYTES = 4096


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alias: str | None = Field(None, max_length=255, description="inventory host name to use")


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str = Field(pattern=TXT_RULES["id"].pattern)
    claim_secret: str = Field(pattern=r"^[A-Za-z0-9_-]{32,128}$")


def _registry(request: Request) -> Registry:
    return request.app.state.discovery.registry


def _who(request: Request) -> str:
    return f"api:{request.client.host if request.client else 'unknown'}"


@admin_router.get("", response_model=None, responses=answer(list[DiscoveredDevice]))
def list_discovered(
    request: Request,
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return _registry(request).list(status)


@admin_router.get("/{device_id}", response_model=None, responses=answer(DiscoveredDevice, 404))
def get_discovered(device_id: str, request: Request) -> dict[str, Any]:
    return _registry(request).get(device_id)


@admin_router.post("/{device_id}/approve", response_model=None,
                   responses=answer(DiscoveredDevice, 404, 409))
def approve(device_id: str, request: Request, body: ApproveBody | None = None) -> dict[str, Any]:
    return _registry(request).approve(device_id, _who(request), body.alias if body else None)


@admin_router.post("/{device_id}/reject", response_model=None,
                   responses=answer(DiscoveredDevice, 404, 409))
def reject(device_id: str, request: Request) -> dict[str, Any]:
    return _registry(request).reject(device_id, _who(request))


@claim_router.post(
    "/claim",
    responses={200: {"model": ClaimGranted, "description": "Approved: the token, once."},
               202: {"model": ClaimPending, "description": "Not decided yet: ask again."},
               **errors(401, 403, 404, 409, 413)},
    # The body is read by hand (capped before parsing): documented here, validated below.
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": ClaimBody.model_json_schema()}}}},
)
async def claim(request: Request) -> JSONResponse:
    """202 pending; 200 with the token, once; 401/403/404/409 with a one-line reason."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > _MAX_CLAIM_BYTES:
            raise PayloadTooLarge(f"claim body larger than {_MAX_CLAIM_BYTES} bytes")
    try:
        body = ClaimBody.model_validate_json(raw)
    except ValidationError as exc:
        reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                           for e in exc.errors())
        raise InvalidPayload(reason) from None
    answer = await run_in_threadpool(_registry(request).claim, body.device_id, body.claim_secret)
    if answer.token is None:
        return JSONResponse({"status": answer.status}, status_code=202)
    return JSONResponse({"status": answer.status, "name": answer.name, "token": answer.token},
                        headers={"Cache-Control": "no-store"})
