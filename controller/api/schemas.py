"""Request bodies (strict, so a typo in a field name is an error rather than silently ignored)
and the documented shapes of the answers."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# What controller/jobs/playbooks.py and inventory.check_limit accept (a limit must also match
# a host, and have no empty pattern next to `,` `:` `!` `&`: rules left to the 422 reason).
PLAYBOOK_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
LIMIT_PATTERN = r"^[A-Za-z0-9_.,:&!*\[\]-]+$"
LIMIT_DESCRIPTION = ("Ansible host pattern, e.g. `rpi` or `gpu-01`; 422 when it matches no host"
                     " or has an empty part.")


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The patterns are documented, not enforced here: the manager refuses with reasons that
    # name the catalogue or the bad character (422), which a pydantic message would not.
    playbook: str = Field(description="Name of a playbook in the catalogue, e.g. `ping`.",
                          json_schema_extra={"pattern": PLAYBOOK_PATTERN})
    limit: str | None = Field(None, description=LIMIT_DESCRIPTION,
                              json_schema_extra={"pattern": LIMIT_PATTERN})
    extra_vars: dict[str, Any] | None = Field(None, description="Variables passed with -e.")
    timeout_s: int | None = Field(None, ge=1, le=86400, description="Whole-job timeout.")


# Responses. Documented (responses=), not enforced (response_model=None): the handlers keep
# their exact wire format, and tests/api/test_openapi_contract.py checks it against these.
# Fields are what every answer carries; objects stay open (additionalProperties) for growth.

class JobHost(BaseModel):
    host: str
    status: str = Field(description="ok, failed, unreachable, skipped, ...")
    ok: int
    changed: int
    failures: int
    unreachable: int
    skipped: int
    msg: str | None
    result: dict[str, Any] | None = Field(description="The host's `edgefleet_result` fact.")
    detail: str = Field(description="The result (or message) as one readable line.")


class JobSummary(BaseModel):
    """A job as listed (GET /api/jobs): no per-host detail."""

    id: str
    playbook: str
    limit: str | None
    status: str = Field(description="queued, running, succeeded, failed, cancelled, ...")
    rc: int | None
    error: str | None
    requested_by: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    timeout_s: int | None
    relaunch_of: str | None
    extra_vars: dict[str, Any]
    targets: list[str]
    summary: dict[str, int] = Field(description="How many hosts ended in each status.")


class Job(JobSummary):
    """One job with its per-host results."""

    hosts: list[JobHost]


class Playbooks(BaseModel):
    playbooks: list[str]


class HostResult(BaseModel):
    job_id: str
    status: str
    result: dict[str, Any] | None
    msg: str | None
    at: str


class HostView(BaseModel):
    name: str
    address: str | None
    groups: list[str]
    facts: dict[str, Any]
    last_status: str | None
    last_job_id: str | None
    updated_at: str | None
    results: dict[str, HostResult] = Field(description="Latest result per playbook.")


class InventoryHost(BaseModel):
    name: str
    address: str | None
    groups: list[str]


class InventoryView(BaseModel):
    limit: str | None
    hosts: list[InventoryHost]
    groups: list[str]


class WhoAmI(BaseModel):
    auth_required: bool
    role: str = Field(description="operator or read")
    can_operate: bool


class DiscoveredDevice(BaseModel):
    device_id: str
    status: str = Field(description="pending, approved or rejected")
    hostname: str | None
    instance: str | None
    arch: str | None
    agent_version: str | None
    metrics_port: int | None
    address: str | None
    addresses: list[str]
    first_seen: float
    last_seen: float
    decided_at: float | None
    decided_by: str | None
    alias: str | None
    group: str | None
    token_delivered: bool


class ClaimPending(BaseModel):
    status: str = Field(description="pending: ask again later")


class ClaimGranted(BaseModel):
    status: str
    name: str = Field(description="The device's inventory name.")
    token: str = Field(description="Its telemetry token, delivered once.")


class Health(BaseModel):
    status: str
    version: str
