"""`edgefleet run PLAYBOOK`: run a fleet operation with live per-host status, on a running
controller (--controller) or in this process."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live

from controller.cli import remote, render, runtime
from controller.cli.jobs_client import JobsClient, connect
from controller.jobs import extravars
from controller.jobs.errors import JobError
from controller.jobs.manager import ACTIVE

out = runtime.out
_CANCEL_WAIT_S = 30.0
_DONE = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
         "runner_on_unreachable": "unreachable"}

ExtraVars = Annotated[list[str] | None, typer.Option(
    "--extra-vars", "-e", help="key=value words, a JSON object or @file (JSON/YAML); repeat.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")]


def _host_state(ev: dict[str, Any]) -> tuple[str, str] | None:
    """(status while the job runs, task) for a host event; None for play-level events."""
    kind = ev["event"]
    if not ev.get("host") or not kind.startswith("runner_on_"):
        return None
    status = _DONE.get(kind, "running")
    if status in ("ok", "skipped") or (status == "failed" and ev.get("ignore_errors")):
        status = "running"  # the host goes on to its next task
    return status, ev.get("task", "")


def follow(client: JobsClient, job: dict[str, Any]) -> dict[str, Any]:
    """Live table on a terminal; elsewhere (CI logs, pipes) one line per finished task as it
    happens, then the table. Both are fed by the job's stored event stream."""
    state: dict[str, tuple[str, str]] = {}
    if out.is_terminal:
        with Live(render.hosts_table(job, state), console=out, refresh_per_second=4) as live:
            for ev in client.events(job["id"]):
                if (now := _host_state(ev)) is not None:
                    state[ev["host"]] = now
                    live.update(render.hosts_table(job, state))
            job = client.get(job["id"])
            live.update(render.hosts_table(job))
        return job
    for ev in client.events(job["id"]):
        if ev["event"] in _DONE and ev.get("host"):
            out.print(f"{ev['host']}: {ev.get('task', '')} → {_DONE[ev['event']]}",
                      highlight=False, markup=False)
    job = client.get(job["id"])
    out.print(render.hosts_table(job))
    return job


def wait_done(client: JobsClient, job_id: str, timeout_s: float,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The job once it has left queued/running, or as it stands after `timeout_s`."""
    deadline = clock() + timeout_s
    job = client.get(job_id)
    while job["status"] in ACTIVE and clock() < deadline:
        sleep(0.25)
        job = client.get(job_id)
    return job


def run(
    playbook: Annotated[str, typer.Argument(help="ping, upgrade, timesync, monitor, ...")],
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory", "-i", help="Ansible inventory file (default: $EDGEFLEET_INVENTORY)."
        ),
    ] = None,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Host pattern, e.g. rpi.")
    ] = None,
    extra_vars: ExtraVars = None,
    timeout: Annotated[int | None, typer.Option(help="Whole-job timeout in seconds.")] = None,
    controller: remote.ControllerOpt = None,
    as_json: AsJson = False,
) -> None:
    """Run a playbook against the fleet and report per-host results.

    Exit codes: 0 every host ok, 1 some host failed/unreachable or the job failed, 2 bad input.
    """
    with runtime.errors_as_exit():
        client = connect(controller, inventory)
        job = client.submit(playbook, limit, extravars.parse_cli(extra_vars or []), timeout)
    finish(client, job, as_json)


def finish(client: JobsClient, job: dict[str, Any], as_json: bool) -> None:
    """Follow a submitted job to its end, print it, and exit 1 unless it succeeded."""
    try:
        with runtime.errors_as_exit():
            if as_json:
                for _ in client.events(job["id"]):
                    pass
                job = client.get(job["id"])
            else:
                job = follow(client, job)
    except KeyboardInterrupt:
        # ansible-playbook runs in its own session, so Ctrl-C never reaches it: cancel it.
        runtime.err.print(f"interrupted: canceling job {job['id']}")
        with contextlib.suppress(JobError, remote.ControllerRequestError):
            client.cancel(job["id"])
        job = wait_done(client, job["id"], _CANCEL_WAIT_S)
    if as_json:
        print(json.dumps(job, indent=2))
    elif job["error"]:
        runtime.err.print(f"[red]job error:[/] {job['error']}", highlight=False)
    if job["status"] != "successful":
        raise typer.Exit(runtime.EXIT_FAILED)
