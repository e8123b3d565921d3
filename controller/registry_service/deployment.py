"""A verified image -> the extra vars of playbooks/deploy_model.yml.

One function for everything that deploys (POST /api/deployments, the experiment), so every
deployment pins the platform manifest digest and checks the same labels.
"""

from __future__ import annotations

from typing import Any

from controller.errors import ControllerError
from registry import labels
from registry.verify import Resolution, VerifyResult

PLAYBOOK = "deploy_model"


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
