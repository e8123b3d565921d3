"""Host view: each host's latest facts and the latest result of every playbook."""

from typing import Any

from fastapi import APIRouter, Request

from controller.api.openapi import answer
from controller.api.schemas import HostView

router = APIRouter(prefix="/api")


@router.get("/hosts", response_model=None, responses=answer(list[HostView]))
def list_hosts(request: Request) -> list[dict[str, Any]]:
    return request.app.state.manager.hosts()


@router.get("/hosts/{name}", response_model=None, responses=answer(HostView, 404))
def get_host(name: str, request: Request) -> dict[str, Any]:
    return request.app.state.manager.host(name)
