"""The REST API over real jobs: launch, inspect, stream, cancel, relaunch, errors, auth."""

from __future__ import annotations

import time

import psutil
import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.config import Settings
from controller.store import Job, Store
from tests.api.conftest import wait_job
from tests.api_client import launch, sse
from tests.conftest import job_processes, wait_for


def test_playbooks_are_the_catalogue(client: TestClient) -> None:
    res = client.get("/api/playbooks")
    assert res.json() == {
        "playbooks": ["cache_fact", "fail_one", "ignore", "ping", "skip", "sleep"]
    }


def test_launch_inspect_and_host_view(client: TestClient) -> None:
    job = launch(client, playbook="ping", limit="edge", timeout_s=60)
    assert job["status"] in ("queued", "running")
    assert (job["targets"], job["timeout_s"]) == (["local-a", "local-b"], 60)
    assert job["requested_by"] == "api:testclient"
    done = wait_job(client, job["id"])
    assert done["status"] == "successful"
    assert done["summary"] == {"ok": 2}
    assert done["hosts"][0]["result"]["hostname"] == "local-a"
    assert [j["id"] for j in client.get("/api/jobs").json()] == [job["id"]]
    hosts = {h["name"]: h for h in client.get("/api/hosts").json()}
    assert sorted(hosts) == ["local-a", "local-b"]
    assert hosts["local-b"]["facts"]["hostname"] == "local-b"
    assert hosts["local-b"]["results"]["ping"]["status"] == "ok"
    assert client.get("/api/hosts/local-a").json()["last_job_id"] == job["id"]
    assert client.get("/api/hosts/unreach").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"playbook": "rm-rf"}, 422, "unknown playbook 'rm-rf'"),
        ({"playbook": "../ping"}, 422, "unknown playbook"),
        ({"playbook": "ping", "limit": "nosuchgroup"}, 422, "matches no host"),
        ({"playbook": "pnig"}, 422, "unknown playbook 'pnig' (did you mean 'ping'?)"),
        ({"playbook": "ping", "limit": "edgee"}, 422, "(did you mean 'edge'?); groups: edge, lost"),
        ({"playbook": "ping", "limit": "edge;reboot"}, 422, "not a valid host pattern"),
        ({"playbook": "ping", "extra_vars": ["x"]}, 422, "extra_vars"),
        ({"playbook": "ping", "extra_vars": {"ansible_password": "x"}}, 422, "secret"),
        ({"playbook": "ping", "extra_vars": {"bad-name": 1}}, 422, "not a valid Ansible var"),
        ({"playbook": "ping", "limt": "edge"}, 422, "limt"),
        ({"playbook": "ping", "timeout_s": 0}, 422, "timeout_s"),
        ({}, 422, "playbook"),
    ],
)
def test_bad_requests_get_a_one_line_reason_and_create_nothing(
    client: TestClient, body: dict, status: int, reason: str
) -> None:
    res = client.post("/api/jobs", json=body)
    assert res.status_code == status
    detail = res.json()["detail"]
    assert isinstance(detail, str) and reason in detail and "\n" not in detail
    assert client.get("/api/jobs").json() == []


def test_malformed_json_body(client: TestClient) -> None:
    res = client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert res.status_code == 422
    assert isinstance(res.json()["detail"], str)


def test_unknown_job_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/jobs/nosuch"),
        ("GET", "/api/jobs/nosuch/events"),
        ("POST", "/api/jobs/nosuch/cancel"),
        ("POST", "/api/jobs/nosuch/relaunch"),
    ]:
        res = client.request(method, path)
        assert res.status_code == 404, path
        assert res.json() == {"detail": "job nosuch not found"}


def test_events_stream_live_and_resume_from_last_event_id(client: TestClient) -> None:
    job = launch(client, playbook="sleep", limit="edge", extra_vars={"sleep_s": 2})
    first: list[dict] = []
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for msg in sse(r):
            first.append(msg)
            if msg["data"]["event"] == "runner_on_start":
                break  # the job is mid-run: drop the connection here
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "running"
    with client.stream(
        "GET", f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": first[-1]["id"]}
    ) as r:
        rest = list(sse(r))
    end = rest.pop()
    assert end["event"] == "end"
    assert end["data"]["status"] == "successful"
    assert end["data"]["summary"] == {"ok": 2}
    seqs = [int(m["id"]) for m in first + rest]
    assert seqs == list(range(1, len(seqs) + 1)), "no gap, duplicate or reordering on resume"
    assert all(m["event"] == "job_event" and m["data"]["seq"] == int(m["id"]) for m in rest)
    oks = {m["data"]["host"] for m in rest if m["data"]["event"] == "runner_on_ok"}
    assert oks == {"local-a", "local-b"}

    # A finished job replays from any cursor, then ends; ?after= does the same as the header.
    with client.stream("GET", f"/api/jobs/{job['id']}/events", params={"after": seqs[-2]}) as r:
        replay = list(sse(r))
    assert [m.get("id") for m in replay] == [str(seqs[-1]), None]


