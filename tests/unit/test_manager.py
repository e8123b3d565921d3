"""JobManager end to end: real ansible-playbook runs against the local test inventory."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest

from controller.config import Settings
from controller.jobs.errors import InvalidRequest, JobConflict, JobNotFound
from controller.jobs.manager import JobManager
from controller.store import HostLock, Job
from tests.conftest import job_processes, wait_for


def run(manager: JobManager, playbook: str, **kw: object) -> dict:
    job = manager.submit(playbook, **kw)
    return manager.wait(job["id"], timeout=45)


def by_host(job: dict) -> dict[str, dict]:
    return {h["host"]: h for h in job["hosts"]}


def start_sleep(manager: JobManager, **kw: object) -> dict:
    """A job that sits in `sleep 60` on its hosts until canceled (its processes are up)."""
    job = manager.submit("sleep", **kw)
    wait_for(lambda: "sleep" in job_processes(job["id"]))
    return job


def test_ping_records_status_results_events_and_the_host_view(
    manager: JobManager, settings: Settings
) -> None:
    job = run(manager, "ping", requested_by="alice")
    assert job["status"] == "failed" and job["rc"] == 4  # unreach is unreachable
    assert (job["playbook"], job["limit"], job["requested_by"]) == ("ping", None, "alice")
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    hosts = by_host(job)
    assert {n: h["status"] for n, h in hosts.items()} == {
        "local-a": "ok", "local-b": "ok", "unreach": "unreachable"
    }
    assert hosts["local-a"]["result"]["hostname"] == "local-a"
    assert "Connection refused" in hosts["unreach"]["msg"]
    assert job["summary"] == {"ok": 2, "unreachable": 1}

    events = manager.events_after(job["id"], 0)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert events[-1]["event"] == "playbook_on_stats"
    assert [e["seq"] for e in manager.events_after(job["id"], 5)] == seqs[5:]

    view = {h["name"]: h for h in manager.hosts()}
    assert view["local-a"]["facts"]["hostname"] == "local-a"
    assert view["local-a"]["facts"]["python"]["executable"]
    assert view["local-a"]["results"]["ping"]["job_id"] == job["id"]
    assert view["local-a"]["groups"] == ["edge"]
    assert view["unreach"]["last_status"] == "unreachable"
    assert view["unreach"]["facts"] == {}
    assert not (settings.jobs_dir / job["id"]).exists(), "private runner dir must be removed"


def test_host_view_keeps_the_latest_result_of_every_playbook_and_jobs_list_newest_first(
    manager: JobManager,
) -> None:
    first = run(manager, "ping", limit="local-a")
    second = run(manager, "ignore", limit="local-a")
    [host] = manager.hosts()
    assert host["results"]["ping"]["job_id"] == first["id"]
    assert host["results"]["ignore"] == {
        "job_id": second["id"], "status": "ok", "result": {"survived": True}, "msg": None,
        "at": second["finished_at"],
    }
    assert host["facts"]["hostname"] == "local-a"  # facts come from ping, kept across jobs
    assert host["last_job_id"] == second["id"]
    assert [j["id"] for j in manager.list_jobs()] == [second["id"], first["id"]]
    assert "hosts" not in manager.list_jobs()[0]
    with pytest.raises(JobNotFound):
        manager.get("nosuchjob")


def test_ignored_and_rescued_failures_leave_the_job_successful(manager: JobManager) -> None:
    job = run(manager, "ignore", limit="edge")
    assert job["status"] == "successful", job
    assert {h["status"] for h in job["hosts"]} == {"ok"}
    assert all(h["failures"] == 0 and h["result"] == {"survived": True} for h in job["hosts"])


def test_targets_outside_the_play_are_reported_without_a_result(manager: JobManager) -> None:
    job = run(manager, "skip")
    assert job["status"] == "successful"
    hosts = by_host(job)
    assert (hosts["local-a"]["status"], hosts["local-b"]["status"]) == ("ok", "skipped")
    assert hosts["unreach"]["status"] == "skipped"
    assert hosts["unreach"]["msg"] == "no result: the play ran no task on this host"


def test_a_run_with_zero_host_events_is_a_failure_not_a_success(manager: JobManager) -> None:
    job = run(manager, "skip", limit="unreach")  # skip.yml plays on `edge` only
    assert job["status"] == "failed"
    assert job["error"] == "the run finished with zero host events"


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"playbook": "nosuch"}, "unknown playbook 'nosuch'"),
        ({"playbook": "../ping"}, "unknown playbook"),
        ({"playbook": "ping", "limit": "nosuchgroup"}, "matches no host"),
        ({"playbook": "ping", "extra_vars": ["x"]}, "must be a JSON object"),
        ({"playbook": "ping", "extra_vars": {"vault_password": "x"}}, "looks like a secret"),
        ({"playbook": "ping", "timeout_s": 0}, "timeout_s must be between"),
        ({"playbook": "ping", "inventory": Path("/nonexistent.ini")}, "does not exist"),
    ],
)
def test_bad_input_is_refused_before_anything_is_recorded(
    manager: JobManager, kw: dict, reason: str
) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        manager.submit(**kw)
    assert manager.list_jobs() == []


def test_no_inventory_configured(settings: Settings, manager: JobManager) -> None:
    bare = JobManager(Settings(home=settings.home, project_dir=settings.project_dir), manager.store)
    with pytest.raises(InvalidRequest, match="no inventory configured"):
        bare.submit("ping")


def test_timeout_stops_the_run_and_kills_its_processes(manager: JobManager) -> None:
    started = time.monotonic()
    job = manager.submit("sleep", limit="edge", timeout_s=2)
    job = manager.wait(job["id"], timeout=30)
    assert job["status"] == "timeout"
    assert time.monotonic() - started < 15
    assert {h["msg"] for h in job["hosts"]} == {"job timed out before this host finished"}
    assert job_processes(job["id"]) == []


def test_cancel_ends_the_job_as_canceled_with_ansible_gone(
    manager: JobManager, settings: Settings
) -> None:
    job = start_sleep(manager, limit="edge")
    assert manager.get(job["id"])["status"] == "running"
    assert (settings.jobs_dir / job["id"]).is_dir()
    asked = time.monotonic()
    manager.cancel(job["id"])
    done = manager.wait(job["id"], timeout=30)
    # Runner polls cancel once per pexpect wait: ours is 1 s (its default 5 s if ignored).
    assert time.monotonic() - asked < 3.0
    assert done["status"] == "canceled"
    assert {h["msg"] for h in done["hosts"]} == {"job canceled before this host finished"}
    assert {h["status"] for h in done["hosts"]} == {"canceled"}
    wait_for(lambda: job_processes(job["id"]) == [], timeout=5)
    assert not (settings.jobs_dir / job["id"]).exists()
    with pytest.raises(JobConflict, match="already canceled"):
        manager.cancel(job["id"])


def test_busy_hosts_conflict_while_other_hosts_stay_available(manager: JobManager) -> None:
    sleeper = start_sleep(manager, limit="local-a")
    with pytest.raises(JobConflict, match=f"hosts busy in job {sleeper['id']}: local-a"):
        manager.submit("ping", limit="edge")
    assert len(manager.list_jobs()) == 1
    other = run(manager, "ping", limit="local-b")
    assert other["status"] == "successful"
    manager.cancel(sleeper["id"])
    manager.wait(sleeper["id"], timeout=30)
    assert run(manager, "ping", limit="local-a")["status"] == "successful"


def test_failed_and_unreachable_hosts_while_the_other_finishes_then_relaunch_only_those(
    manager: JobManager,
) -> None:
    first = run(manager, "fail_one")
    hosts = by_host(first)
    assert {n: h["status"] for n, h in hosts.items()} == {
        "local-a": "ok", "local-b": "failed", "unreach": "unreachable"
    }
    assert hosts["local-a"]["result"] == {"host": "local-a", "done": True}
    assert hosts["local-b"]["msg"] == "Fail on local-b only: local-b is broken on purpose"
    assert first["status"] == "failed"

    again = manager.relaunch(first["id"], requested_by="bob")
    assert again["targets"] == ["local-b", "unreach"]
    assert again["relaunch_of"] == first["id"]
    assert again["requested_by"] == "bob"
    done = manager.wait(again["id"], timeout=45)
    assert {n: h["status"] for n, h in by_host(done).items()} == {
        "local-b": "failed", "unreach": "unreachable"
    }


def test_relaunch_refusals(manager: JobManager) -> None:
    ok = run(manager, "ping", limit="edge")
    with pytest.raises(JobConflict, match="no failed or unreachable hosts"):
        manager.relaunch(ok["id"])
    with pytest.raises(JobNotFound):
        manager.relaunch("nosuchjob")
    sleeper = start_sleep(manager, limit="local-a")
    with pytest.raises(JobConflict, match="still running"):
        manager.relaunch(sleeper["id"])
    assert len(manager.list_jobs()) == 2


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_jobs_of_a_dead_controller_are_marked_failed_and_free_their_hosts(
    manager: JobManager, settings: Settings
) -> None:
    me = psutil.Process()
    rows = {  # job: (owner pid, owner start, the host it holds)
        "dead0000pid0": (_dead_pid(), me.create_time(), "local-b"),
        "reused000pid": (me.pid, me.create_time() - 1000, "unreach"),  # our pid, another start
        "alive0000job": (me.pid, me.create_time(), "local-a"),
    }
    with manager.store.session() as s:
        for job_id, (pid, started, host) in rows.items():
            s.add(Job(
                id=job_id, playbook="sleep", limit=None, inventory="x",
                targets=[{"name": host}], requested_by="t", status="running",
                timeout_s=60, owner_pid=pid, owner_started=started,
            ))
            s.flush()
            s.add(HostLock(host=host, job_id=job_id))
    leftover = settings.jobs_dir / "dead0000pid0" / "artifacts"
    leftover.mkdir(parents=True)
    (leftover / "command").write_text("{}")

    assert sorted(manager.reconcile_orphans()) == ["dead0000pid0", "reused000pid"]
    for job_id in ("dead0000pid0", "reused000pid"):
        job = manager.get(job_id)
        assert job["status"] == "failed"
        assert "exited before it finished" in job["error"]
        assert job["finished_at"]
    assert manager.get("alive0000job")["status"] == "running"
    with pytest.raises(JobConflict, match="run by another controller process"):
        manager.cancel("alive0000job")
    assert not (settings.jobs_dir / "dead0000pid0").exists()
    # The live one still holds local-a; the dead ones hold nothing.
    with pytest.raises(JobConflict, match="alive0000job"):
        manager.submit("ping", limit="local-a")
    assert run(manager, "ping", limit="local-b")["status"] == "successful"


def test_dead_orphans_never_block_hosts_even_before_reconciliation(manager: JobManager) -> None:
    with manager.store.session() as s:
        s.add(Job(
            id="orphan000001", playbook="sleep", limit=None, inventory="x",
            targets=[{"name": "local-a"}], requested_by="t", status="running",
            timeout_s=60, owner_pid=_dead_pid(), owner_started=1.0,
        ))
        s.flush()
        s.add(HostLock(host="local-a", job_id="orphan000001"))
    # Its owner is dead and it runs no process: its lock is stale, not a busy host.
    assert run(manager, "ping", limit="local-a")["status"] == "successful"


def test_runner_files_hold_no_controller_secret_and_no_env_files(
    manager: JobManager, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEFLEET_API_TOKEN", "tok-3f9a1c-secret")
    monkeypatch.setenv("EDGEFLEET_DATABASE_URL", "postgresql://u:pw-77d2e0@db/edgefleet")
    job = start_sleep(manager, limit="local-a", extra_vars={"sleep_s": 60})
    private = settings.jobs_dir / job["id"]
    files = [p for p in private.rglob("*") if p.is_file()]
    command = next(p for p in files if p.name == "command")
    assert '"PATH"' in command.read_text()  # runner really records the environment here
    assert [p.name for p in (private / "env").iterdir()] == ["settings"]  # no extravars etc.
    for path in files:
        text = path.read_text(errors="replace")
        assert "tok-3f9a1c-secret" not in text, path
        assert "pw-77d2e0" not in text, path
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    manager.cancel(job["id"])
    manager.wait(job["id"], timeout=30)
    assert not private.exists()


def test_a_controller_error_mid_run_still_finalises_and_stops_ansible(
    manager: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_store(*_args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(manager, "_persist", broken_store)
    job = manager.submit("sleep", limit="local-a")
    done = manager.wait(job["id"], timeout=30)
    assert done["status"] == "failed"
    assert done["error"] == "controller error: database went away"
    assert job_processes(job["id"]) == []
    monkeypatch.undo()
    assert run(manager, "ping", limit="local-a")["status"] == "successful"
