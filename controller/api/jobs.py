"""Job endpoints, including the live Server-Sent Events stream of a job's events."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from controller.api.openapi import answer, errors
from controller.api.schemas import Job, JobRequest, JobSummary, Playbooks
from controller.jobs import playbooks
from controller.jobs.errors import InvalidRequest
from controller.jobs.manager import ACTIVE, JobManager

router = APIRouter(prefix="/api")
_POLL_S = 0.25
MAX_EVENT = 2**53  # event numbers (SSE ids) stay exact in JavaScript and fit every database
_EVENT_NUMBER = re.compile(r"[0-9]+")


def _manager(request: Request) -> JobManager:
    return request.app.state.manager


def _who(request: Request) -> str:
    return f"api:{request.client.host if request.client else 'unknown'}"


@router.get("/playbooks", response_model=None, responses=answer(Playbooks))
def list_playbooks(request: Request) -> dict[str, list[str]]:
    return {"playbooks": playbooks.available(_manager(request).settings.playbook_dir)}


@router.post("/jobs", status_code=201, response_model=None,
             responses=answer(Job, 409, status=201, description="Queued."))
def create_job(body: JobRequest, request: Request) -> dict[str, Any]:
    return _manager(request).submit(
        body.playbook,
        limit=body.limit,
        extra_vars=body.extra_vars,
        timeout_s=body.timeout_s,
        requested_by=_who(request),
    )


@router.get("/jobs", response_model=None, responses=answer(list[JobSummary]))
def list_jobs(request: Request, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return _manager(request).list_jobs(limit)


@router.get("/jobs/{job_id}", response_model=None, responses=answer(Job, 404))
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    return _manager(request).get(job_id)


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=None,
             responses=answer(Job, 404, 409, status=202, description="Cancelling."))
def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    return _manager(request).cancel(job_id)


@router.post("/jobs/{job_id}/relaunch", status_code=201, response_model=None,
             responses=answer(Job, 404, 409, status=201, description="Queued."))
def relaunch_job(job_id: str, request: Request) -> dict[str, Any]:
    return _manager(request).relaunch(job_id, requested_by=_who(request))


def _cursor(last_event_id: str | None, after: int | None) -> int:
    """The resume point; a header that is no event number is refused, never read as 0.

    Bounded: a cursor past SQLite's (or JavaScript's) integers failed mid-stream, after 200.
    """
    if last_event_id is None:
        return after or 0
    shown = last_event_id if len(last_event_id) <= 40 else f"{last_event_id[:40]}..."
    if not _EVENT_NUMBER.fullmatch(last_event_id):
        raise InvalidRequest(f"Last-Event-ID {shown!r} is not an event number")
    if len(last_event_id) > 20 or int(last_event_id) > MAX_EVENT:
        raise InvalidRequest(f"Last-Event-ID {shown!r} is out of range (0..{MAX_EVENT})")
    return int(last_event_id)


@router.get(
    "/jobs/{job_id}/events", response_class=EventSourceResponse, responses={
        200: {"description": "Server-Sent Events: `job_event` (data: one event as JSON, id:"
                             " its number), then one `end` with the job's summary."},
        **errors(404)})
async def stream_events(
    job_id: str,
    request: Request,
    # Pattern documented only: _cursor refuses with its own reason (and the range check).
    last_event_id: str | None = Header(None, json_schema_extra={"pattern": r"^[0-9]{1,20}$"},
                                       description=f"Resume after this event (0..{MAX_EVENT})."),
    after: int | None = Query(
        None, ge=0, le=MAX_EVENT, description="Resume after this event number."
    ),
) -> EventSourceResponse:
    """Replay stored events after the cursor, then follow live ones until the job ends."""
    manager = _manager(request)
    await run_in_threadpool(manager.get, job_id)  # 404 before the stream starts
    cursor = _cursor(last_event_id, after)

    async def events() -> Any:
        nonlocal cursor
        while not await request.is_disconnected():
            batch = await run_in_threadpool(manager.events_after, job_id, cursor)
            for ev in batch:
                cursor = ev["seq"]
                yield {"id": str(cursor), "event": "job_event", "data": json.dumps(ev)}
            if batch:
                continue
            job = await run_in_threadpool(manager.get, job_id)
            if job["status"] in ACTIVE:
                await asyncio.sleep(_POLL_S)
                continue
            # Finalisation happens after the last event is stored, so nothing can follow.
            if not await run_in_threadpool(manager.events_after, job_id, cursor):
                summary = {k: job[k] for k in ("id", "status", "rc", "error", "summary")}
                yield {"event": "end", "data": json.dumps(summary)}
                return

    return EventSourceResponse(events(), ping=15)
