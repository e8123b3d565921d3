"""The Experiments page in headless Chromium against a real controller on loopback.

The record shown is built by the experiment's own plan and report code from ResNet results
of benchmarks/results (stored through the benchmark repository) and agent telemetry
written through the real store, idle on local-a and loaded on local-b; only the measured
medians are test figures (no device serves models here). The page polls the API, so a
record that appears later is picked up without a reload.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import parse_results
from controller.carbon import CarbonIntensity, CarbonSettings
from controller.config import Settings
from controller.experiment import report
from controller.experiment.plan import plan_device
from controller.experiment.run import Measurement
from controller.experiment.status import read_status
from controller.selection import Policy
from controller.store import Store
from controller.telemetry.service import TelemetryService
from controller.telemetry.settings import TelemetrySettings
from tests.browser.chromium import log_in
from tests.browser.conftest import LocalController, local_controller
from tests.clock import Clock
from tests.unit.experiment.conftest import RESNETS, RESULTS, Fleet

POLICY = Policy(120, 10, "points", "accuracy")
TIMES = {"local-a": (180.0, 130.0), "local-b": (400.0, 90.0)}  # (t_b, t_a) medians, ms


@pytest.fixture(scope="module")
def ctl(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalController]:
    c = local_controller(project, tmp_path_factory.mktemp("experiments-home"))
    c.start()
    try:
        yield c
    finally:
        c.stop()


def measured(ms: float) -> Measurement:
    return Measurement(ms, ms * 1.1, 6, {"decode": 5.0, "preprocess": 1.0, "forward": ms - 7,
                                         "postprocess": 1.0}, ms * 2,
                       "127.0.0.1:5000/models/image-classification/x@sha256:" + "a" * 64, "j1")


def write_record(home: Path) -> dict:
    store = Store(Settings(home=home).db_url)
    clock = Clock()
    repo = BenchmarkRepository(store, CarbonIntensity(CarbonSettings(token=None)))
    fleet = Fleet(store, clock, TelemetryService(TelemetrySettings(), store, clock), repo)
    rows = [r for r in json.loads((RESULTS / "amd64-cpu-2threads-batch1.json").read_text())
            if r["model"] in RESNETS and r["variant"] == "fp32"]
    for host in TIMES:
        repo.add(host, parse_results(rows, "results"), None)
    fleet.push("local-a", busy=0.0)
    fleet.push("local-b", busy=1.0, load_1m=6.0)
    table = []
    for host, (t_b, t_a) in TIMES.items():
        p = plan_device(read_status(fleet.telemetry, host), repo.by_device(host)[host], POLICY,
                        20_000)
        table.append(report.row(p, measured(t_b), measured(t_a)))
    store.dispose()
    record = {
        "id": "0123456789ab", "status": "succeeded", "created_at": "2026-09-21T14:13:20+00:00",
        "finished_at": "2026-09-21T14:20:00+00:00", "requested_by": "test",
        "request": {"budget_ms": 120, "max_acc_drop": 10, "mode": "points",
                    "objective": "accuracy", "hosts": list(TIMES)},
        "step": "done", "progress": [], "adaptation": None, "error": None,
        "phases": [{"name": "normal", "load": None, "rows": table,
                    "summary": report.summary(table, POLICY)}],
    }
    (home / "experiments").mkdir(exist_ok=True)
    (home / "experiments" / "0123456789ab.json").write_text(json.dumps(record))
    return record


def test_latest_experiment_table_and_verdict(ctl: LocalController, new_page) -> None:
    page, errors = new_page()
    log_in(page, ctl.url, ctl.token, "/ui/experiments")
    expect(page.locator("#experiment-summary")).to_have_text("no experiment yet")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Experiments")

    record = write_record(ctl.home)
    # local-a idle: resnet101 within 120 ms; local-b at x4: only resnet18 fits.
    row = page.locator("tr[data-device='local-a'] td")
    expect(row.nth(1)).to_have_text("resnet152 · 78.31 % (model card)")
    expect(row.nth(3)).to_have_text("resnet101 · 77.37 % (model card)")
    expect(row.nth(2)).to_have_text("180.0")
    expect(row.nth(5)).to_have_text("27.8 %")        # (180 - 130) / 180
    expect(row.nth(6)).to_have_text("0.94 points")
    loaded = page.locator("tr[data-device='local-b'] td")
    expect(loaded.nth(3)).to_have_text("resnet18 · 69.76 % (model card)")
    expect(loaded.nth(7)).to_have_text("100.0 %")    # CPU busy from telemetry
    expect(loaded.nth(8)).to_have_text("×4.00")
    saving = record["phases"][0]["summary"]["saving_rate"]
    assert saving == pytest.approx((50 / 180 + 310 / 400) / 2)
    summary = page.locator("section[data-phase=normal] p.summary")
    expect(summary).to_contain_text("saving rate 52.6 % (≥ 20.0 %)")
    expect(summary).to_contain_text("largest accuracy drop 8.55 points (≤ 10 points)")
    expect(summary.locator(".badge")).to_have_text("PASS")
    expect(page.locator("#experiment-summary")).to_have_text("succeeded · 1 phase(s) · pass")
    assert errors.unexpected() == []