def test_bad_last_event_id_is_422(client: TestClient) -> None:
    with client.app.state.store.session() as s:
        s.add(Job(id="done00000001", playbook="ping", inventory="x", requested_by="t",
                  status="successful", timeout_s=60))
    res = client.get("/api/jobs/done00000001/events", headers={"Last-Event-ID": "abc"})
    assert res.status_code == 422
    assert res.json() == {"detail": "Last-Event-ID 'abc' is not an event number"}
    assert client.get("/api/jobs/done00000001/events?after=-1").status_code == 422


def test_cancel_a_sleeping_job(client: TestClient) -> None:
    job = launch(client, playbook="sleep", limit="edge")
    wait_for(lambda: "sleep" in job_processes(job["id"]))
    res = client.post(f"/api/jobs/{job['id']}/cancel")
    assert res.status_code == 202
    done = wait_job(client, job["id"], timeout=30)
    assert done["status"] == "canceled"
    wait_for(lambda: job_processes(job["id"]) == [], timeout=5)
    res = client.post(f"/api/jobs/{job['id']}/cancel")
    assert res.status_code == 409
    assert res.json() == {"detail": f"job {job['id']} is already canceled"}


def test_busy_hosts_are_409_and_create_nothing(client: TestClient) -> None:
    sleeper = launch(client, playbook="sleep", limit="local-b")
    res = client.post("/api/jobs", json={"playbook": "ping", "limit": "edge"})
    assert res.status_code == 409
    assert res.json()["detail"] == f"hosts busy in job {sleeper['id']}: local-b"
    assert len(client.get("/api/jobs").json()) == 1
    client.post(f"/api/jobs/{sleeper['id']}/cancel")
    wait_job(client, sleeper["id"])


def test_relaunch_targets_failed_and_unreachable_hosts_only(client: TestClient) -> None:
    first = wait_job(client, launch(client, playbook="fail_one")["id"])
    assert first["summary"] == {"ok": 1, "failed": 1, "unreachable": 1}
    res = client.post(f"/api/jobs/{first['id']}/relaunch")
    assert res.status_code == 201, res.text
    again = res.json()
    assert (again["targets"], again["relaunch_of"]) == (["local-b", "unreach"], first["id"])
    again = wait_job(client, again["id"])
    assert again["summary"] == {"failed": 1, "unreachable": 1}
    ok = wait_job(client, launch(client, playbook="ping", limit="local-a")["id"])
    res = client.post(f"/api/jobs/{ok['id']}/relaunch")
    assert res.status_code == 409
    assert "no failed or unreachable hosts" in res.json()["detail"]


def test_orphaned_jobs_are_failed_when_the_server_starts(settings: Settings) -> None:
    store = Store(settings.db_url)
    with store.session() as s:
        s.add(Job(
            id="orphan000001", playbook="ping", limit=None, inventory="x",
            targets=[{"name": "local-a"}], requested_by="t", status="running", timeout_s=60,
            owner_pid=psutil.Process().pid, owner_started=psutil.Process().create_time() - 99,
        ))
    store.dispose()
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as c:
        job = c.get("/api/jobs/orphan000001").json()
    assert job["status"] == "failed"
    assert "exited before it finished" in job["error"]


def test_server_shutdown_cancels_its_running_jobs(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="http://localhost") as c:
        job = launch(c, playbook="sleep", limit="local-a")
        wait_for(lambda: c.get(f"/api/jobs/{job['id']}").json()["status"] == "running")
        started = time.monotonic()
    assert time.monotonic() - started < 15
    store = Store(settings.db_url)
    with store.session() as s:
        assert s.get(Job, job["id"]).status == "canceled"
    store.dispose()
    assert job_processes(job["id"]) == []


def test_bearer_token_guards_the_api_but_not_healthz(settings: Settings) -> None:
    token = "s3cret-s3cret-s3cret"
    with TestClient(create_app(settings, api_token=token), base_url="http://localhost") as c:
        assert c.get("/healthz").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            res = c.get("/api/playbooks", headers=headers)
            assert res.status_code == 401
            assert res.json() == {"detail": "missing or wrong bearer token"}
            assert res.headers["www-authenticate"] == "Bearer"
        assert c.post("/api/jobs", json={"playbook": "ping"}).status_code == 401
        assert c.get("/api/jobs/x/events").status_code == 401
        assert c.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).json() == []


def test_no_page_loads_scripts_from_a_public_cdn(client: TestClient) -> None:
    """FastAPI's /docs and /redoc pull Swagger/ReDoc from jsdelivr; the spec stays local."""
    for path in ("/docs", "/redoc"):
        assert client.get(path).status_code == 404
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "edgefleet controller"
