"""Security review of `controller serve` (issue 14): extra vars stay data, cursors and limits
are bounded. Real API, real ansible-playbook; a marker file shows whether a command ran."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from controller.api.app import create_app
from controller.cli.main import app as cli_app
from controller.config import Settings
from controller.store import Job, JobHost
from tests.api.conftest import wait_job
from tests.api_client import launch, sse

MAX_EVENT = 2**53


def refused(client: TestClient, body: dict[str, Any]) -> str:
    """POST a job that must be refused: 422, one line, and no job recorded."""
    res = client.post("/api/jobs", json=body)
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert client.get("/api/jobs").json() == []
    return detail


def touch_script(path: Path, marker: Path) -> Path:
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    path.chmod(0o755)
    return path


# ---- extra vars never run anything on the controller --------------------------------------
def test_template_in_an_extra_var_is_refused_and_never_runs(
    client: TestClient, tmp_path: Path
) -> None:
    """`sleep.yml` uses sleep_s in its command: before the fix the lookup ran as root."""
    marker = tmp_path / "templated"
    body = {"playbook": "sleep", "limit": "local-a",
            "extra_vars": {"sleep_s": f"{{{{ lookup('pipe', 'touch {marker}') }}}}0"}}
    detail = refused(client, body)
    assert detail.startswith("extra_vars.sleep_s: template syntax")
    assert not marker.exists()


def test_template_deep_inside_an_extra_var_names_its_path(
    client: TestClient, tmp_path: Path
) -> None:
    marker = tmp_path / "nested"
    lookup = f"{{{{ lookup('pipe', 'touch {marker}') }}}}"
    body = {"playbook": "ping", "limit": "local-a",
            "extra_vars": {"cfg": {"items": [1, 2, lookup]}}}
    assert refused(client, body).startswith("extra_vars.cfg.items[2]: template syntax")
    body["extra_vars"] = {"cfg": {"{% raw %}": 1}}
    assert refused(client, body).startswith('extra_vars.cfg["{% raw %}"]: template syntax')
    assert not marker.exists()


@pytest.mark.parametrize(
    "extra",
    [
        lambda m, _s: {"ansible_ssh_common_args": f"-o ProxyCommand='touch {m}'"},
        lambda m, _s: {"ansible_ssh_extra_args": f"-o ProxyCommand='touch {m}'"},
        lambda _m, s: {"ansible_ssh_executable": str(s)},
        lambda _m, s: {"ansible_connection": "local", "ansible_python_interpreter": str(s)},
    ],
    ids=["ssh_common_args", "ssh_extra_args", "ssh_executable", "connection_local"],
)
def test_connection_overrides_are_refused_and_never_run(
    client: TestClient, tmp_path: Path, extra: Any
) -> None:
    """Each of these ran a command on the controller for the SSH host `unreach`."""
    marker = tmp_path / "ran"
    script = touch_script(tmp_path / "evil", marker)
    variables = extra(marker, script)
    detail = refused(client, {"playbook": "ping", "limit": "unreach", "extra_vars": variables})
    assert detail.startswith(f"extra_vars.{next(iter(variables))}: Ansible's own variables")
    assert "edgefleet_extra_vars_allow" in detail
    assert not marker.exists()
    assert client.get("/api/hosts/unreach").status_code == 404  # its view is untouched


@pytest.mark.parametrize(
    "variables",
    [{"ansible_connection": "local"}, {"ansible_host": "127.0.0.1"}, {"ansible_port": 22},
     {"ansible_user": "root"}, {"ansible_become": True}, {"ansible_become_exe": "sh"},
     {"ansible_shell_executable": "/bin/sh"}, {"inventory_hostname": "127.0.0.1"}],
)
def test_every_ansible_variable_is_refused_without_an_allow_list(
    client: TestClient, variables: dict[str, Any]
) -> None:
    detail = refused(client, {"playbook": "ping", "limit": "edge", "extra_vars": variables})
    assert detail.startswith(f"extra_vars.{next(iter(variables))}: ")


def test_a_nested_secret_is_refused(client: TestClient) -> None:
    """It passed the secret check and was readable in the job record with the read token."""
    body = {"playbook": "ping", "extra_vars": {"cfg": {"db_password": "hunter2"}}}
    assert "extra_vars.cfg.db_password looks like a secret" in refused(client, body)
    body["extra_vars"] = {"cfg": [{"x": 1}, {"api_token": "t"}]}
    assert "extra_vars.cfg[1].api_token looks like a secret" in refused(client, body)


def test_relaunch_of_a_job_recorded_with_a_connection_override_is_refused(
    client: TestClient, tmp_path: Path
) -> None:
    """A job stored before the fix cannot be replayed by relaunch."""
    marker = tmp_path / "relaunched"
    with client.app.state.store.session() as s:
        s.add(Job(id="old000000001", playbook="ping", inventory=str(
                  client.app.state.manager.settings.inventory), requested_by="t",
                  status="failed", timeout_s=60,
                  extra_vars={"ansible_ssh_common_args": f"-o ProxyCommand='touch {marker}'"}))
        s.flush()
        s.add(JobHost(job_id="old000000001", host="unreach", status="unreachable"))
    res = client.post("/api/jobs/old000000001/relaunch")
    assert res.status_code == 422, res.text
    assert res.json()["detail"].startswith("extra_vars.ansible_ssh_common_args: ")
    assert [j["id"] for j in client.get("/api/jobs").json()] == ["old000000001"]
    assert not marker.exists()


def test_cli_refuses_the_same_with_exit_2(
    tmp_path: Path, project: Path, inventory: Path
) -> None:
    marker = tmp_path / "cli"
    env = {"EDGEFLEET_HOME": str(tmp_path / "home"), "EDGEFLEET_PROJECT_DIR": str(project)}
    cases = [
        ({"ansible_ssh_common_args": f"-o ProxyCommand='touch {marker}'"},
         "extra_vars.ansible_ssh_common_args: Ansible's own variables"),
        ({"sleep_s": f"{{{{ lookup('pipe', 'touch {marker}') }}}}"},
         "extra_vars.sleep_s: template syntax"),
    ]
    for variables, reason in cases:
        res = CliRunner().invoke(cli_app, ["run", "sleep", "-i", str(inventory), "-l", "unreach",
                                           "-e", json.dumps(variables)], env=env)
        assert res.exit_code == 2, res.output
        assert reason in res.stderr and res.stderr.strip().count("\n") == 0, res.stderr
    assert not marker.exists()


# ---- the inventory's allow-list -------------------------------------------------------------
ALLOW_INVENTORY = """\
all:
  vars:
    edgefleet_extra_vars_allow: [ansible_python_interpreter]
  children:
    edge:
      hosts:
        local-a: {}
      vars:
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


