"""`edgefleet deploy MODEL --arch A --task T`: verify the image, deploy it by digest, follow
the job. The same request as POST /api/deployments and the dashboard's Deploy button."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from controller.cli import runtime
from controller.cli.jobs_client import connect
from controller.cli.remote import ControllerOpt
from controller.cli.run import AsJson, finish
from controller.registry_service.deployment import DeploymentRequest


def deploy(
    model: Annotated[str, typer.Argument(help="Zoo model, e.g. resnet18.")],
    arch: Annotated[str, typer.Option(help="The devices' CPU architecture: arm64, amd64...")],
    task: Annotated[str, typer.Option(help="The image's task, e.g. classification.")],
    version: Annotated[str | None, typer.Option(help="Image version (default: newest).")]
    = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Host pattern.")] = None,
    serial: Annotated[list[str] | None, typer.Option(
        help="Rolling batches, e.g. --serial 1 --serial 50%.")] = None,
    max_fail_percentage: Annotated[int, typer.Option(help="Stop the rollout above this.")] = 0,
    name: Annotated[str, typer.Option(help="The service's name on the device.")] = "model",
    controller: ControllerOpt = None,
    as_json: AsJson = False,
) -> None:
    """Deploy a verified model image to devices as a serving service (rollback on failure)."""
    with runtime.errors_as_exit():
        try:
            body = DeploymentRequest(
                arch=arch, task=task, model=model, version=version, limit=limit, name=name,
                serial=[int(s) if s.isdigit() else s for s in serial] if serial else None,
                max_fail_percentage=max_fail_percentage)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise typer.BadParameter(f"--{first['loc'][0]}: {first['msg']}") from None
        client = connect(controller)
        answer = client.deploy(body)
    image = answer["image"]
    if not as_json:
        runtime.err.print(f"deploying {image.get('pinned', '?')} as job {answer['job']['id']}",
                          highlight=False, markup=False)
    finish(client, answer["job"], as_json)
