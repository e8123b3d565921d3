"""What `edgefleet agent install` prepares before install_agent.yml runs as a job.

Tokens are issued for hosts that have none and written to an owner-only credentials
directory the playbook copies from (tokens never travel in extra vars, which runner
writes to disk and the job record keeps). A host whose token exists but whose file is
gone gets a rotated token: only the controller ever sees a token, and only once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controller.agents import bundle
from controller.jobs.errors import InvalidRequest
from controller.jobs.inventory import resolve_targets
from controller.jobs.manager import JobManager
from controller.secretfile import write_private
from controller.telemetry import tokens

DEFAULT_PORT = 8080


def credentials_dir(mgr: JobManager) -> Path:
    path = mgr.settings.home / "agent-credentials"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _issue_tokens(mgr: JobManager, names: list[str], creds: Path) -> None:
    for name, token in tokens.ensure(mgr.store, names).items():
        write_private(creds / name, token)
    for name in names:
        if not (creds / name).exists():
            write_private(creds / name, tokens.create(mgr.store, name, rotate=True))


def prepare(mgr: JobManager, *, limit: str | None, controller_url: str | None,
            state: str) -> dict[str, Any]:
    """Extra vars for install_agent.yml; tokens and bundle are made ready first."""
    inventory = mgr.settings.inventory
    if inventory is None:
        raise InvalidRequest("no inventory (pass --inventory or set EDGEFLEET_INVENTORY)")
    extra: dict[str, Any] = {"edgefleet_agent_state": state}
    if controller_url is not None:
        if not controller_url.startswith(("http://", "https://")):
            raise InvalidRequest(f"controller URL must be http(s)://HOST:PORT: {controller_url}")
        extra["edgefleet_agent_controller_url"] = controller_url
    if state == "stopped":
        return extra
    targets = resolve_targets(inventory, limit, mgr.settings.ansible_cfg)
    creds = credentials_dir(mgr)
    _issue_tokens(mgr, [t.name for t in targets], creds)
    extra["edgefleet_agent_bundle"] = str(bundle.build(mgr.settings.home / "bundles"))
    extra["edgefleet_agent_credentials_dir"] = str(creds)
    return extra