@pytest.fixture
def allow_client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    inv = tmp_path / "allow" / "hosts.yml"
    inv.parent.mkdir()
    inv.write_text(ALLOW_INVENTORY)
    with TestClient(create_app(dataclasses.replace(settings, inventory=inv)),
                    base_url="http://localhost") as c:
        yield c


def test_inventory_allow_list_lets_exactly_that_variable_through(
    allow_client: TestClient, tmp_path: Path
) -> None:
    """The interpreter the request names is the one that ran: it leaves a marker."""
    marker = tmp_path / "interpreter-ran"
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec '{sys.executable}' \"$@\"\n")
    python.chmod(0o755)
    job = launch(allow_client, playbook="ping", limit="local-a",
                 extra_vars={"ansible_python_interpreter": str(python)})
    done = wait_job(allow_client, job["id"])
    assert (done["status"], done["summary"]) == ("successful", {"ok": 1}), done
    assert marker.exists()
    detail = refused_after(allow_client, {"playbook": "ping", "limit": "local-a",
                                          "extra_vars": {"ansible_connection": "ssh"}})
    assert detail.startswith("extra_vars.ansible_connection: ")


def refused_after(client: TestClient, body: dict[str, Any]) -> str:
    """Like `refused`, on a client that already ran jobs: the job count must not change."""
    before = len(client.get("/api/jobs").json())
    res = client.post("/api/jobs", json=body)
    assert res.status_code == 422, res.text
    assert len(client.get("/api/jobs").json()) == before
    return res.json()["detail"]


# ---- limits --------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [",", "local-a\n", "local-a,,unreach", "edge:", "!", "\x00"])
def test_limits_with_empty_patterns_or_control_characters_are_refused(
    client: TestClient, limit: str
) -> None:
    """`,` meant every host; `local-a\\n` passed the pattern check."""
    assert "not a valid host pattern: " in refused(client, {"playbook": "ping", "limit": limit})
    res = client.get("/api/inventory", params={"limit": limit})
    assert res.status_code == 422 and "not a valid host pattern" in res.json()["detail"]


# ---- the events cursor ---------------------------------------------------------------------
@pytest.fixture
def done_job(client: TestClient) -> str:
    with client.app.state.store.session() as s:
        s.add(Job(id="done00000001", playbook="ping", inventory="x", requested_by="t",
                  status="successful", timeout_s=60))
    return "/api/jobs/done00000001/events"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (str(10**20), "out of range (0..9007199254740992)"),
        (str(MAX_EVENT + 1), "out of range"),
        ("9" * 5000, "out of range"),
        ("1e20", "is not an event number"),
        ("-5", "is not an event number"),  # was read as 0: a silent restart
        ("+7", "is not an event number"),
        (" 7", "is not an event number"),
        ("1_0", "is not an event number"),
        ("", "is not an event number"),
    ],
)
def test_a_bad_last_event_id_is_422_before_the_stream_starts(
    client: TestClient, done_job: str, header: str, reason: str
) -> None:
    res = client.get(done_job, headers={"Last-Event-ID": header})
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert detail.startswith("Last-Event-ID ") and reason in detail and len(detail) < 200


@pytest.mark.parametrize("after", [str(10**20), str(MAX_EVENT + 1), "-1", "1e20"])
def test_an_out_of_range_after_is_422(client: TestClient, done_job: str, after: str) -> None:
    """`after=1e20` (as digits) made the stream abort after its 200 (integer overflow)."""
    res = client.get(done_job, params={"after": after})
    assert res.status_code == 422, res.text
    assert res.json()["detail"].startswith("query.after: ")


def test_the_largest_cursor_still_streams_to_the_end(client: TestClient, done_job: str) -> None:
    for kwargs in ({"params": {"after": MAX_EVENT}},
                   {"headers": {"Last-Event-ID": str(MAX_EVENT)}}):
        with client.stream("GET", done_job, **kwargs) as r:
            assert r.status_code == 200
            assert [m["event"] for m in sse(r)] == ["end"]


@pytest.mark.parametrize("limit", ["0", "501", str(10**20)])
def test_job_list_limit_is_bounded(client: TestClient, limit: str) -> None:
    res = client.get("/api/jobs", params={"limit": limit})
    assert res.status_code == 422 and res.json()["detail"].startswith("query.limit: ")


def test_deeply_nested_extra_vars_get_a_reason(client: TestClient) -> None:
    deep = "[" * 40 + "]" * 40
    res = client.post("/api/jobs", content=f'{{"playbook": "ping", "extra_vars": {{"x": {deep}}}}}',
                      headers={"content-type": "application/json"})
    assert res.status_code == 422 and "nest deeper than 32 levels" in res.json()["detail"]
