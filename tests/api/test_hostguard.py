"""DNS rebinding: a request must name this controller in Host, and a change carrying an
Origin must come from it; otherwise nothing runs (no job, no marker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.api.hostguard import LOOPBACK_NAMES, allowed_hosts, host_of
from controller.config import Settings
from tests.browser.conftest import LocalController, local_controller


@pytest.mark.parametrize(("header", "host"), [
    ("localhost:8080", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:8080", "::1"),
    ("Controller.Example.", "controller.example"), ("evil:notaport", None), ("[", None),
    ("", None),
])
def test_host_headers_parse_to_a_name(header: str, host: str | None) -> None:
    assert host_of(header) == host


def test_allowed_names_follow_the_listen_address() -> None:
    assert allowed_hosts("127.0.0.1") == LOOPBACK_NAMES
    assert allowed_hosts("10.213.0.1") == {"10.213.0.1"}
    assert allowed_hosts("10.213.0.1", ["ctl.example", " "]) == {"10.213.0.1", "ctl.example"}
    wildcard = allowed_hosts("0.0.0.0")
    assert wildcard >= LOOPBACK_NAMES and "0.0.0.0" in wildcard
    assert "attacker.example" not in wildcard


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """No token (loopback): exactly the set-up a rebinding page targets."""
    with TestClient(create_app(settings), base_url="http://localhost") as c:
        yield c


PING = {"playbook": "ping"}


def test_a_rebound_name_is_refused_before_anything_runs(client: TestClient) -> None:
    rebound = {"Host": "attacker.example:8080"}
    res = client.post("/api/jobs", json=PING, headers=rebound)
    assert res.status_code == 400
    assert "'attacker.example:8080' is not a name this controller serves" in res.json()["detail"]
    assert client.get("/api/jobs", headers=rebound).status_code == 400
    assert client.get("/ui/fleet", headers=rebound).status_code == 400
    assert client.get("/api/jobs").json() == []


def test_a_change_from_another_origin_is_refused(client: TestClient) -> None:
    for origin in ("http://attacker.example", "null"):
        res = client.post("/api/jobs", json=PING, headers={"Origin": origin})
        assert res.status_code == 403 and "cross-origin change refused" in res.json()["detail"]
    assert client.get("/api/jobs").json() == []
    # The dashboard's own page posting to its own origin is fine.
    same = client.post("/api/jobs", json=PING,
                       headers={"Origin": "http://localhost:8080"})
    assert same.status_code == 201, same.text
    assert client.get("/healthz", headers={"Origin": "http://attacker.example"}
                      ).status_code == 200  # a read: the browser's CORS keeps the answer


@pytest.fixture(scope="module")
def served(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalController]:
    ctl = local_controller(project, tmp_path_factory.mktemp("hostguard-home"),
                           EDGEFLEET_ALLOWED_HOSTS="ctl.example")
    ctl.start()
    try:
        yield ctl
    finally:
        ctl.stop()


def test_the_real_server_checks_host_and_takes_extra_names(served: LocalController) -> None:
    with served.client() as c:
        assert c.get("/api/jobs").status_code == 200
        assert c.get("/api/jobs", headers={"Host": "ctl.example"}).status_code == 200
        refused = c.get("/api/jobs", headers={"Host": "attacker.example"})
        assert refused.status_code == 400 and "EDGEFLEET_ALLOWED_HOSTS" in refused.text
    assert httpx.get(f"{served.url}/healthz").status_code == 200
