"""Job lifecycle: validate, persist, run in a worker thread, stream events, finalise.

The runner thread only enqueues events; this module's consumer persists them in batches,
so a slow database never stalls Ansible. Every job is finalised in a `finally`, and jobs
whose owning process died are marked failed on start (no job stuck "running" forever).
"""

from __future__ import annotations

import getpass
import os
import queue
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controller.config import Settings
from controller.jobs import extravars, playbooks, runs
from controller.jobs.errors import InvalidRequest, JobConflict, JobNotFound
from controller.jobs.events import Fold, HostOutcome, compact
from controller.jobs.inventory import Target, extra_vars_allow, resolve_targets
from controller.jobs.runner import RunOutcome, RunSpec, execute, fork_count, private_dir
from controller.jobs.views import host_dict, iso, job_dict
from controller.store import Host, HostLock, Job, JobEvent, JobHost, Store
from controller.store.models import utcnow

ACTIVE = ("queued", "running")
_BATCH = 200
# Facts from the ping result that describe the host itself (shown in the host view).
_FACT_KEYS = ("hostname", "os", "kernel", "machine", "arch", "python")


def _me() -> tuple[int, float]:
    proc = psutil.Process()
    return proc.pid, proc.create_time()


def _owner_alive(pid: int | None, started: float | None) -> bool:
    """True while the process that launched a job still runs (create time guards pid reuse)."""
    if pid is None or started is None:
        return False
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:
        return False


