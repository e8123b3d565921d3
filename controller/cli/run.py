"""`edgefleet run PLAYBOOK`: run a fleet operation in-process with live per-host status."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from controller.cli import render, runtime
from controller.jobs import extravars
from controller.jobs.errors import InvalidRequest, JobError
from controller.jobs.manager import ACTIVE, JobManager, current_user

out = Console()
_CANCEL_WAIT_S = 30.0


def _extra_vars(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            raw = path.read_text()
        except OSError as exc:
            raise InvalidRequest(f"cannot read extra vars file {path}: {exc.strerror}") from None
    return extravars.parse(raw)


def follow(mgr: JobManager, job: dict[str, Any]) -> dict[str, Any]:
    """Live table fed from the stored events (the same stream the SSE endpoint serves)."""
    live_state: dict[str, tuple[str, str]] = {}
    cursor = 0
    with Live(render.hosts_table(job, live_state), console=out, refresh_per_second=4) as live:
        while job["status"] in ACTIVE:
            for ev in mgr.events_after(job["id"], cursor):
                cursor = ev["seq"]
                if host := ev.get("host"):
                    kind = ev["event"].removeprefix("runner_on_")
                    status = {"start": "running", "ok": "running", "skipped": "running"}.get(
                        kind, kind
                    )
                    if ev["event"] == "runner_on_failed" and ev.get("ignore_errors"):
                        status = "running"
                    live_state[host] = (status, ev.get("task", ""))
            time.sleep(0.25)
            job = mgr.get(job["id"])
            live.update(render.hosts_table(job, live_state))
        live.update(render.hosts_table(job))
    if not out.is_terminal:
        out.line()  # Live leaves the cursor after the table when output is piped
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
    extra_vars: Annotated[
        str | None, typer.Option("--extra-vars", "-e", help="JSON object, or @file.json.")
    ] = None,
    timeout: Annotated[int | None, typer.Option(help="Whole-job timeout in seconds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")] = False,
) -> None:
    """Run a playbook against the fleet and report per-host results.

    Exit codes: 0 every host ok, 1 some host failed/unreachable or the job failed, 2 bad input.
    """
    with runtime.errors_as_exit():
        mgr = runtime.manager(inventory)
        job = mgr.submit(
            playbook,
            limit=limit,
            extra_vars=_extra_vars(extra_vars),
            timeout_s=timeout,
            requested_by=current_user(),
        )
    finish(mgr, job, as_json)


def finish(mgr: JobManager, job: dict[str, Any], as_json: bool) -> None:
    """Follow a submitted job to its end, print it, and exit 1 unless it succeeded."""
    try:
        job = mgr.wait(job["id"]) if as_json else follow(mgr, job)
    except KeyboardInterrupt:
        # ansible-playbook runs in its own session, so Ctrl-C never reaches it: cancel it.
        runtime.err.print(f"interrupted: canceling job {job['id']}")
        with contextlib.suppress(JobError):
            mgr.cancel(job["id"])
        job = mgr.wait(job["id"], timeout=_CANCEL_WAIT_S)
    if as_json:
        print(json.dumps(job, indent=2))
    elif job["error"]:
        runtime.err.print(f"[red]job error:[/] {job['error']}", highlight=False)
    if job["status"] != "successful":
        raise typer.Exit(runtime.EXIT_FAILED)
