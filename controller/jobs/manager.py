"""Job lifecycle: validate, persist, run in a worker thread, stream events, finalise.

The runner thread only enqueues events; this module's consumer persists them in batches,
so a slow database never stalls Ansible. Every job is finalised in a `finally`, and jobs
whose owning process died are marked failed on start (no job stuck "running" forever).
"""

from __future__ import annotations

import getpass
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from controller.config import Settings
from controller.jobs import extravars, playbooks
from controller.jobs.errors import InvalidRequest, JobConflict, JobNotFound
from controller.jobs.events import Fold, HostOutcome, compact
from controller.jobs.inventory import Target, resolve_targets
from controller.jobs.runner import RunOutcome, RunSpec, execute, fork_count
from controller.store import Host, Job, JobEvent, JobHost, Store
from controller.store.models import utcnow

ACTIVE = ("queued", "running")
_BATCH = 200
# Facts from the ping result that describe the host itself (shown in the host view).
_FACT_KEYS = ("hostname", "os", "kernel", "machine", "arch", "python")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _me() -> tuple[int, float]:
    proc = psutil.Process()
    return proc.pid, proc.create_time()


@dataclass
class _Active:
    job_id: str
    targets: set[str]
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class JobManager:
    """Owns running jobs for one controller process (API server or CLI)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)

    # ---- launching -------------------------------------------------------------------
    def submit(
        self,
        playbook: str,
        *,
        inventory: Path | None = None,
        limit: str | None = None,
        extra_vars: dict[str, Any] | None = None,
        requested_by: str | None = None,
        timeout_s: int | None = None,
        relaunch_of: str | None = None,
    ) -> dict[str, Any]:
        """Validate everything up front, then start the job; nothing is half-done on error."""
        book = playbooks.resolve(self.settings.playbook_dir, playbook)
        inv = inventory or self.settings.inventory
        if inv is None:
            raise InvalidRequest(
                "no inventory configured (pass --inventory or set EDGEFLEET_INVENTORY)"
            )
        inv = Path(inv).resolve()
        variables = extravars.validate(extra_vars)
        timeout = timeout_s or self.settings.job_timeout_s
        if not 1 <= timeout <= 24 * 3600:
            raise InvalidRequest("timeout_s must be between 1 and 86400 seconds")
        targets = resolve_targets(inv, limit)
        names = {t.name for t in targets}
        job_id = uuid.uuid4().hex[:12]
        pid, started = _me()
        with self._lock:
            for other in self._active.values():
                if busy := sorted(names & other.targets):
                    raise JobConflict(f"hosts busy in job {other.job_id}: {', '.join(busy[:10])}")
            active = _Active(job_id, names)
            self._active[job_id] = active
            with self.store.session() as s:
                s.add(
                    Job(
                        id=job_id,
                        playbook=book.stem,
                        limit=limit,
                        inventory=str(inv),
                        extra_vars=variables,
                        targets=[t.as_dict() for t in targets],
                        requested_by=requested_by or getpass.getuser(),
                        status="queued",
                        timeout_s=timeout,
                        relaunch_of=relaunch_of,
                        owner_pid=pid,
                        owner_started=started,
                    )
                )
        spec = RunSpec(
            job_id=job_id,
            playbook=book,
            inventory=inv,
            limit=limit,
            extra_vars=variables,
            forks=fork_count(len(targets)),
            timeout_s=timeout,
            work_dir=self.settings.jobs_dir,
            ansible_cfg=self.settings.ansible_cfg,
            fact_cache_dir=self.settings.fact_cache_dir,
        )
        threading.Thread(
            target=self._run, args=(spec, targets, active), daemon=True, name=f"job-{job_id}"
        ).start()
        return self.get(job_id)

    def relaunch(self, job_id: str, requested_by: str | None = None) -> dict[str, Any]:
        """Re-run a finished job on its failed and unreachable hosts only."""
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"job {job_id} not found")
            if job.status in ACTIVE:
                raise JobConflict(f"job {job_id} is still {job.status}")
            hosts = s.scalars(
                select(JobHost.host)
                .where(JobHost.job_id == job_id, JobHost.status.in_(("failed", "unreachable")))
                .order_by(JobHost.host)
            ).all()
            playbook, inventory, variables, timeout = (
                job.playbook,
                Path(job.inventory),
                job.extra_vars,
                job.timeout_s,
            )
        if not hosts:
            raise JobConflict(f"job {job_id} has no failed or unreachable hosts to relaunch")
        return self.submit(
            playbook,
            inventory=inventory,
            limit=",".join(hosts),
            extra_vars=variables,
            requested_by=requested_by,
            timeout_s=timeout,
            relaunch_of=job_id,
        )

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Ask a running job to stop; runner kills ansible-playbook on its next loop."""
        job = self.get(job_id)
        if job["status"] not in ACTIVE:
            raise JobConflict(f"job {job_id} is already {job['status']}")
        with self._lock:
            active = self._active.get(job_id)
        if active is None:
            raise JobConflict(f"job {job_id} is run by another controller process")
        active.cancel.set()
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        with self._lock:
            active = self._active.get(job_id)
        if active is not None:
            active.done.wait(timeout)
        return self.get(job_id)

    # ---- running ---------------------------------------------------------------------
    def _run(self, spec: RunSpec, targets: list[Target], active: _Active) -> None:
        events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        fold = Fold()
        outcome = RunOutcome("failed", None, "controller error before the run started")
        try:
            with self.store.session() as s:
                job = s.get(Job, spec.job_id)
                assert job is not None
                job.status, job.started_at = "running", utcnow()
            result: list[RunOutcome] = []
            worker = threading.Thread(
                target=lambda: result.append(execute(spec, events, active.cancel)), daemon=True
            )
            worker.start()
            while worker.is_alive() or not events.empty():
                self._persist(spec.job_id, self._drain(events, worker), fold)
            outcome = result[0] if result else outcome
        except Exception as exc:  # noqa: BLE001 - finalise no matter what
            outcome = RunOutcome("failed", None, f"controller error: {exc}")
        finally:
            self._finalise(spec.job_id, targets, fold, outcome)
            with self._lock:
                self._active.pop(spec.job_id, None)
            active.done.set()

    @staticmethod
    def _drain(events: queue.SimpleQueue[dict[str, Any]], worker: threading.Thread) -> list[dict]:
        batch: list[dict[str, Any]] = []
        try:
            batch.append(events.get(timeout=0.2))
            while len(batch) < _BATCH:
                batch.append(events.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _persist(self, job_id: str, batch: list[dict[str, Any]], fold: Fold) -> None:
        if not batch:
            return
        touched: set[str] = set()
        with self.store.session() as s:
            for raw in batch:
                ev = compact(raw)
                s.add(
                    JobEvent(
                        job_id=job_id,
                        seq=ev["seq"],
                        event=ev["event"],
                        host=ev.get("host"),
                        task=ev.get("task"),
                        data=ev,
                    )
                )
                if changed := fold.apply(ev):
                    touched.add(changed)
                if ev["event"] == "playbook_on_stats":
                    touched |= set(fold.hosts)
            for name in touched:
                self._write_host(s, job_id, name, fold.hosts[name])

    @staticmethod
    def _write_host(s: Any, job_id: str, name: str, h: HostOutcome, msg: str | None = None) -> None:
        row = s.get(JobHost, (job_id, name)) or JobHost(job_id=job_id, host=name, status=h.status)
        row.status, row.ok, row.changed, row.failures = h.status, h.ok, h.changed, h.failures
        row.unreachable, row.skipped, row.result = h.unreachable, h.skipped, h.result
        row.msg = msg or h.msg
        s.add(row)

    def _finalise(self, job_id: str, targets: list[Target], fold: Fold, out: RunOutcome) -> None:
        not_run = {"canceled": "not run: job canceled", "timeout": "not run: job timed out"}.get(
            out.status, "not run: the play stopped before reaching this host"
        )
        with self.store.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            job.status, job.rc, job.finished_at = out.status, out.rc, utcnow()
            seen = {n for n, h in fold.hosts.items() if h.seen}
            if out.status == "successful" and not seen:
                job.status, job.error = "failed", "the run finished with zero host events"
            else:
                job.error = out.error
            for t in targets:
                h = fold.hosts.get(t.name) or HostOutcome()
                self._write_host(s, job_id, t.name, h, None if h.seen else not_run)
                if h.seen:
                    self._update_host_view(s, job, t, h)

    @staticmethod
    def _update_host_view(s: Any, job: Job, target: Target, h: HostOutcome) -> None:
        host = s.get(Host, target.name) or Host(name=target.name, facts={}, results={})
        host.address, host.groups = target.address, list(target.groups)
        host.last_status, host.last_job_id, host.updated_at = h.status, job.id, utcnow()
        results = dict(host.results or {})
        results[job.playbook] = {
            "job_id": job.id,
            "status": h.status,
            "result": h.result,
            "msg": h.msg,
            "at": _iso(job.finished_at),
        }
        host.results = results
        if job.playbook == "ping" and h.result:
            host.facts = {k: h.result[k] for k in _FACT_KEYS if k in h.result}
        s.add(host)

    # ---- recovery --------------------------------------------------------------------
    def reconcile_orphans(self) -> list[str]:
        """Mark jobs whose owning controller process is gone as failed."""
        orphaned: list[str] = []
        with self.store.session() as s:
            for job in s.scalars(select(Job).where(Job.status.in_(ACTIVE))):
                if self._owner_alive(job.owner_pid, job.owner_started):
                    continue
                job.status, job.finished_at = "failed", utcnow()
                job.error = "the controller process running this job exited before it finished"
                orphaned.append(job.id)
        return orphaned

    @staticmethod
    def _owner_alive(pid: int | None, started: float | None) -> bool:
        if pid is None or started is None:
            return False
        try:
            return abs(psutil.Process(pid).create_time() - started) < 1.0
        except psutil.Error:
            return False

    # ---- reading ---------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"job {job_id} not found")
            hosts = s.scalars(
                select(JobHost).where(JobHost.job_id == job_id).order_by(JobHost.host)
            ).all()
            return self._job_dict(job, hosts)

    def list_jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.store.session() as s:
            jobs = s.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit)).all()
            return [self._job_dict(j, None) for j in jobs]

    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
        with self.store.session() as s:
            if s.get(Job, job_id) is None:
                raise JobNotFound(f"job {job_id} not found")
            rows = s.scalars(
                select(JobEvent)
                .where(JobEvent.job_id == job_id, JobEvent.seq > after)
                .order_by(JobEvent.seq)
                .limit(limit)
            ).all()
            return [r.data for r in rows]

    def hosts(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return [self._host_dict(h) for h in s.scalars(select(Host).order_by(Host.name))]

    def host(self, name: str) -> dict[str, Any]:
        with self.store.session() as s:
            h = s.get(Host, name)
            if h is None:
                raise JobNotFound(f"host {name!r} has not been seen by any job")
            return self._host_dict(h)

    @staticmethod
    def _host_dict(h: Host) -> dict[str, Any]:
        return {
            "name": h.name,
            "address": h.address,
            "groups": h.groups,
            "facts": h.facts,
            "last_status": h.last_status,
            "last_job_id": h.last_job_id,
            "updated_at": _iso(h.updated_at),
            "results": h.results,
        }

    @staticmethod
    def _job_dict(job: Job, hosts: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": job.id,
            "playbook": job.playbook,
            "limit": job.limit,
            "status": job.status,
            "rc": job.rc,
            "error": job.error,
            "requested_by": job.requested_by,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
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
                }
                for h in hosts
            ]
            summary: dict[str, int] = {}
            for h in hosts:
                summary[h.status] = summary.get(h.status, 0) + 1
            out["summary"] = summary
        return out


def current_user() -> str:
    """Who launched a CLI job (recorded on the job, never a secret)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    """Bounded poll used by callers that watch a job from outside its process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
