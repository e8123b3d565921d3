"""Models and Registry pages in headless Chromium against a real controller on loopback.

Benchmark results are TEST FIXTURES (tests/unit/selection/builders.py: contract-shaped,
illustrative figures), stored through the controller's own ingestion path
(BenchmarkRepository.add, priced in carbon on the way in). The registry is a real
docker-registry 2.8 on loopback with the busybox bases of tests/registry.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import BenchResult
from controller.carbon import CarbonIntensity, CarbonSettings
from controller.config import Settings
from controller.store import Store
from registry.client import RegistryClient
from tests.browser.chromium import log_in, shot
from tests.browser.conftest import LocalController, local_controller
from tests.registry.conftest import push_busybox_bases
from tests.registry.images import BASE_REF
from tests.registry.server import free_port, running_registry
from tests.unit.selection.builders import resnets

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"
# torchvision's published figures per model (GMACs, weights file MB), so the MACs, FLOPs and
# size columns differ per model; the builders' defaults are the same for all.
CARDS = {"resnet18": (1.81, 44.7), "resnet34": (3.66, 83.3), "resnet50": (4.09, 97.8),
         "resnet101": (7.80, 170.5), "resnet152": (11.51, 230.5)}


def fixture_results(device: str, scale: float) -> list[BenchResult]:
    rows = resnets(device, scale)
    for r in rows:
        gmacs, r["size_mb"] = CARDS[r["model"]]
        r["macs"], r["flops"] = gmacs * 1e9, 2 * gmacs * 1e9
    return [BenchResult.model_validate(r) for r in rows]


@pytest.fixture(scope="module")
def registry_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def ctl(project: Path, tmp_path_factory: pytest.TempPathFactory,
        registry_port: int) -> Iterator[LocalController]:
    """The controller uses a registry on `registry_port` (started by the test that needs it),
    and holds fixture results for two devices: rpi-001 priced with the DE fallback table.
    Its project is the test project plus the real deploy_model playbook and its module."""
    home = tmp_path_factory.mktemp("models-home")
    own = shutil.copytree(project, home / "project")
    shutil.copy(ROOT / "playbooks" / "deploy_model.yml", own / "playbooks")
    shutil.copytree(ROOT / "playbooks" / "library", own / "playbooks" / "library")
    c = local_controller(own, home,
                         EDGEFLEET_REGISTRY_URL=f"http://127.0.0.1:{registry_port}",
                         EDGEFLEET_REGISTRY_BASE=BASE_REF)
    c.start()
    store = Store(Settings(home=home).db_url)
    repo = BenchmarkRepository(store, CarbonIntensity(CarbonSettings(token=None)))
    repo.add("rpi-001", fixture_results("rpi-001", 3.0), "DE")
    repo.add("gpu-001", fixture_results("gpu-001", 1.0), None)
    store.dispose()
    try:
        yield c
    finally:
        c.stop()


def _models(page: object) -> list[str]:
    return page.locator("#leaderboard tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.model)")


def test_leaderboard_charts_sorting_and_selection(ctl: LocalController, new_page) -> None:
    page, errors = new_page()
    log_in(page, ctl.url, ctl.token, "/ui/models")
    page.select_option("#device", "rpi-001")
    expect(page.locator("#models-summary")).to_have_text(
        "5 configuration(s) measured on rpi-001 (linux/x86_64)")
    assert _models(page)[0] == "resnet152 fp32 2 thr"  # most accurate first
    row = page.locator("tr[data-model='resnet18 fp32 2 thr'] td")
    expect(row.nth(3)).to_have_text("161.7")           # p90 ms, x3 on this device
    expect(row.nth(7)).to_have_text("1.81")            # GMACs
    expect(row.nth(8)).to_have_text("≈ 1.10")          # estimated energy marked
    expect(row.nth(9)).to_contain_text("†")            # DE fallback-table carbon marked

    page.click("#leaderboard th[data-key=p90]")
    assert _models(page) == [f"resnet{n} fp32 2 thr" for n in (18, 34, 50, 101, 152)]
    page.click("#leaderboard th[data-key=p90]")
    assert _models(page)[0] == "resnet152 fp32 2 thr"
    expect(page.locator("#leaderboard th[data-key=p90]")).to_have_attribute(
        "aria-sort", "descending")

    # Every bar chart holds the device's five models (latency: p50, p90 and p99 each).
    for chart, points in (("latency", 15), ("memory", 5), ("size", 5), ("flops", 5),
                          ("energy", 5), ("carbon", 5)):
        expect(page.locator(f"figure[data-chart={chart}]")).to_have_attribute(
            "data-points", str(points))
    labels = page.evaluate("""() => window.Chart.getChart(
        document.querySelector('figure[data-chart=memory] canvas')).data.labels""")
    assert labels[0] == "resnet152 fp32 2 thr" and len(labels) == 5
    flops = page.evaluate("""() => window.Chart.getChart(
        document.querySelector('figure[data-chart=flops] canvas')).data.datasets[0].data""")
    assert flops == pytest.approx([23.02, 15.6, 8.18, 7.32, 3.62])

    page.fill("#budget", "300")
    page.fill("#tolerance", "0.05")
    page.click("#selection-form button[type=submit]")
    expect(page.locator("tr[data-role=advanced]")).to_contain_text("resnet50")
    expect(page.locator("tr[data-role=greedy]")).to_contain_text("resnet152")
    expect(page.locator("tr[data-role=greedy]")).to_contain_text("over the budget")
    # (602.1 - 251.1) / 602.1 and (78.312 - 76.130) / 78.312
    expect(page.locator("#selection-facts")).to_contain_text("latency saving rate58.3 %")
    expect(page.locator("#selection-facts")).to_contain_text("accuracy drop2.8 %")
    expect(page.locator("figure[data-chart=pareto]")).to_have_attribute("data-points", "5")
    expect(page.locator("#bench-run")).to_be_enabled()  # the operator may start a run
    shutil.copy(shot(page, "models"), DOCS / "models.png")

    page.fill("#budget", "100")
    page.click("#selection-form button[type=submit]")
    expect(page.locator("#nothing-fits")).to_contain_text(
        "Nothing fits: no model within the accuracy tolerance has p90 <= 100 ms")
    page.fill("#tolerance", "7")
    page.click("#selection-form button[type=submit]")
    expect(page.locator("#errors")).to_contain_text(
        "422: max accuracy drop in relative mode must be a fraction between 0 and 1")

    # The test project has no bench.yml: the run button shows the API's refusal in words.
    page.select_option("#bench-target", "edge")
    page.click("#bench-run")
    expect(page.locator("#errors")).to_contain_text(
        "POST /api/benchmarks/run failed — 422: unknown playbook 'bench'")
    expect(page.locator("#bench-run")).to_be_enabled()
    assert errors.unexpected(("422",)) == []


def test_registry_verify_build_deploy_and_registry_down(
    ctl: LocalController, registry_port: int, tmp_path: Path, new_page
) -> None:
    page, errors = new_page()
    with running_registry(tmp_path / "registry", port=registry_port) as server:
        with RegistryClient(server.url) as client:
            push_busybox_bases(client, tmp_path / "bases")
        with ctl.client() as c:  # an amd64 image exists, arm64 not yet
            res = c.post("/api/registry/build", json={
                "arch": "amd64", "task": "image-classification", "model": "resnet18",
                "version": "1.0", "input_size": 64})
            assert res.status_code == 201, res.text
        log_in(page, ctl.url, ctl.token, "/ui/registry")
        image = page.locator("tr[data-repo='models/image-classification/resnet18']")
        expect(image).to_contain_text("linux/amd64")
        expect(image).to_contain_text("image-classification")

        page.fill("#verify-arch", "arm64")
        page.fill("#verify-task", "image-classification")
        page.fill("#verify-model", "resnet18")
        page.click("#verify-form button[type=submit]")
        missing = page.locator("#verify-result [data-state=missing]")
        expect(missing).to_contain_text("Missing: no image-classification image for linux/arm64")
        expect(missing).to_contain_text("has linux/amd64")
        expect(missing).to_contain_text("Build plan: push models/image-classification/resnet18")
        expect(page.locator("#build-arch")).to_have_value("arm64")  # prefilled from verify

        page.fill("#build-input_size", "64")
        page.click("#build")
        found = page.locator("#verify-result [data-state=found]")
        expect(found).to_contain_text("Found for linux/arm64", timeout=120_000)
        pinned = found.locator("code").text_content()
        assert re.fullmatch(r"127\.0\.0\.1:\d+/models/image-classification/resnet18@sha256:"
                            r"[0-9a-f]{64}", pinned), pinned
        expect(page.locator("#build-progress")).to_be_hidden()
        expect(image).to_contain_text("linux/amd64, linux/arm64")
        shutil.copy(shot(page, "registry"), DOCS / "registry.png")

        # No image for the task: the API's 409 in words, and no job.
        with ctl.client() as c:
            jobs = len(c.get("/api/jobs").json())
        page.fill("#deploy-task", "speech-to-text")
        page.click("#deploy")
        expect(page.locator("#errors")).to_contain_text(
            "POST /api/deployments failed — 409: no image for speech-to-text on linux/arm64")
        with ctl.client() as c:
            assert len(c.get("/api/jobs").json()) == jobs
        # A verified image deploys by digest; the page links to the job's live page.
        page.fill("#deploy-task", "image-classification")
        page.select_option("#deploy-target", "unreach")
        page.click("#deploy")
        launched = page.locator("#deploy-result [data-state=launched]")
        expect(launched).to_contain_text(f"Deploying {pinned}")
        launched.locator("a").click()
        page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{12}$"))
        expect(page.locator("tr[data-host=unreach]")).to_have_attribute(
            "data-status", "unreachable", timeout=60_000)
        expect(page.locator("#job-status")).to_have_text("failed", timeout=60_000)
        job_id = page.url.rsplit("/", 1)[1]
        # The device page's deployed-model slot: that host's latest deploy_model result.
        page.goto(f"{ctl.url}/ui/devices/unreach")
        slot = page.locator("#deployed-model")
        expect(slot).to_contain_text("statusunreachable")
        expect(slot.locator("a")).to_have_text(job_id)
        page.goto(f"{ctl.url}/ui/devices/local-a")
        expect(slot).to_have_text(
            "no model deployed by edgefleet (no deploy_model job has run on it)")

    page.goto(f"{ctl.url}/ui/registry")  # the registry is down now
    expect(page.locator("#errors")).to_contain_text("GET /api/registry/images failed — 503")
    expect(page.locator("#errors")).to_contain_text("unreachable")
    expect(page.locator("#images tbody")).to_contain_text("could not list the registry")
    shot(page, "registry-down")

    reader, _ = new_page()
    log_in(reader, ctl.url, ctl.read_token, "/ui/registry")
    expect(reader.locator("#build")).to_be_disabled()
    expect(reader.locator("#deploy")).to_be_disabled()
    reader.goto(f"{ctl.url}/ui/models")
    expect(reader.locator("#bench-note")).to_have_text("read-only token: you can't start jobs")
    expect(reader.locator("#bench-run")).to_be_disabled()
    expect(reader.locator("#leaderboard tbody tr")).to_have_count(5)  # reading works
    # 404s: the device pages read hosts no agent (or, for local-a, no job) has reported.
    assert errors.unexpected(("409", "503", "404")) == []
