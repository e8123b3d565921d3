"""What starting an experiment refuses before anything is deployed, records across a
restart, and load.yml for real on this machine (the test project's local hosts)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.benchmarks.service import NoResults
from controller.config import Settings
from controller.experiment.errors import DeviceUnknown, ExperimentNotFound, NoTelemetry
from controller.experiment.service import ExperimentService, ExperimentSpec
from controller.jobs.manager import JobManager
from controller.registry_service.settings import RegistrySettings
from controller.selection.algorithm import InvalidPolicy
from controller.store import Store
from registry.errors import NotConfigured
from tests.clock import T0
from tests.unit.experiment.conftest import Fleet

REPO = Path(__file__).resolve().parents[3]
SPEC = ExperimentSpec(budget_ms=120, max_acc_drop=10, mode="points", limit="local-a")


def service(manager: JobManager, fleet: Fleet, url: str | None = None) -> ExperimentService:
    return ExperimentService(manager, fleet.telemetry, fleet.benchmarks,
                             RegistrySettings(url=url), clock=fleet.clock)


def test_start_refuses_what_would_fail_midway(manager: JobManager, fleet: Fleet) -> None:
    svc = service(manager, fleet)
    with pytest.raises(InvalidPolicy):
        svc.start(ExperimentSpec(budget_ms=120, max_acc_drop=0.5, mode="relative",
                                 objective="fastest"), "test")  # type: ignore[arg-type]
    with pytest.raises(NoResults, match="no benchmark results stored for local-a"):
        svc.start(SPEC, "test")
    fleet.benchmarks.add("local-a", fleet.results("gpu-01"), None)
    with pytest.raises(NoTelemetry, match="local-a has sent no telemetry"):
        svc.start(SPEC, "test")
    fleet.push("local-a", busy=0.1)
    with pytest.raises(NotConfigured, match="configure the controller's registry"):
        svc.start(SPEC, "test")
    with pytest.raises(DeviceUnknown, match="load device 'local-b' is not one of the hosts"):
        service(manager, fleet, "http://127.0.0.1:1").start(
            ExperimentSpec(budget_ms=120, max_acc_drop=10, mode="points", limit="local-a",
                           load_device="local-b"), "test")
    assert svc.list() == []
    with pytest.raises(ExperimentNotFound):
        svc.get("0123456789ab")


def test_a_restart_marks_a_running_record_failed(manager: JobManager, fleet: Fleet) -> None:
    folder = manager.settings.home / "experiments"
    folder.mkdir(parents=True)
    (folder / "0123456789ab.json").write_text(json.dumps(
        {"id": "0123456789ab", "status": "running", "created_at": "2026-09-21T12:00:00+00:00",
         "finished_at": None, "error": None}))
    [record] = service(manager, fleet).list()
    assert record["status"] == "failed" and "controller stopped" in record["error"]
    assert record["finished_at"] == datetime.fromtimestamp(T0, UTC).isoformat()  # its clock


def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if Path(f"/proc/{p}").exists()
            and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]


@pytest.fixture
def repo_manager(settings: Settings) -> Iterator[JobManager]:
    """The shipped playbooks (load.yml) against the test project's local hosts."""
    store = Store(settings.db_url)
    mgr = JobManager(replace(settings, project_dir=REPO), store)
    yield mgr
    mgr.shutdown()
    store.dispose()


def test_load_playbook_starts_bounded_workers_and_stop_kills_them(
        repo_manager: JobManager) -> None:
    manager = repo_manager
    start = manager.submit("load", limit="local-a", extra_vars={
        "edgefleet_load_state": "started", "edgefleet_load_workers": 2,
        "edgefleet_load_seconds": 60})
    done = manager.wait(start["id"], timeout=120)
    assert done["status"] == "successful", done
    result = done["hosts"][0]["result"]
    pids = result["pids"]
    assert result["state"] == "started" and len(pids) == 2 and result["seconds"] == 60
    assert _alive(pids) == pids
    stop = manager.wait(manager.submit("load", limit="local-a", extra_vars={
        "edgefleet_load_state": "stopped"})["id"], timeout=120)
    assert stop["status"] == "successful" and sorted(stop["hosts"][0]["result"]["stopped"]) == (
        sorted(pids))
    deadline = time.monotonic() + 10
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(pids) == []


def test_load_playbook_refuses_unbounded_requests(repo_manager: JobManager) -> None:
    manager = repo_manager
    done = manager.wait(manager.submit("load", limit="local-a", extra_vars={
        "edgefleet_load_state": "started", "edgefleet_load_seconds": 86400})["id"],
        timeout=120)
    assert done["status"] == "failed"
    assert "1..3600 seconds" in (done["hosts"][0]["msg"] or "")
