"""Rich tables of a job's hosts for the terminal (each host's `detail` is the API's line
from controller/jobs/summaries.py)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "unreachable": "magenta",
    "skipped": "dim",
    "canceled": "red",
    "timeout": "red",
    "running": "cyan",
    "pending": "dim",
}


def hosts_table(job: dict[str, Any], live: dict[str, tuple[str, str]] | None = None) -> Table:
    """Final (or live) per-host table; `live` maps host → (status, last task) while running."""
    title = f"{job['playbook']} · job {job['id']} · {job['status']}"
    table = Table(title=title, expand=False)
    for col in ("host", "status", "detail"):
        table.add_column(col)
    by_host = {h["host"]: h for h in job.get("hosts", [])}
    for name in job["targets"]:
        if live is not None and job["status"] in ("queued", "running"):
            status, detail = live.get(name, ("pending", ""))
        else:
            h = by_host.get(name, {"status": "pending"})
            status, detail = h["status"], h.get("detail", "")
        table.add_row(name, f"[{STATUS_STYLE.get(status, '')}]{status}[/]", detail)
    return table
