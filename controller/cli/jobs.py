"""`edgefleet jobs` and `edgefleet job show|cancel|relaunch ID`: the controller's job history
from a shell, the same records the dashboard's Jobs page shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from controller.cli import render, runtime
from controller.cli.jobs_client import connect
from controller.cli.remote import ControllerOpt
from controller.cli.run import AsJson, finish

app = typer.Typer(help="One job: show, cancel or relaunch it.", no_args_is_help=True)
out = runtime.out
JobId = Annotated[str, typer.Argument(help="The job's id (see `edgefleet jobs`).")]
Inventory = Annotated[Path | None, typer.Option(
    "--inventory", "-i", help="Without --controller: the inventory of this machine's jobs.")]


def _hosts(job: dict[str, Any]) -> str:
    counts = job.get("summary") or {}
    return " ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"


def jobs_table(jobs: list[dict[str, Any]], where: str) -> Table:
    table = Table(title=f"jobs · {where}")
    for col in ("id", "playbook", "status", "limit", "hosts", "created (UTC)", "by"):
        table.add_column(col, overflow="fold")
    for j in jobs:
        style = render.STATUS_STYLE.get({"successful": "ok"}.get(j["status"], j["status"]), "")
        table.add_row(j["id"], j["playbook"], f"[{style}]{j['status']}[/]", j["limit"] or "all",
                      _hosts(j), (j["created_at"] or "-").replace("+00:00", "Z"),
                      j["requested_by"] or "-")
    return table


def jobs(
    last: Annotated[int, typer.Option("--last", "-n", min=1, max=500,
                                      help="How many of the newest jobs.")] = 20,
    controller: ControllerOpt = None,
    inventory: Inventory = None,
    as_json: AsJson = False,
) -> None:
    """The newest jobs: playbook, status, limit, per-host outcome, when and by whom."""
    with runtime.errors_as_exit():
        client = connect(controller, inventory)
        found = client.list(last)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        out.print(jobs_table(found, client.where))


@app.command()
def show(job_id: JobId, controller: ControllerOpt = None, inventory: Inventory = None,
         as_json: AsJson = False) -> None:
    """A job's record and each host's result as one readable line (the Job page's summary)."""
    with runtime.errors_as_exit():
        job = connect(controller, inventory).get(job_id)
    if as_json:
        print(json.dumps(job, indent=2))
        return
    out.print(render.hosts_table(job))
    times = " · ".join(f"{k.removesuffix('_at')} {job[k]}" for k in
                       ("created_at", "started_at", "finished_at") if job.get(k))
    out.print(f"{times} · by {job['requested_by']}", highlight=False, markup=False)
    if job["relaunch_of"]:
        out.print(f"relaunch of {job['relaunch_of']}", highlight=False)
    if job["error"]:
        runtime.err.print(f"[red]job error:[/] {job['error']}", highlight=False)


@app.command()
def cancel(job_id: JobId, controller: ControllerOpt = None, inventory: Inventory = None) -> None:
    """Stop a queued or running job (its hosts are marked canceled)."""
    with runtime.errors_as_exit():
        job = connect(controller, inventory).cancel(job_id)
    out.print(f"job {job['id']} {job['status']}: cancel requested", highlight=False)


@app.command()
def relaunch(job_id: JobId, controller: ControllerOpt = None, inventory: Inventory = None,
             as_json: AsJson = False) -> None:
    """Run a finished job again on its failed and unreachable hosts, and follow it."""
    with runtime.errors_as_exit():
        client = connect(controller, inventory)
        job = client.relaunch(job_id)
    if not as_json:
        out.print(f"job {job['id']}: relaunch of {job_id} on {', '.join(job['targets'])}",
                  highlight=False)
    finish(client, job, as_json)
