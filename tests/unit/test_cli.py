"""`edgefleet run` and `edgefleet controller serve`: exit codes, JSON output, one-line errors."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import Result
from typer.testing import CliRunner

from controller.cli.main import app
from controller.store import Job, Store
from tests.conftest import job_processes, wait_for

EDGEFLEET = str(Path(sys.executable).parent / "edgefleet")


@pytest.fixture
def env(tmp_path: Path, project: Path) -> dict[str, str]:
    return {"EDGEFLEET_HOME": str(tmp_path / "home"), "EDGEFLEET_PROJECT_DIR": str(project)}


Invoke = Callable[..., Result]


@pytest.fixture
def cli(env: dict[str, str]) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def test_all_hosts_ok_exits_0_and_json_is_the_job_record(cli: Invoke, inventory: Path) -> None:
    res = cli("run", "ping", "--inventory", str(inventory), "--limit", "edge", "--json")
    assert res.exit_code == 0, res.output
    job = json.loads(res.stdout)
    assert job["status"] == "successful"
    assert {h["host"]: h["status"] for h in job["hosts"]} == {"local-a": "ok", "local-b": "ok"}
    assert job["requested_by"]


def test_a_failed_or_unreachable_host_exits_1(cli: Invoke, inventory: Path) -> None:
    res = cli("run", "fail_one", "-i", str(inventory), "--json")
    assert res.exit_code == 1
    job = json.loads(res.stdout)
    assert {h["host"]: h["status"] for h in job["hosts"]} == {
        "local-a": "ok", "local-b": "failed", "unreach": "unreachable"
    }


def test_table_output_names_each_host_and_status(cli: Invoke, inventory: Path) -> None:
    res = cli("run", "fail_one", "-i", str(inventory), "-l", "local-b")
    assert res.exit_code == 1
    assert "local-b" in res.stdout and "failed" in res.stdout
    assert "broken on purpose" in res.stdout


def test_extra_vars_inline_and_from_a_file(cli: Invoke, inventory: Path, tmp_path: Path) -> None:
    res = cli("run", "sleep", "-i", str(inventory), "-l", "local-a", "-e", '{"sleep_s": 0}',
              "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["hosts"][0]["result"] == {"slept": "0"}
    varfile = tmp_path / "vars.json"
    varfile.write_text('{"sleep_s": 0, "note": "from a file"}')
    res = cli("run", "sleep", "-i", str(inventory), "-l", "local-b", "-e", f"@{varfile}",
              "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["extra_vars"] == {"sleep_s": 0, "note": "from a file"}


def test_timeout_exits_1(cli: Invoke, inventory: Path) -> None:
    res = cli("run", "sleep", "-i", str(inventory), "-l", "local-a", "--timeout", "1", "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["status"] == "timeout"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["nosuch"], "unknown playbook 'nosuch'"),
        (["../ping"], "unknown playbook"),
        (["ping", "--limit", "nosuchgroup"], "matches no host"),
        (["ping", "-e", "{sleep_s: 1}"], "extra vars are not valid JSON"),
        (["ping", "-e", '{"ansible_password": "x"}'], "looks like a secret"),
        (["ping", "-e", "@/nonexistent/vars.json"], "cannot read extra vars file"),
        (["ping", "--timeout", "0"], "timeout_s must be between"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    cli: Invoke, inventory: Path, env: dict[str, str], args: list[str], reason: str
) -> None:
    res = cli("run", *args, "--inventory", str(inventory))
    assert res.exit_code == 2
    assert reason in res.stderr
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert res.stdout == ""
    store = Store(f"sqlite:///{env['EDGEFLEET_HOME']}/controller.db")
    with store.session() as s:
        assert s.query(Job).count() == 0
    store.dispose()


def test_missing_inventory_exits_2(cli: Invoke, tmp_path: Path) -> None:
    res = cli("run", "ping", "--inventory", str(tmp_path / "nope.ini"))
    assert res.exit_code == 2
    assert "nope.ini does not exist" in res.stderr
    res = cli("run", "ping")
    assert res.exit_code == 2
    assert "no inventory configured" in res.stderr


def descendants(pid: int) -> list[str]:
    names = []
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            names.append(child.name())
    return names


def test_ctrl_c_cancels_the_job_and_exits_1(env: dict[str, str], inventory: Path) -> None:
    proc = subprocess.Popen(
        [EDGEFLEET, "run", "sleep", "-i", str(inventory), "-l", "local-a", "--json"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for(lambda: "sleep" in descendants(proc.pid))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 1, err
    job = json.loads(out)
    assert job["status"] == "canceled"
    assert f"interrupted: canceling job {job['id']}" in err
    assert job_processes(job["id"]) == []


def test_serve_refuses_a_public_address_without_a_token(cli: Invoke) -> None:
    res = cli("controller", "serve", "--host", "0.0.0.0")
    assert res.exit_code == 2
    assert "without EDGEFLEET_API_TOKEN" in res.stderr


def test_serve_refuses_a_missing_inventory(cli: Invoke, tmp_path: Path) -> None:
    res = cli("controller", "serve", "--inventory", str(tmp_path / "nope.ini"))
    assert res.exit_code == 2
    assert "does not exist" in res.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_jobs_and_cancels_them_on_sigterm(env: dict[str, str], inventory: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [EDGEFLEET, "controller", "serve", "--port", str(port), "--inventory", str(inventory)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=30)
        res = httpx.post(f"{base}/api/jobs", json={"playbook": "sleep", "limit": "local-a"})
        assert res.status_code == 201, res.text
        job_id = res.json()["id"]
        wait_for(lambda: "sleep" in job_processes(job_id))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit.
    assert proc.returncode in (0, -signal.SIGTERM), proc.stdout.read() if proc.stdout else ""
    store = Store(f"sqlite:///{env['EDGEFLEET_HOME']}/controller.db")
    with store.session() as s:
        assert s.get(Job, job_id).status == "canceled"
    store.dispose()
    assert job_processes(job_id) == []


def test_ansible_style_extra_vars_and_live_lines_off_a_terminal(cli: Invoke,
                                                               inventory: Path) -> None:
    res = cli("run", "sleep", "-i", str(inventory), "-l", "local-a", "-e", "sleep_s=0",
              "-e", '{"note": "x"}')
    assert res.exit_code == 0, res.output
    assert "local-a: Sleep → ok" in res.stdout  # printed as it happened, before the table
    assert res.stdout.index("local-a: Sleep → ok") < res.stdout.index("sleep · job")


def test_local_jobs_are_listed_and_shown_with_readable_results(cli: Invoke,
                                                               inventory: Path) -> None:
    ran = json.loads(cli("run", "fail_one", "-i", str(inventory), "--json").stdout)
    listed = cli("jobs", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [ran["id"]]
    assert json.loads(listed.stdout)[0]["summary"] == ran["summary"]
    shown = cli("job", "show", ran["id"])
    assert shown.exit_code == 0
    assert "local-b is broken on purpose" in shown.stdout
    assert "local store sqlite" in cli("jobs").stdout


def test_cancel_of_a_job_run_elsewhere_names_the_way(cli: Invoke, inventory: Path,
                                                     env: dict[str, str]) -> None:
    ran = json.loads(cli("run", "ping", "-i", str(inventory), "-l", "edge", "--json").stdout)
    res = cli("job", "cancel", ran["id"])
    assert res.exit_code == 2 and "is already successful" in res.stderr
    res = cli("job", "show", "nosuchjob")
    assert res.exit_code == 2 and "not found" in res.stderr


def test_version_and_help_show_no_type_for_flags(cli: Invoke) -> None:
    res = cli("--version")
    assert res.exit_code == 0 and res.stdout.startswith("edgefleet 0.")
    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "120"})
    assert "--json" in res.stdout and "<bool>" not in res.stdout
    assert "<int>" in res.stdout  # options that take a value still say what
