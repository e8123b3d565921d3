"""Plain-dict views of stored jobs and hosts: the shapes the API returns and the CLI prints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from controller.jobs import summaries
from controller.store import Host, Job, JobHost


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with an explicit UTC offset (SQLite hands back naive datetimes)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def host_dict(h: Host) -> dict[str, Any]:
    return {
        "name": h.name,
        "address": h.address,
        "groups": h.groups,
        "facts": h.facts,
        "last_status": h.last_status,
        "last_job_id": h.last_job_id,
        "updated_at": iso(h.updated_at),
        "results": h.results,
    }


def job_dict(job: Job, hosts: Sequence[JobHost] | None) -> dict[str, Any]:
    """The job record; with `hosts`, also its per-host rows and a count per status."""
    out: dict[str, Any] = {
        "id": job.id,
        "playbook": job.playbook,
        "limit": job.limit,
        "status": job.status,
        "rc": job.rc,
        "error": job.error,
        "requested_by": job.requested_by,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "timeout_s": job.timeout_s,
        "relaunch_of": job.relaunch_of,
        "extra_vars": job.extra_vars,
        "targets": [t["name"] for t in job.targets],
    }
    if hosts is not None:
        out["hosts"] = [
            {
                "host": h.host,
                "status": h.status,
                "ok": h.ok,
                "changed": h.changed,
                "failures": h.failures,
                "unreachable": h.unreachable,
                "skipped": h.skipped,
                "msg": h.msg,
                "result": h.result,
                "detail": summaries.line(job.playbook, {"result": h.result, "msg": h.msg}),
            }
            for h in hosts
        ]
        summary: dict[str, int] = {}
        for h in hosts:
            summary[h.status] = summary.get(h.status, 0) + 1
        out["summary"] = summary
    return out
