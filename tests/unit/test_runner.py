"""runner.execute on its own: private dir lifecycle, non-blocking events, env hygiene."""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path

import pytest

from controller.jobs.runner import RunSpec, _envvars, execute, fork_count


def spec(project: Path, tmp_path: Path, playbook: str, **kw: object) -> RunSpec:
    values: dict = {
        "job_id": "job1",
        "playbook": project / "playbooks" / f"{playbook}.yml",
        "inventory": project / "inventory.ini",
        "limit": None,
        "extra_vars": {},
        "forks": 3,
        "timeout_s": 60,
        "work_dir": tmp_path / "jobs",
        "ansible_cfg": project / "ansible.cfg",
        "fact_cache_dir": tmp_path / "facts",
    }
    values.update(kw)
    return RunSpec(**values)


def test_events_queue_up_even_when_nobody_consumes_them(project: Path, tmp_path: Path) -> None:
    events: queue.SimpleQueue[dict] = queue.SimpleQueue()
    outcome = execute(spec(project, tmp_path, "fail_one"), events, threading.Event())
    assert (outcome.status, outcome.rc, outcome.error) == ("failed", 4, None)
    got = [events.get_nowait() for _ in range(events.qsize())]
    assert [e["counter"] for e in got] == list(range(1, len(got) + 1))
    assert got[-1]["event"] == "playbook_on_stats"
    assert got[-1]["event_data"]["dark"] == {"unreach": 1}
    assert not (tmp_path / "jobs" / "job1").exists()


def test_successful_run_and_extra_vars_reach_the_playbook(project: Path, tmp_path: Path) -> None:
    events: queue.SimpleQueue[dict] = queue.SimpleQueue()
    run = spec(project, tmp_path, "sleep", limit="local-a", extra_vars={"sleep_s": 0})
    assert execute(run, events, threading.Event()).status == "successful"
    results = []
    while not events.empty():
        res = events.get().get("event_data", {}).get("res") or {}
        results.append((res.get("ansible_facts") or {}).get("edgefleet_result"))
    assert {"slept": "0"} in results


def test_fact_cache_outlives_the_job_dir(project: Path, tmp_path: Path) -> None:
    run = spec(project, tmp_path, "cache_fact", limit="local-a", extra_vars={"probe": "abc"})
    assert execute(run, queue.SimpleQueue(), threading.Event()).status == "successful"
    assert not (tmp_path / "jobs" / "job1").exists()
    cached = json.loads((tmp_path / "facts" / "local-a").read_text())
    assert cached["edgefleet_probe"] == "abc"


def test_a_second_run_with_the_same_job_dir_is_refused(project: Path, tmp_path: Path) -> None:
    (tmp_path / "jobs" / "job1").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        execute(spec(project, tmp_path, "skip"), queue.SimpleQueue(), threading.Event())


def test_env_blanks_controller_secrets_and_uses_the_venv(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEFLEET_API_TOKEN", "t0k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "k3y")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    env = _envvars(spec(project, tmp_path, "skip"))
    assert env["EDGEFLEET_API_TOKEN"] == "" and env["AWS_SECRET_ACCESS_KEY"] == ""
    assert "SSH_AUTH_SOCK" not in env  # inherited untouched: ssh needs the agent
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["ANSIBLE_CONFIG"] == str(project / "ansible.cfg")
    assert "ANSIBLE_CONFIG" not in _envvars(spec(project, tmp_path, "skip", ansible_cfg=None))


def test_fork_count_is_one_per_host_within_bounds() -> None:
    assert fork_count(1) == 1
    assert fork_count(3) == 3
    assert 5 <= fork_count(10_000) <= 200
