"""The configured inventory as Ansible parses it: the hosts and groups a job can target.

With `limit`, the hosts that pattern would hit: the dashboard previews a launch with it, and
a script can check a pattern before it posts a job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request

from controller.api.openapi import answer
from controller.api.schemas import LIMIT_DESCRIPTION, LIMIT_PATTERN, InventoryView
from controller.jobs.errors import InvalidRequest
from controller.jobs.inventory import resolve_targets

router = APIRouter(prefix="/api")


@router.get("/inventory", response_model=None, responses=answer(InventoryView))
def inventory(
    request: Request,
    # The pattern is documented only: resolve_targets refuses with the reason (422).
    # Empty is no limit (every host), as the dashboard's preview sends it.
    limit: str | None = Query(None, max_length=1000,
                              description=f"{LIMIT_DESCRIPTION} Empty: every host.",
                              json_schema_extra={"pattern": LIMIT_PATTERN.replace("]+$", "]*$")}),
) -> dict[str, Any]:
    settings = request.app.state.manager.settings
    if settings.inventory is None:
        raise InvalidRequest(
            "no inventory configured (pass --inventory or set EDGEFLEET_INVENTORY)")
    targets = resolve_targets(Path(settings.inventory).resolve(), limit or None,
                              settings.ansible_cfg)
    return {
        "limit": limit or None,
        "hosts": [t.as_dict() for t in targets],
        "groups": sorted({g for t in targets for g in t.groups}),
    }
