"""Where CLI job commands go: a running controller (REST + its SSE stream) or, with no
controller named, an in-process JobManager on this machine's EDGEFLEET_HOME.

With `--controller URL` (or EDGEFLEET_CONTROLLER_URL) the CLI and the dashboard share one
store: a job started from a shell shows on the Jobs page and the other way round.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
from httpx_sse import SSEError, connect_sse

from controller.cli import remote, runtime
from controller.jobs.manager import ACTIVE, JobManager, current_user
from controller.registry_service import deployment
from controller.registry_service.deployment import DeploymentRequest
from controller.registry_service.settings import RegistrySettings

_POLL_S = 0.25
_JOB_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_RECONNECTS = 5
_LOCAL_HINT = "set EDGEFLEET_REGISTRY_URL, or deploy through a controller (--controller URL)"


class JobsClient(Protocol):
    """The job operations every CLI command needs, whichever side runs the job."""

    where: str

    def submit(self, playbook: str, limit: str | None, extra_vars: dict[str, Any],
               timeout_s: int | None) -> dict[str, Any]: ...
    def deploy(self, body: DeploymentRequest) -> dict[str, Any]: ...
    def get(self, job_id: str) -> dict[str, Any]: ...
    def list(self, limit: int) -> list[dict[str, Any]]: ...
    def cancel(self, job_id: str) -> dict[str, Any]: ...
    def relaunch(self, job_id: str) -> dict[str, Any]: ...
    def events(self, job_id: str) -> Iterator[dict[str, Any]]: ...


class LocalJobs:
    """Jobs run by this process; the store is EDGEFLEET_HOME's (or EDGEFLEET_DATABASE_URL)."""

    def __init__(self, mgr: JobManager, sleep: Callable[[float], None] = time.sleep) -> None:
        self.mgr = mgr
        self.where = f"local store {mgr.settings.db_url}"
        self._sleep = sleep

    def submit(self, playbook: str, limit: str | None, extra_vars: dict[str, Any],
               timeout_s: int | None) -> dict[str, Any]:
        return self.mgr.submit(playbook, limit=limit, extra_vars=extra_vars,
                               timeout_s=timeout_s, requested_by=current_user())

    def deploy(self, body: DeploymentRequest) -> dict[str, Any]:
        return deployment.submit(RegistrySettings.from_env(), self.mgr, body,
                                 requested_by=current_user(), missing_hint=_LOCAL_HINT)

    def get(self, job_id: str) -> dict[str, Any]:
        return self.mgr.get(job_id)

    def list(self, limit: int) -> list[dict[str, Any]]:
        return self.mgr.list_jobs(limit)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.mgr.cancel(job_id)

    def relaunch(self, job_id: str) -> dict[str, Any]:
        return self.mgr.relaunch(job_id, requested_by=current_user())

    def events(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Stored events in order until the job has ended and nothing more can follow."""
        cursor = 0
        while True:
            batch = self.mgr.events_after(job_id, cursor)
            yield from batch
            if batch:
                cursor = batch[-1]["seq"]
                continue
            if self.mgr.get(job_id)["status"] not in ACTIVE:
                if not self.mgr.events_after(job_id, cursor):
                    return
                continue
            self._sleep(_POLL_S)


class RemoteJobs:
    """Jobs on a running controller, through the same REST API the dashboard uses."""

    def __init__(self, url: str) -> None:
        self.url = remote.check_url(url)
        self.where = f"controller {self.url}"

    def submit(self, playbook: str, limit: str | None, extra_vars: dict[str, Any],
               timeout_s: int | None) -> dict[str, Any]:
        return remote.post(self.url, "/api/jobs", {"playbook": playbook, "limit": limit,
                                                   "extra_vars": extra_vars,
                                                   "timeout_s": timeout_s})

    def deploy(self, body: DeploymentRequest) -> dict[str, Any]:
        return remote.post(self.url, "/api/deployments", body.model_dump(exclude_none=True))

    def get(self, job_id: str) -> dict[str, Any]:
        return remote.get(self.url, f"/api/jobs/{_segment(job_id)}")

    def list(self, limit: int) -> list[dict[str, Any]]:
        return remote.get(self.url, f"/api/jobs?limit={limit}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return remote.post(self.url, f"/api/jobs/{_segment(job_id)}/cancel", {})

    def relaunch(self, job_id: str) -> dict[str, Any]:
        return remote.post(self.url, f"/api/jobs/{_segment(job_id)}/relaunch", {})

    def events(self, job_id: str) -> Iterator[dict[str, Any]]:
        """The job's SSE stream until its `end` event; a dropped connection resumes from
        the last event seen (Last-Event-ID), a bounded number of times."""
        cursor, drops = 0, 0
        path = f"/api/jobs/{_segment(job_id)}/events"
        with httpx.Client(base_url=self.url, headers=remote.auth_headers(),
                          timeout=httpx.Timeout(30, read=60)) as client:
            while True:
                headers = {"Last-Event-ID": str(cursor)} if cursor else {}
                try:
                    with connect_sse(client, "GET", path, headers=headers) as source:
                        if not source.response.is_success:
                            source.response.read()
                            remote.raise_for_answer(source.response, self.url, path)
                        for sse in source.iter_sse():
                            if sse.event == "end":
                                return
                            if sse.event == "job_event":
                                event = json.loads(sse.data)
                                cursor = event["seq"]
                                yield event
                except (httpx.TransportError, SSEError) as exc:
                    drops += 1
                    if drops > _RECONNECTS:
                        raise remote.ControllerRequestError(
                            f"controller {self.url}{path}: stream lost {drops} times: "
                            f"{exc}") from None


def _segment(job_id: str) -> str:
    """A job id is hex; anything else would be a path of its own on the controller."""
    if not _JOB_ID.fullmatch(job_id):
        raise remote.ControllerRequestError(f"job id {job_id!r} is not a job id")
    return job_id


def connect(controller: str | None, inventory: Path | None = None) -> JobsClient:
    """The controller named, else this machine's store (reconciling orphaned runs first)."""
    if controller:
        if inventory is not None:
            raise remote.ControllerRequestError(
                "--inventory is the controller's own setting; leave it out with --controller")
        return RemoteJobs(controller)
    return LocalJobs(runtime.manager(inventory))
