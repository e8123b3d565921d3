"""`edgefleet select`: from a results file or the controller's store; JSON and table output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import BenchResult
from controller.carbon import CarbonIntensity, CarbonSettings
from controller.cli.main import app
from controller.config import Settings
from controller.store import Store
from tests.unit.selection.builders import resnets


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEFLEET_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def results_file(tmp_path: Path) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(resnets("rpi-001", scale=3.0) + resnets("gpu-001")))
    return path


def select(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["select", *args])


def test_json_report_has_the_fleet_figures_at_the_top(results_file: Path, home: Path) -> None:
    res = select("--results", str(results_file), "--budget-ms", "300", "--max-acc-drop", "10",
                 "--acc-drop-mode", "points", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["latency_saving_rate"] == pytest.approx((200.7 - 53.9) / 200.7)
    assert report["accuracy_drop"] == pytest.approx(78.312 - 69.758)
    assert report["acc_drop_unit"] == "percentage points"
    assert [d["device"] for d in report["devices"]] == ["gpu-001", "rpi-001"]


def test_table_names_mode_choices_and_what_would_fit(results_file: Path, home: Path) -> None:
    res = select("--results", str(results_file), "--budget-ms", "100", "--max-acc-drop", "0.1")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "relative: fraction of greedy's accuracy" in text
    assert "resnet34" in text  # gpu-001: relative 10 % keeps resnet18 out
    assert "a budget of 191.7 ms would allow resnet34" in text  # rpi-001


def test_device_from_the_store(home: Path) -> None:
    store = Store(Settings.from_env().db_url)
    repo = BenchmarkRepository(store, CarbonIntensity(CarbonSettings(token=None)))
    repo.add("rpi-001", [BenchResult.model_validate(r) for r in resnets("x", scale=3.0)], "KR")
    repo.add("gpu-001", [BenchResult.model_validate(r) for r in resnets("y")], None)
    store.dispose()
    res = select("--device", "rpi-001", "--budget-ms", "700", "--max-acc-drop", "0.1", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert [d["device"] for d in report["devices"]] == ["rpi-001"]
    # carbon was priced on the way in (KR fallback table: no token) and shows in the choice
    assert report["devices"][0]["advanced"]["carbon_g"] == pytest.approx(2.0 / 3.6e6 * 430.6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--results", "/nonexistent.json"], "cannot read /nonexistent.json"),
        (["--device", "nosuch"], "no benchmark results stored for device 'nosuch'"),
        (["--max-acc-drop", "20"], "must be a fraction between 0 and 1"),
    ],
)
def test_errors_exit_2_with_one_line(home: Path, args: list[str], message: str) -> None:
    base = {"--budget-ms": "100", "--max-acc-drop": "0.1"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    res = select(*[x for kv in base.items() for x in kv])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


def test_malformed_results_file(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"model": "resnet18", "latency_ms": {"p50": 1}}]))
    res = select("--results", str(bad), "--budget-ms", "100", "--max-acc-drop", "0.1")
    assert res.exit_code == 2 and "[0].latency_ms.mean: Field required" in res.output
