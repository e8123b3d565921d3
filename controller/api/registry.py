"""Registry and deployment endpoints: list, verify, build, and deploy a verified digest.

The registry URL and credentials come from the server's settings (EDGEFLEET_REGISTRY_*),
never from the request: a caller cannot point the controller at another host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from controller.api.jobs import _who
from controller.api.openapi import errors
from controller.registry_service import deployment, service
from controller.registry_service.deployment import NAME_PATTERN, TAG_PATTERN, DeploymentRequest
from controller.registry_service.settings import RegistrySettings

router = APIRouter(prefix="/api")


# A browser or script user cannot "pass --url": the URL is the server operator's setting.
SERVER_HINT = ("this controller has no registry configured; its operator sets "
               "EDGEFLEET_REGISTRY_URL or serves with `edgefleet controller serve "
               "--registry-url URL`")


def _settings(request: Request) -> RegistrySettings:
    return request.app.state.registry_settings


class BuildBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arch: str = Field(min_length=1, max_length=32, description="aarch64, arm64, arm/v7, amd64...")
    task: str = Field(pattern=NAME_PATTERN, max_length=64)
    model: str = Field(pattern=NAME_PATTERN, max_length=64)
    version: str = Field("1.0", pattern=TAG_PATTERN)
    weights: str | None = Field(None, min_length=1, max_length=4096,
                                description="state_dict file on the controller (default: "
                                            "seeded random weights).")
    variant: str = Field("fp32", pattern=r"^(fp32|int8-dynamic|bf16|fp16)$")
    input_size: int | None = Field(None, ge=16, le=1024, description="Crop fed to the net.")
    base: str | None = Field(None, description="Runtime base REPO:TAG (default from settings).")
    accelerator: str = Field("cpu", pattern=r"^(cpu|cuda|tensorrt)$")


@router.get("/registry/images", responses=errors(502, 503))
def images(request: Request) -> list[dict[str, Any]]:
    with _settings(request).client(SERVER_HINT) as client:
        return service.list_images(client)


@router.get("/registry/verify", responses=errors(404, 502, 503))
def verify(
    request: Request,
    arch: str = Query(min_length=1, max_length=32),
    task: str = Query(pattern=NAME_PATTERN, max_length=64),
    model: str | None = Query(None, pattern=NAME_PATTERN, max_length=64),
    version: str | None = Query(None, pattern=TAG_PATTERN),
) -> dict[str, Any]:
    """200 either way: `found` (pinned digest) or `plan` (what a build would push)."""
    with _settings(request).client(SERVER_HINT) as client:
        return service.verify(client, arch, task, model, version).as_dict()


@router.post("/registry/build", status_code=201, responses=errors(404, 409, 502, 503))
def build(body: BuildBody, request: Request) -> dict[str, Any]:
    settings = _settings(request)
    with settings.client(SERVER_HINT) as client:
        return service.build(client, arch=body.arch, task=body.task, model=body.model,
                             version=body.version,
                             weights=Path(body.weights) if body.weights else None,
                             base=body.base or settings.base, accelerator=body.accelerator,
                             variant=body.variant, input_size=body.input_size)


@router.post("/deployments", status_code=201, responses=errors(404, 409, 502, 503))
def deploy(body: DeploymentRequest, request: Request) -> dict[str, Any]:
    """Verify first, then run deploy_model.yml with the pinned digest (never a tag)."""
    return deployment.submit(_settings(request), request.app.state.manager, body,
                             requested_by=_who(request), missing_hint=SERVER_HINT)
