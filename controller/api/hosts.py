"""Host view: each host's latest facts and the latest result of every playbook."""

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/api")


@router.get("/hosts")
def list_hosts(request: Request) -> list[dict[str, Any]]:
    return request.app.state.manager.hosts()


@router.get("/hosts/{name}")
def get_host(name: str, request: Request) -> dict[str, Any]:
    return request.app.state.manager.host(name)
