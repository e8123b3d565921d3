"""`make demo`, end to end, as a new user runs it: the script exits 0, prints a dashboard URL,
and every dashboard page shows what the demo did (checked in headless Chromium).

The demo runs beside the suite's own lab on its own bridge, subnet, namespace prefix, state
dir and controller home (the EDGEFLEET_DEMO_* knobs of scripts/demo.sh), then
scripts/demo-stop.sh takes it all down.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from tests.browser.chromium import PageErrors, chromium, log_in, shot
from tests.lab.conftest import REPO, SLOT
from tests.scratch import remove_tree

pytestmark = pytest.mark.lab

# Benchmarked on the amd64 device (in the runtime image); the experiment picks among them.
DEMO_MODELS = ("resnet18", "resnet50", "mobilenet_v2")
PLAYBOOKS = ("ping", "monitor", "upgrade", "timesync", "deploy_model", "bench")


@dataclass
class Demo:
    output: str
    url: str
    token: str


def _env(root: Path) -> dict[str, str]:
    octet = 212 if SLOT == 0 else 220 + SLOT
    return dict(os.environ, EDGEFLEET_HOME=str(root / "home"), EDGEFLEET_LAB_DIR=str(root / "lab"),
                EDGEFLEET_DEMO_SUBNET=f"10.{octet}.0.0/24", EDGEFLEET_DEMO_BRIDGE=f"efdbr{SLOT}",
                EDGEFLEET_DEMO_PREFIX=f"efd{SLOT}-", EDGEFLEET_DEMO_ZONE="DE")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if os.geteuid() != 0:
        pytest.skip("the demo's lab needs root")
    root = tmp_path_factory.mktemp("demo")
    env = _env(root)
    try:
        res = subprocess.run([str(REPO / "scripts" / "demo.sh")], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=1800)
        output = res.stdout + res.stderr
        (root / "demo.log").write_text(output)
        assert res.returncode == 0, output[-6000:]
        found = re.search(r"dashboard\s+(http://\S+)/ui/fleet", res.stdout)
        assert found, res.stdout[-3000:]
        yield Demo(output, found.group(1), (root / "home" / "admin-token").read_text().strip())
    finally:
        subprocess.run([str(REPO / "scripts" / "demo-stop.sh")], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
        remove_tree(root)


@pytest.fixture(scope="module")
def page(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-demo")) as context:
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.errors = PageErrors(tab)
        log_in(tab, demo.url, demo.token, "/ui/fleet")
        yield tab


def test_the_demo_ran_every_step_and_printed_its_choices(demo: Demo) -> None:
    for playbook in ("ping", "monitor", "upgrade", "timesync"):
        assert re.search(rf"{playbook} · job \w+ · successful", demo.output), playbook
    # Benchmarks ran on the devices and were stored: 3 rows on gpu-01, 1 on each rpi.
    assert re.search(r"bench job \w+ · successful · stored 3 result\(s\)", demo.output)
    assert re.search(r"bench job \w+ · successful · stored 2 result\(s\)", demo.output)
    # The experiment's table: greedy vs advanced measured on the device, and its verdict.
    assert "greedy" in demo.output and "advanced" in demo.output
    assert re.search(r"saving rate .*(PASS|FAIL)", demo.output), demo.output[-3000:]
    assert "agents installed" in demo.output


def test_every_demo_device_serves_its_model(demo: Demo) -> None:
    """After the demo each host answers on port 8500 with the model built for its arch."""
    inventory = re.search(r"inventory\s+(\S+)", demo.output)
    assert inventory, demo.output[-2000:]
    doc = yaml.safe_load(Path(inventory.group(1)).read_text())
    # rpi: what the demo deployed; gpu: the experiment's advanced choice is left serving.
    expected = {"rpi": {"mobilenet_v2"}, "gpu": set(DEMO_MODELS)}
    image = (REPO / "playbooks" / "files" / "health.jpg").read_bytes()
    for group, model in expected.items():
        for host in doc["all"]["children"][group]["hosts"].values():
            url = f"http://{host['ansible_host']}:8500"
            assert httpx.get(f"{url}/healthz", timeout=30).json()["model"] in model
            answer = httpx.post(f"{url}/predict", content=image, timeout=300,
                                headers={"Content-Type": "image/jpeg"}).json()
            assert len(answer["top"]) == 5, answer


def test_fleet_page_lists_the_demo_devices_online(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/fleet")
    for name in ("rpi-01", "rpi-02", "gpu-01"):
        row = page.locator(f"#fleet tr[data-device='{name}']")
        expect(row).to_have_attribute("data-status", "online", timeout=60_000)
        expect(row.locator("td").nth(5)).to_contain_text("%")  # CPU from the agent
    shot(page, "demo-fleet")


def test_device_page_has_telemetry_jobs_and_the_deployed_model(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/devices/gpu-01")
    expect(page.locator("#device-status")).to_have_text("online")
    expect(page.locator("figure[data-chart=cpu]")).not_to_have_attribute(
        "data-points", "0", timeout=30_000)
    expect(page.locator("#device-jobs tbody")).to_contain_text("deploy_model")
    expect(page.locator("#deployed-model")).to_contain_text(re.compile("|".join(DEMO_MODELS)))
    expect(page.locator("#deployed-model")).to_contain_text("sha256:")
    # The model's server reports each inference through the agent: live latency on the page.
    expect(page.locator("figure[data-chart=inference]")).not_to_have_attribute(
        "data-points", "0", timeout=60_000)
    shot(page, "demo-device")


def test_jobs_page_lists_every_demo_job_successful(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/jobs")
    rows = page.locator("#jobs tbody tr[data-job]")
    expect(rows.first).to_be_visible()
    listed = rows.evaluate_all(
        "rows => rows.map(r => [r.cells[1].innerText, r.cells[3].innerText])")
    for playbook in PLAYBOOKS:
        assert [playbook, "successful"] in [[p, s.strip()] for p, s in listed], listed
    shot(page, "demo-jobs")


def test_models_page_shows_the_demo_benchmarks(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/models?device=gpu-01")
    expect(page.locator("#models-summary")).to_contain_text("3 configuration(s) measured on")
    models = page.locator("#leaderboard tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.model)")
    assert sorted(m.split()[0] for m in models) == sorted(DEMO_MODELS)
    expect(page.locator("figure[data-chart=latency]")).to_have_attribute("data-points", "9")
    page.goto(f"{demo.url}/ui/models?device=rpi-01")  # measured under qemu-user: labelled
    expect(page.locator("#models-summary")).to_contain_text("1 configuration(s) measured on")
    expect(page.locator("#models-summary")).to_contain_text("emulated")
    shot(page, "demo-models")


def test_registry_page_lists_the_demo_images_per_arch(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/registry")
    runtime = page.locator("tr[data-repo='runtime/torch']")
    expect(runtime.first).to_contain_text("linux/amd64, linux/arm64")
    for model, platform in (("resnet18", "linux/amd64"), ("mobilenet_v2", "linux/arm64")):
        image = page.locator(f"tr[data-repo='models/image-classification/{model}']")
        expect(image.first).to_contain_text(platform)
    expect(page.locator("#errors")).to_be_empty()
    shot(page, "demo-registry")
    assert page.errors.unexpected() == []


def test_experiments_page_shows_the_demo_experiment(page: object, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/experiments")
    expect(page.locator("#phases")).to_contain_text("gpu-01")
    expect(page.locator("#phases")).to_contain_text(re.compile("PASS|FAIL"))
    shot(page, "demo-experiments")
    assert page.errors.unexpected() == []