@dataclass
class _Active:
    """In-process handles of a job this process runs."""

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
        timeout = self.settings.job_timeout_s if timeout_s is None else timeout_s
        if not 1 <= timeout <= 24 * 3600:
            raise InvalidRequest("timeout_s must be between 1 and 86400 seconds")
        targets = resolve_targets(inv, limit, self.settings.ansible_cfg)
        names = {t.name for t in targets}
        extravars.check_reserved(
            variables, lambda: extra_vars_allow(inv, sorted(names), self.settings.ansible_cfg)
        )
        job_id = uuid.uuid4().hex[:12]
        pid, started = _me()
        with self._lock:
            self._release_stale(names)
            try:
                self._insert_job(names, Job(
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
                    ))
            except IntegrityError:
                # Another process took one of these hosts between our check and our insert.
                raise JobConflict("hosts busy: another job took them just now") from None
            active = self._active[job_id] = _Active()
        spec = RunSpec(
            job_id=job_id,
            playbook=book,
            inventory=inv,
            # The resolved names, not the pattern: the run touches exactly the hosts we locked.
            limit=",".join(sorted(names)),
            extra_vars=variables,
            forks=fork_count(len(targets), self.settings.forks),
            timeout_s=timeout,
            work_dir=self.settings.jobs_dir,
            ansible_cfg=self.settings.ansible_cfg,
            fact_cache_dir=self.settings.fact_cache_dir,
        )
        threading.Thread(
            target=self._run, args=(spec, targets, active), daemon=True, name=f"job-{job_id}"
        ).start()
        return self.get(job_id)

    def _insert_job(self, names: set[str], job: Job) -> None:
        """The job and one lock row per host in one transaction: the host_locks primary key
        makes "one active job per host" hold across every process sharing the store."""
        with self.store.session() as s:
            s.add(job)
            s.flush()
            s.add_all(HostLock(host=name, job_id=job.id) for name in sorted(names))

    def _release_stale(self, names: set[str]) -> None:
        """Drop locks whose job no longer runs anything; a live holder is a JobConflict.

        A job whose controller died still holds its hosts while its ansible-playbook runs
        (until reconcile_orphans stops it): a second job must not race the first one."""
        with self.store.session() as s:
            rows = s.execute(select(HostLock, Job).join(Job, HostLock.job_id == Job.id)
                             .where(HostLock.host.in_(names))).all()
            busy: dict[str, list[str]] = {}
            for lock, job in rows:
                if job.status in ACTIVE and self._holds_hosts(job):
                    busy.setdefault(job.id, []).append(lock.host)
                else:
                    s.delete(lock)
            if busy:
                job_id, hosts = next(iter(busy.items()))
                raise JobConflict(f"hosts busy in job {job_id}: {', '.join(sorted(hosts)[:10])}")

    def _holds_hosts(self, job: Job) -> bool:
        if _owner_alive(job.owner_pid, job.owner_started):
            return True
        return bool(runs.processes(private_dir(self.settings.jobs_dir, job.id),
                                   job.run_pid, job.run_started))

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
        with self._lock:
            active = self._active.get(job_id)
        job = self.get(job_id)  # read after: a job that just finished reports "already ..."
        if job["status"] not in ACTIVE:
            raise JobConflict(f"job {job_id} is already {job['status']}")
        if active is None:
            raise JobConflict(f"job {job_id} is run by another controller process (cancel it "
                              "there: edgefleet job cancel ID --controller URL)")
        active.cancel.set()
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """The job once this process has finalised it (or as it stands after `timeout`)."""
        with self._lock:
            active = self._active.get(job_id)
        if active is not None:
            active.done.wait(timeout)
        return self.get(job_id)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel this process's jobs and wait until they are recorded, so none is orphaned."""
        with self._lock:
            actives = list(self._active.values())
        for active in actives:
            active.cancel.set()
        deadline = time.monotonic() + timeout
        for active in actives:
            active.done.wait(max(0.0, deadline - time.monotonic()))

    # ---- running ---------------------------------------------------------------------
    def _run(self, spec: RunSpec, targets: list[Target], active: _Active) -> None:
        """Job-thread body: run, persist events as they come, and always finalise."""
        events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        fold = Fold()
        result: list[RunOutcome] = []
        worker = threading.Thread(
            target=lambda: result.append(execute(spec, events, active.cancel)),
            daemon=True,
            name=f"runner-{spec.job_id}",
        )
        crash: str | None = None
        try:
            with self.store.session() as s:
                job = s.get(Job, spec.job_id)
                assert job is not None
                job.status, job.started_at = "running", utcnow()
            worker.start()
            while worker.is_alive() or not events.empty():
                self._persist(spec.job_id, self._drain(events), fold)
        except Exception as exc:  # noqa: BLE001 - finalise no matter what
            crash = f"controller error: {exc}"
            active.cancel.set()  # never leave ansible-playbook running unrecorded
        try:
            if worker.ident is not None:
                worker.join()
            if crash or not result:
                rc = result[0].rc if result else None
                outcome = RunOutcome("failed", rc, crash or "the runner thread crashed")
            else:
                outcome = result[0]
            self._finalise(spec.job_id, targets, fold, outcome)
        finally:
            with self._lock:
                self._active.pop(spec.job_id, None)
            active.done.set()

    @staticmethod
    def _drain(events: queue.SimpleQueue[dict[str, Any]]) -> list[dict[str, Any]]:
        """Wait briefly for one event, then take whatever else is queued (one DB batch)."""
        batch: list[dict[str, Any]] = []
        try:
            batch.append(events.get(timeout=0.2))
            while len(batch) < _BATCH:
                batch.append(events.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _persist(self, job_id: str, batch: list[dict[str, Any]], fold: Fold) -> None:
        """Store a batch of events and the host rows they changed, in one transaction."""
        if not batch:
            return
        touched: set[str] = set()
        with self.store.session() as s:
            pid = next((e["pid"] for e in batch if isinstance(e.get("pid"), int)), None)
            if fold.run_pid is None and pid:
                # ansible-playbook's own pid (its callback stamps every event): recorded so a
                # restarted controller can find and stop this run (controller/jobs/runs.py).
                fold.run_pid = pid
                job = s.get(Job, job_id)
                if job is not None:
                    job.run_pid, job.run_started = pid, runs.started_at(pid)
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
    def _write_host(
        s: Session, job_id: str, name: str, h: HostOutcome, msg: str | None = None
    ) -> None:
        row = s.get(JobHost, (job_id, name)) or JobHost(job_id=job_id, host=name, status=h.status)
        row.status, row.ok, row.changed, row.failures = h.status, h.ok, h.changed, h.failures
        row.unreachable, row.skipped, row.result = h.unreachable, h.skipped, h.result
        row.msg = msg or h.msg
        s.add(row)

    def _finalise(self, job_id: str, targets: list[Target], fold: Fold, out: RunOutcome) -> None:
        not_run = {
            "canceled": "job canceled before this host finished",
            "timeout": "job timed out before this host finished",
        }.get(out.status, "no result: the play ran no task on this host")
        with self.store.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            job.status, job.rc, job.finished_at = out.status, out.rc, utcnow()
            s.execute(delete(HostLock).where(HostLock.job_id == job_id))
            seen = {n for n, h in fold.hosts.items() if h.seen}
            if out.status == "successful" and not seen:
                job.status, job.error = "failed", "the run finished with zero host events"
            else:
                job.error = out.error
            # A cancel or timeout cuts hosts off mid-play: unless they already failed, they
            # read `canceled`/`timeout`, never a misleading ok.
            interrupted = out.status in ("canceled", "timeout") and not fold.finished
            for t in targets:
                h = fold.hosts.get(t.name) or HostOutcome()
                msg = None if h.seen else not_run
                if interrupted and h.status not in ("failed", "unreachable"):
                    h.status, msg = out.status, not_run
                self._write_host(s, job_id, t.name, h, msg)
                if h.seen:
                    self._update_host_view(s, job, t, h)

    @staticmethod
    def _update_host_view(s: Session, job: Job, target: Target, h: HostOutcome) -> None:
        """Latest status and result per playbook; facts come from the ping playbook's result."""
        host = s.get(Host, target.name) or Host(name=target.name, facts={}, results={})
        host.address, host.groups = target.address, list(target.groups)
        host.last_status, host.last_job_id, host.updated_at = h.status, job.id, utcnow()
        results = dict(host.results or {})
        results[job.playbook] = {
            "job_id": job.id,
            "status": h.status,
            "result": h.result,
            "msg": h.msg,
            "at": iso(job.finished_at),
        }
        host.results = results
        if job.playbook == "ping" and h.result:
            host.facts = {k: h.result[k] for k in _FACT_KEYS if k in h.result}
        s.add(host)

    # ---- recovery --------------------------------------------------------------------
    def reconcile_orphans(self) -> list[str]:
        """Close jobs whose owning controller process is gone: stop their ansible-playbook if
        it still runs (process group), mark them failed, free their hosts, drop their dirs."""
        orphaned: list[str] = []
        with self.store.session() as s:
            for job in s.scalars(select(Job).where(Job.status.in_(ACTIVE))):
                if _owner_alive(job.owner_pid, job.owner_started):
                    continue
                stopped = runs.stop(runs.processes(private_dir(self.settings.jobs_dir, job.id),
                                                   job.run_pid, job.run_started))
                job.status, job.finished_at = "failed", utcnow()
                job.error = "the controller process running this job exited before it finished"
                if stopped:
                    job.error += f"; its ansible-playbook was stopped (pid {stopped[0]})"
                s.execute(delete(HostLock).where(HostLock.job_id == job.id))
                orphaned.append(job.id)
        for job_id in orphaned:
            # May still hold runner's artifacts/<id>/command, which records the environment.
            shutil.rmtree(private_dir(self.settings.jobs_dir, job_id), ignore_errors=True)
        return orphaned

    # ---- reading ---------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"job {job_id} not found")
            hosts = s.scalars(
                select(JobHost).where(JobHost.job_id == job_id).order_by(JobHost.host)
            ).all()
            return job_dict(job, hosts)

    def list_jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.store.session() as s:
            jobs = s.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit)).all()
            counts: dict[str, dict[str, int]] = {j.id: {} for j in jobs}
            rows = s.execute(select(JobHost.job_id, JobHost.status, func.count())
                             .where(JobHost.job_id.in_(list(counts)))
                             .group_by(JobHost.job_id, JobHost.status))
            for job_id, status, n in rows:
                counts[job_id][status] = n
            return [{**job_dict(j, None), "summary": counts[j.id]} for j in jobs]

    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Stored events with `seq` > `after`, in order: the SSE replay cursor."""
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
            return [host_dict(h) for h in s.scalars(select(Host).order_by(Host.name))]

    def host(self, name: str) -> dict[str, Any]:
        with self.store.session() as s:
            h = s.get(Host, name)
            if h is None:
                raise JobNotFound(f"host {name!r} has not been seen by any job")
            return host_dict(h)


def current_user() -> str:
    """Who launched a CLI job (recorded on the job, never a secret)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()
