"""The dashboard in headless Chromium against the lab: a controller beyond loopback (login),
real agents streaming telemetry, and a ping over real SSH launched from the page.

Here rather than under tests/browser so it shares the session's one lab and controller.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import PageErrors, chromium, log_in, shot
from tests.lab.conftest import OFFLINE_HOST, Controller, Lab
from tests.lab.test_agents_on_lab import agents  # noqa: F401 - this module's own install

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("agents")]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, controller: Controller) -> Iterator[object]:
    """One logged-in tab for the module: the login itself is the first thing checked."""
    with chromium(tmp_path_factory.mktemp("chromium-lab")) as context:
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.errors = PageErrors(tab)
        yield tab


def test_fleet_page_needs_login_then_lists_the_lab_devices_online(
    page: object, lab: Lab, controller: Controller
) -> None:
    page.goto(f"{controller.url}/ui/fleet")
    page.wait_for_url("**/ui/login?next=%2Fui%2Ffleet")  # beyond loopback: token required
    log_in(page, controller.url, controller.token, "/ui/fleet")
    for name in lab.hosts:
        row = page.locator(f"#fleet tr[data-device='{name}']")
        expect(row).to_have_attribute("data-status", "online", timeout=60_000)
        expect(row.locator("td").nth(3)).to_have_text(
            "arm64" if name.startswith("rpi") else "amd64")
        expect(row.locator("td").nth(5)).to_contain_text("%")  # CPU from the agent
    expect(page.locator("#fleet-summary")).to_contain_text(f"{len(lab.hosts)} online")
    page.select_option("#group-filter", "rpi")
    # Only rpi rows: rpi-09 (the unreachable one) is listed too once an earlier test's job
    # tried it, so count the groups, not the rows.
    expect(page.locator("#fleet tbody tr[data-device^='gpu-']")).to_have_count(0)
    for name in (h for h in lab.hosts if h.startswith("rpi-")):
        expect(page.locator(f"#fleet tr[data-device='{name}']")).to_be_visible()
    page.select_option("#group-filter", "")
    assert page.errors.unexpected(("401",)) == []
    page.errors.seen.clear()  # the 401 before login was this test's, on purpose


def test_ping_from_the_page_streams_each_lab_host_and_the_fleet_flags_the_unreachable(
    page: object, lab: Lab, controller: Controller
) -> None:
    page.goto(f"{controller.url}/ui/jobs")
    expect(page.locator("#target-preview")).to_contain_text(f"Will run on {len(lab.hosts) + 1}")
    page.select_option("#playbook", "ping")
    page.click("#launch")
    page.wait_for_url("**/ui/jobs/*")
    for name in lab.hosts:
        expect(page.locator(f"tr[data-host='{name}']")).to_have_attribute(
            "data-status", "ok", timeout=180_000)
    expect(page.locator(f"tr[data-host='{OFFLINE_HOST}']")).to_have_attribute(
        "data-status", "unreachable", timeout=180_000)
    expect(page.locator("#stream-state")).to_have_text("finished", timeout=60_000)
    expect(page.locator("#job-log")).to_contain_text("ok: [gpu-01]")
    shot(page, "lab-job-ping")

    page.goto(f"{controller.url}/ui/fleet")
    offline = page.locator(f"#fleet tr[data-device='{OFFLINE_HOST}']")
    expect(offline).to_have_class("trouble")
    expect(offline.locator("td.problems")).to_have_text("unreachable in last job")
    expect(page.locator("#fleet tr[data-device='gpu-01']")).not_to_have_class("trouble")
    page.check("#trouble-only")
    expect(page.locator("#fleet tbody tr")).to_have_count(1)
    page.uncheck("#trouble-only")
    shot(page, "lab-fleet")
    assert page.errors.unexpected() == []


def test_device_page_charts_live_telemetry(page: object, controller: Controller) -> None:
    page.goto(f"{controller.url}/ui/devices/gpu-01")
    expect(page.locator("#device-status")).to_have_text("online")
    for chart in ("cpu", "memory"):
        expect(page.locator(f"figure[data-chart={chart}]")).not_to_have_attribute(
            "data-points", "0", timeout=30_000)
    # No NVIDIA GPU in the lab: the GPU chart says so instead of drawing nothing.
    expect(page.locator("figure[data-chart=gpu] .empty")).to_contain_text("does not report")
    expect(page.locator("#facts")).to_contain_text("amd64")
    expect(page.locator("#device-jobs tbody tr").first).to_contain_text("ping")
    # Its latest deploy_model result, or in words that there is none (order of lab modules).
    expect(page.locator("#deployed-model")).to_contain_text(
        re.compile(r"no model deployed by edgefleet|status"))
    shot(page, "lab-device")
    assert page.errors.unexpected(("404",)) == []
