"""A controller killed with SIGKILL leaves its ansible-playbook running: until a restart stops
it, its hosts stay busy for every process; the restart ends the run and frees them. And two
controllers asking for one host at once: exactly one gets it (the lock is the database's)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from controller.config import Settings
from controller.jobs import runs
from controller.jobs.errors import JobConflict
from controller.jobs.manager import JobManager
from controller.store import Job, Store
from tests.conftest import job_processes, wait_for

EDGEFLEET = Path(sys.executable).parent / "edgefleet"
pytestmark = pytest.mark.backends


def _running_job(store: Store) -> Job | None:
    with store.session() as s:
        job = s.query(Job).filter(Job.status == "running").one_or_none()
        if job is not None:
            s.expunge(job)
        return job


def test_a_killed_controllers_run_keeps_its_hosts_until_a_restart_stops_it(
    settings: Settings, manager: JobManager,
) -> None:
    env = dict(os.environ, EDGEFLEET_HOME=str(settings.home),
               EDGEFLEET_PROJECT_DIR=str(settings.project_dir))
    if settings.database_url:
        env["EDGEFLEET_DATABASE_URL"] = settings.database_url
    cli = subprocess.Popen(
        [str(EDGEFLEET), "run", "sleep", "--inventory", str(settings.inventory),
         "--limit", "local-a", "-e", json.dumps({"sleep_s": 120}), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (job := _running_job(manager.store)) is not None
                 and job.run_pid is not None, timeout=60)
        job = _running_job(manager.store)
        assert job is not None
        wait_for(lambda: "sleep" in job_processes(job.id), timeout=60)
        cli.send_signal(signal.SIGKILL)  # the crash: nothing of the CLI runs after this
        cli.wait(10)
        run = psutil.Process(job.run_pid)
        assert run.is_running() and "ansible-playbook" in " ".join(run.cmdline())

        # The orphan still runs: its host is busy for this (another) controller process.
        with pytest.raises(JobConflict, match=f"hosts busy in job {job.id}: local-a"):
            manager.submit("ping", limit="local-a")

        assert manager.reconcile_orphans() == [job.id]
        closed = manager.get(job.id)
        assert closed["status"] == "failed"
        assert f"its ansible-playbook was stopped (pid {job.run_pid})" in closed["error"]
        assert job_processes(job.id) == []  # the whole process group is gone
        assert not (settings.jobs_dir / job.id).exists()
        follow_up = manager.submit("ping", limit="local-a")
        assert manager.wait(follow_up["id"], timeout=120)["status"] == "successful"
    finally:
        if cli.poll() is None:
            cli.kill()
        runs.stop(runs.processes(settings.jobs_dir))  # whatever a failed check left running


def test_four_controllers_asking_for_one_host_at_once_get_it_once(settings: Settings) -> None:
    stores = [Store(settings.db_url) for _ in range(4)]
    managers = [JobManager(settings, s) for s in stores]
    start = threading.Barrier(len(managers))
    won, lost = [], []

    def ask(mgr: JobManager) -> None:
        start.wait()
        try:
            won.append(mgr.submit("sleep", limit="local-b", extra_vars={"sleep_s": 30}))
        except JobConflict as exc:
            lost.append(str(exc))

    threads = [threading.Thread(target=ask, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert len(won) == 1 and len(lost) == len(managers) - 1, (won, lost)
        assert all("hosts busy" in msg for msg in lost)
    finally:
        for mgr, store in zip(managers, stores, strict=True):
            mgr.shutdown()
            store.dispose()
