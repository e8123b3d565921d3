"""A verified image -> the extra vars of playbooks/deploy_model.yml, and the job that runs it.

One path for everything that deploys (POST /api/deployments, `edgefleet deploy`, the
experiment), so every deployment pins the platform manifest digest and checks the same labels.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controller.errors import ControllerError
from controller.jobs.manager import JobManager
from controller.registry_service import service
from controller.registry_service.settings import CLI_HINT, RegistrySettings
from registry import labels
from registry.verify import Resolution, VerifyResult

PLAYBOOK = "deploy_model"
NAME_PATTERN = r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"
TAG_PATTERN = r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$"


class DeploymentRequest(BaseModel):
    """What to deploy where: the REST body and what `edgefleet deploy` sends or runs."""

    model_config = ConfigDict(extra="forbid")

    arch: str = Field(min_length=1, max_length=32)
    task: str = Field(pattern=NAME_PATTERN, max_length=64)
    model: str | None = Field(None, pattern=NAME_PATTERN, max_length=64)
    version: str | None = Field(None, pattern=TAG_PATTERN)
    limit: str | None = Field(None, description="Ansible host pattern of the devices.")
    name: str = Field("model", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    serial: list[int | str] | None = Field(None, description="Batches, e.g. [1, '50%'].")
    max_fail_percentage: int = Field(0, ge=0, le=100)
    runner: str | None = Field(None, pattern=r"^(container|rootfs)$", description=(
        "Default: the inventory's edgefleet_deploy_runner (rootfs only on emulated lab hosts)."))
    timeout_s: int | None = Field(None, ge=1, le=86400)


class NoImage(ControllerError):
    """Verify found nothing for the deployment: nothing is launched; the plan says why."""

    http_status = 409


def require_image(result: VerifyResult) -> Resolution:
    """The verified image, or NoImage with every candidate's reason."""
    if result.found is None:
        reasons = "; ".join(m.detail for m in result.misses) or "no candidates"
        raise NoImage(f"no image for {result.task} on {result.platform}: {reasons}")
    return result.found


def deploy_vars(found: Resolution, *, insecure: bool, name: str = "model",
                max_fail_percentage: int = 0, runner: str | None = None,
                serial: list[int | str] | None = None) -> dict[str, Any]:
    """deploy_model.yml's extra vars for `found`: by digest, never by tag. `runner` and
    `serial` are left to the inventory and the playbook when not given."""
    image, _, digest = found.pinned.partition("@")
    extra: dict[str, Any] = {
        "edgefleet_deploy_name": name,
        "edgefleet_deploy_image": image,
        "edgefleet_deploy_digest": digest,
        "edgefleet_deploy_platform": found.platform,
        "edgefleet_deploy_labels": {k: found.labels[k] for k in
                                    (labels.TASK, labels.MODEL, labels.VERSION)},
        "edgefleet_deploy_insecure": insecure,
        "edgefleet_deploy_max_fail_percentage": max_fail_percentage,
    }
    if runner:
        extra["edgefleet_deploy_runner"] = runner
    if serial:
        extra["edgefleet_deploy_serial"] = serial
    return extra


def submit(settings: RegistrySettings, manager: JobManager, body: DeploymentRequest, *,
           requested_by: str, missing_hint: str = CLI_HINT) -> dict[str, Any]:
    """Verify first, then queue deploy_model.yml with the pinned digest: {job, image}."""
    with settings.client(missing_hint) as client:
        found = require_image(
            service.verify(client, body.arch, body.task, body.model, body.version))
        insecure = client.base.startswith("http://")
    extra = deploy_vars(found, insecure=insecure, name=body.name,
                        max_fail_percentage=body.max_fail_percentage,
                        runner=body.runner, serial=body.serial)
    job = manager.submit(PLAYBOOK, limit=body.limit, extra_vars=extra,
                         timeout_s=body.timeout_s, requested_by=requested_by)
    return {"job": job, "image": found.as_dict()}
