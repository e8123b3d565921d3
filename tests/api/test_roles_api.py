"""Roles: a read-only token may GET everything the operator may, and change nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.api.auth import TokenConfigError
from controller.config import Settings

OPERATOR = "operator-token-operator-token"
READ = "read-only-token-read-only-token"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def c(settings: Settings):
    app = create_app(settings, api_token=OPERATOR, read_token=READ)
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def test_read_token_reads_but_every_change_is_403_and_creates_nothing(c: TestClient) -> None:
    for path in ("/api/jobs", "/api/playbooks", "/api/hosts", "/api/devices", "/api/discovery",
                 "/api/inventory"):
        assert c.get(path, headers=bearer(READ)).status_code == 200, path
    res = c.post("/api/jobs", json={"playbook": "ping"}, headers=bearer(READ))
    assert res.status_code == 403
    assert res.json() == {
        "detail": "this token is read-only: POST /api/jobs needs the operator token"}
    for path in ("/api/jobs/x/cancel", "/api/jobs/x/relaunch", "/api/discovery/x/approve",
                 "/api/discovery/x/reject"):
        assert c.post(path, headers=bearer(READ)).status_code == 403, path
    assert c.get("/api/jobs", headers=bearer(OPERATOR)).json() == []
    # The operator token may change things (here: a real job on the test project).
    res = c.post("/api/jobs", json={"playbook": "ping", "limit": "local-a"},
                 headers=bearer(OPERATOR))
    assert res.status_code == 201, res.text


def test_whoami_says_what_a_token_may_do(c: TestClient, settings: Settings) -> None:
    assert c.get("/api/auth/whoami", headers=bearer(READ)).json() == {
        "auth_required": True, "role": "read", "can_operate": False}
    assert c.get("/api/auth/whoami", headers=bearer(OPERATOR)).json() == {
        "auth_required": True, "role": "operator", "can_operate": True}
    assert c.get("/api/auth/whoami", headers=bearer(READ + "x")).status_code == 401
    with TestClient(create_app(settings), base_url="http://localhost") as open_client:
        assert open_client.get("/api/auth/whoami").json() == {
            "auth_required": False, "role": "operator", "can_operate": True}


@pytest.mark.parametrize(("operator", "read", "reason"), [
    (None, READ, "without EDGEFLEET_API_TOKEN"),
    (OPERATOR, OPERATOR, "must differ"),
    (OPERATOR, "short", "EDGEFLEET_API_READ_TOKEN must be at least 16 characters"),
    ("a", None, "EDGEFLEET_API_TOKEN must be at least 16 characters"),
    ("fifteen-chars!!", None, "EDGEFLEET_API_TOKEN must be at least 16 characters"),
])
def test_token_set_ups_that_would_weaken_auth_are_refused(
    settings: Settings, operator: str | None, read: str, reason: str
) -> None:
    with pytest.raises(TokenConfigError, match=reason):
        create_app(settings, api_token=operator, read_token=read)


def test_inventory_lists_targets_and_previews_a_limit(c: TestClient) -> None:
    inv = c.get("/api/inventory", headers=bearer(READ)).json()
    assert [h["name"] for h in inv["hosts"]] == ["local-a", "local-b", "unreach"]
    assert inv["groups"] == ["edge", "lost"]
    edge = c.get("/api/inventory", params={"limit": "edge"}, headers=bearer(READ)).json()
    assert [h["name"] for h in edge["hosts"]] == ["local-a", "local-b"]
    res = c.get("/api/inventory", params={"limit": "nope"}, headers=bearer(READ))
    assert res.status_code == 422
    assert "matches no host" in res.json()["detail"]


def test_pages_are_shells_without_data_or_secrets(c: TestClient) -> None:
    res = c.get("/ui/devices/<img src=x onerror=alert(1)>")
    assert res.status_code == 200
    assert "<img src=x" not in res.text and "&lt;img src=x onerror=alert(1)&gt;" in res.text
    assert "script-src 'self'" in res.headers["content-security-policy"]
    for path in ("/ui/fleet", "/ui/jobs", "/ui/login"):
        page = c.get(path).text
        assert OPERATOR not in page and READ not in page
    assert c.get("/", follow_redirects=False).headers["location"] == "/ui/fleet"
    vendored = c.get("/ui/static/vendor/chartjs/chart.umd.min.js")
    assert vendored.status_code == 200 and "Chart.js v4" in vendored.text[:200]
