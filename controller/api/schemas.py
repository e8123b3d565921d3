"""Request bodies: strict, so a typo in a field name is an error rather than silently ignored."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    playbook: str = Field(description="Name of a playbook in the catalogue, e.g. `ping`.")
    limit: str | None = Field(None, description="Ansible host pattern, e.g. `rpi` or `gpu-01`.")
    extra_vars: dict[str, Any] | None = Field(None, description="Variables passed with -e.")
    timeout_s: int | None = Field(None, ge=1, le=86400, description="Whole-job timeout.")
