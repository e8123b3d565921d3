"""The CLI as a client of a running controller (`--controller URL` or
EDGEFLEET_CONTROLLER_URL): jobs started from a shell are the dashboard's jobs, followed live
over the SSE stream, listed, shown, canceled and relaunched there."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.store import Store
from controller.telemetry import tokens
from tests.browser.conftest import LocalController, local_controller
from tests.conftest import job_processes, wait_for
from tests.unit.telemetry.payloads import body


@pytest.fixture(scope="module")
def ctl(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalController]:
    with local_controller(project, tmp_path_factory.mktemp("cli-remote-home")) as c:
        yield c


def cli(ctl: LocalController, *args: str, url: bool = True):
    env = {"EDGEFLEET_API_TOKEN": ctl.token, "EDGEFLEET_HOME": str(ctl.home / "not-used")}
    if url:
        env["EDGEFLEET_CONTROLLER_URL"] = ctl.url
    return CliRunner().invoke(app, list(args), env=env)


def test_a_run_from_the_shell_is_the_controllers_job(ctl: LocalController) -> None:
    res = cli(ctl, "run", "fail_one", "-l", "edge", "-e", "note=from-cli")
    assert res.exit_code == 1, res.output  # local-b fails on purpose
    # Off a terminal each finished task is a line as it happens, then the table.
    assert "local-a: Reach the host → ok" in res.stdout
    assert "local-b: Fail on local-b only → failed" in res.stdout
    with ctl.client() as c:
        [job] = [j for j in c.get("/api/jobs").json() if j["playbook"] == "fail_one"]
    assert job["extra_vars"] == {"note": "from-cli"} and job["status"] == "failed"
    assert job["id"] in res.stdout
    assert not (ctl.home / "not-used").exists()  # nothing went to a local store

    listed = cli(ctl, "jobs", "--json")
    assert listed.exit_code == 0 and job["id"] in [j["id"] for j in json.loads(listed.stdout)]
    table = cli(ctl, "jobs")
    assert job["id"] in table.stdout and "1 failed 1 ok" in table.stdout

    shown = cli(ctl, "job", "show", job["id"])
    assert shown.exit_code == 0
    assert "local-b is broken on purpose" in shown.stdout and "by api:127.0.0.1" in shown.stdout

    again = cli(ctl, "job", "relaunch", job["id"], "--json")
    relaunched = json.loads(again.stdout)
    assert again.exit_code == 1
    assert relaunched["relaunch_of"] == job["id"] and relaunched["targets"] == ["local-b"]


def test_a_remote_job_is_canceled_from_another_shell(ctl: LocalController) -> None:
    with ctl.client() as c:
        job = c.post("/api/jobs", json={"playbook": "sleep", "limit": "local-a"}).json()
    wait_for(lambda: "sleep" in job_processes(job["id"]), timeout=30)
    res = cli(ctl, "job", "cancel", job["id"])
    assert res.exit_code == 0 and "cancel requested" in res.stdout
    final = ctl.wait_job(job["id"], timeout=30)
    assert final["status"] == "canceled"
    again = cli(ctl, "job", "cancel", job["id"])
    assert again.exit_code == 2 and "is already canceled" in again.stderr


def test_the_flag_wins_over_the_environment_and_bad_urls_are_refused(ctl) -> None:
    res = cli(ctl, "jobs", "--controller", "127.0.0.1:8080")
    assert res.exit_code == 2 and "give a URL like http://HOST:8080" in res.stderr
    res = cli(ctl, "job", "show", "../healthz")
    assert res.exit_code == 2 and "is not a job id" in res.stderr
    res = cli(ctl, "job", "show", "0123456789ab")
    assert res.exit_code == 2 and "404" in res.stderr and "not found" in res.stderr
    res = cli(ctl, "run", "pnig", "-l", "edge")
    assert res.exit_code == 2 and "did you mean 'ping'?" in res.stderr
    res = cli(ctl, "run", "ping", "-l", "edge", "-i", "/etc/hosts")
    assert res.exit_code == 2 and "--inventory is the controller's own setting" in res.stderr


def test_deploy_without_a_registry_says_where_it_is_set(ctl: LocalController) -> None:
    res = cli(ctl, "deploy", "resnet18", "--arch", "amd64", "--task", "classification")
    assert res.exit_code == 2
    assert "this controller has no registry configured" in res.stderr
    with ctl.client() as c:
        assert not [j for j in c.get("/api/jobs").json() if j["playbook"] == "deploy_model"]
    res = cli(ctl, "deploy", "resnet18", "--arch", "amd64", "--task", "Bad Task")
    assert res.exit_code == 2 and "--task" in res.stderr


def test_devices_are_the_ones_pushing_to_that_controller(ctl: LocalController) -> None:
    store = Store(f"sqlite:///{ctl.home / 'controller.db'}")
    try:
        token = tokens.create(store, "rpi-01")
    finally:
        store.dispose()
    res = httpx.post(f"{ctl.url}/api/telemetry", json=body(1, 3, ts=time.time()),
                     headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    shown = json.loads(cli(ctl, "devices", "--json").stdout)
    assert [(d["name"], d["online"]) for d in shown if d["online"]] == [("rpi-01", True)]
    assert f"fleet · 1/{len(shown)} online" in cli(ctl, "devices").stdout
    # Without a controller named: this machine's own (here empty) store, as before.
    assert json.loads(cli(ctl, "devices", "--json", url=False).stdout) == []
