"""The dashboard in headless Chromium against a real controller on loopback (no root).

Login and roles, a job launched from the page with its hosts streaming in, cancel and
relaunch, and API errors shown in words. The lab module (tests/lab/test_dashboard_on_lab.py)
covers the fleet with live agents.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.browser.chromium import log_in, shot
from tests.browser.conftest import LocalController


def test_login_is_required_and_the_token_never_reaches_the_page(
    served: LocalController, new_page
) -> None:
    page, errors = new_page()
    page.goto(f"{served.url}/ui/jobs")
    page.wait_for_url("**/ui/login?next=%2Fui%2Fjobs")
    # A first visit (no token yet) is not greeted with an error.
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#login-reason")).to_be_hidden()
    page.fill("#token", "not-the-token")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#errors")).to_contain_text(
        "token refused: GET /api/auth/whoami failed — 401: missing or wrong bearer token")
    shot(page, "login-refused")

    page.fill("#token", served.token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/ui/jobs")
    expect(page.locator("#whoami")).to_have_text("role: operator")
    expect(page.locator("#launch")).to_be_enabled()
    assert served.token not in page.content()
    # Pages are shells: the HTML itself holds no secret and no data, whoever fetches it.
    assert served.token not in httpx.get(f"{served.url}/ui/jobs").text
    assert errors.unexpected(("401",)) == []


def test_a_token_refused_later_says_why_on_the_login_page(served: LocalController,
                                                          new_page) -> None:
    page, errors = new_page()
    page.goto(f"{served.url}/ui/login")
    page.evaluate("sessionStorage.setItem('edgefleet.token', 'revoked-token')")
    page.goto(f"{served.url}/ui/jobs")
    page.wait_for_url("**/ui/login?next=%2Fui%2Fjobs")
    expect(page.locator("#login-reason")).to_contain_text("401: missing or wrong bearer token")
    assert errors.unexpected(("401",)) == []


def test_ping_launched_from_the_page_streams_each_host_then_relaunches_the_failed(
    served: LocalController, new_page
) -> None:
    page, errors = new_page()
    log_in(page, served.url, served.token, "/ui/jobs")
    expect(page.locator("#target-preview")).to_contain_text("Will run on 3 host(s)")
    page.select_option("#playbook", "ping")
    page.click("#launch")
    page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{12}$"))
    hosts = page.locator("#job-hosts tbody tr")
    expect(page.locator("#job-status")).to_have_text("failed", timeout=60_000)
    expect(page.locator("tr[data-host=local-a]")).to_have_attribute("data-status", "ok")
    expect(page.locator("tr[data-host=local-b]")).to_have_attribute("data-status", "ok")
    expect(page.locator("tr[data-host=unreach]")).to_have_attribute("data-status", "unreachable")
    expect(hosts).to_have_count(3)
    # The streamed runner output, per host, is in the page.
    log = page.locator("#job-log")
    expect(log).to_contain_text("ok: [local-a]")
    expect(log).to_contain_text("UNREACHABLE! => ")
    expect(page.locator("#stream-state")).to_have_text("finished")
    expect(page.locator("#job-progress-text")).to_contain_text("3 / 3 hosts finished")
    # Each host's result reads as the CLI's line (the API's `detail`); the data one click away.
    with served.client() as c:
        api_job = c.get(f"/api/jobs/{page.url.rsplit('/', 1)[1]}").json()
    [detail] = [h["detail"] for h in api_job["hosts"] if h["host"] == "local-a"]
    assert "kernel" in detail
    expect(page.locator("tr[data-host=local-a] [data-field=result] .detail")).to_have_text(detail)
    expect(page.locator("#job-facts")).to_contain_text(
        re.compile(r"created\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"))
    page.locator("tr[data-host=local-a] details summary").click()
    result = page.locator("tr[data-host=local-a] details pre")
    expect(result).to_contain_text('"hostname": "local-a"')
    shot(page, "job-ping")

    first = page.url.rsplit("/", 1)[1]
    relaunch = page.locator("#relaunch")
    expect(relaunch).to_have_text("Relaunch 1 failed host(s)")
    relaunch.click()
    page.wait_for_url(re.compile(r".*/ui/jobs/(?!" + first + r")[0-9a-f]{12}$"))
    expect(page.locator("#job-status")).to_have_text("failed", timeout=60_000)
    expect(hosts).to_have_count(1)
    expect(page.locator("tr[data-host=unreach]")).to_have_attribute("data-status", "unreachable")
    expect(page.locator("#job-facts")).to_contain_text(first)
    assert errors.unexpected() == []


def test_a_long_job_shows_progress_and_cancels_from_the_page(
    served: LocalController, new_page
) -> None:
    page, errors = new_page()
    log_in(page, served.url, served.token, "/ui/jobs")
    page.select_option("#playbook", "sleep")
    page.select_option("#target-group", "edge")
    expect(page.locator("#target-preview")).to_have_text("Will run on 2 host(s): local-a, local-b")
    # Markup in a value must come out as text, never as elements.
    long = "x" * 3000  # one unbroken value must wrap, not widen the page
    page.fill("#extra-vars", '{"sleep_s": 60, "note": "<img src=x id=injected>", '
                             f'"long": "{long}"}}')
    page.click("#launch")
    page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{12}$"))
    expect(page.locator("tr[data-host=local-a]")).to_have_attribute("data-status", "running")
    expect(page.locator("tr[data-host=local-a] [data-field=now]")).to_have_text("Sleep")
    # "Reach the host" went ok on both, but neither host is finished while they sleep.
    expect(page.locator("#job-progress-text")).to_contain_text("0 / 2 hosts finished")
    page.locator("#job-extra summary").click()
    expect(page.locator("#job-extra-vars")).to_contain_text('"note": "<img src=x id=injected>"')
    assert page.locator("#injected").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "job-running")
    page.click("#cancel")
    expect(page.locator("#job-status")).to_have_text("canceled", timeout=60_000)
    expect(page.locator("tr[data-host=local-a]")).to_have_attribute("data-status", "canceled")
    expect(page.locator("#cancel")).to_be_disabled()
    assert errors.unexpected() == []


def test_a_read_only_token_can_look_but_not_launch(served: LocalController, new_page) -> None:
    page, errors = new_page()
    log_in(page, served.url, served.read_token, "/ui/jobs")
    expect(page.locator("#whoami")).to_have_text("role: read")
    expect(page.locator("#launch")).to_be_disabled()
    expect(page.locator("#launch-note")).to_contain_text("read-only token")
    expect(page.locator("#jobs tbody")).not_to_contain_text("loading")  # reads work
    expect(page.locator("#target-preview")).to_contain_text("Will run on")
    with served.client() as c:
        before = len(c.get("/api/jobs").json())
    # Even with the button forced on, the API refuses, and the page says so.
    page.evaluate("document.getElementById('launch').disabled = false")
    page.click("#launch")
    expect(page.locator("#errors")).to_contain_text(
        "POST /api/jobs failed — 403: this token is read-only: POST /api/jobs needs the operator"
        " token")
    shot(page, "jobs-read-only")
    res = httpx.post(f"{served.url}/api/jobs", json={"playbook": "ping"},
                     headers={"Authorization": f"Bearer {served.read_token}"})
    assert res.status_code == 403
    with served.client() as c:
        assert len(c.get("/api/jobs").json()) == before, "a refused launch created a job"
    assert errors.unexpected(("403",)) == []


def test_api_errors_are_shown_in_words(served: LocalController, new_page) -> None:
    page, errors = new_page()
    log_in(page, served.url, served.token, "/ui/jobs")
    page.fill("#extra-vars", '{"db_password": "x"}')
    page.click("#launch")
    expect(page.locator("#errors")).to_contain_text(
        "POST /api/jobs failed — 422: extra var extra_vars.db_password looks like a secret")
    page.fill("#extra-vars", "{not json")
    page.click("#launch")
    expect(page.locator("#errors")).to_contain_text("extra vars are not valid JSON")
    shot(page, "jobs-api-error")

    page.goto(f"{served.url}/ui/jobs/0123456789ab")
    expect(page.locator("#errors")).to_contain_text(
        "GET /api/jobs/0123456789ab failed — 404: job 0123456789ab not found")
    page.goto(f"{served.url}/ui/devices/no-such-device")
    expect(page.locator("#errors")).to_contain_text(
        "404: no device with id or name 'no-such-device'")
    assert errors.unexpected(("422", "404")) == []
