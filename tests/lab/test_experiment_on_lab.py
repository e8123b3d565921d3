"""The seed experiment on the lab's amd64 hosts (gpu-01, gpu-02), end to end through the CLI.

Real parts: agents on both hosts push telemetry to a real controller; monitor.yml measures
their bandwidth with iperf3; `edgefleet experiment` builds the model images on the real
torch runtime, deploys each choice with deploy_model.yml, measures it over real JPEGs on
the device, and repeats with load.yml burning CPU on gpu-02.

The stored results are the committed benchmarks/results/amd64-cpu-2threads-batch1.json rows
(fp32, 224 px, measured on this machine when it was quiet), uploaded for both hosts:
re-measuring them here during the suite inverted their order on a contended run (resnet152
faster than resnet50), and a selection test must rest on ordered figures. What the test
then measures live is the device's own e2e latency of each choice.

The objective is `accuracy` (the most accurate model within budget and tolerance): with
`latency` the advanced choice is already the fastest tolerated model, and a load that slows
every model alike cannot make another one faster. Greedy is resnet152; the budget is 1.3x
resnet50's p90 at the live slowdown, so normally resnet50 is chosen (resnet152 is 2.46x
slower; 1.3 leaves room for the slowdown's drift between reading it and planning); once the
burner has raised the slowdown more than 1.3x, resnet50 no longer fits and a smaller model
does (resnet18 up to a 3.0x rise, mobilenet_v2 up to 5.4x; both within 10 points of
resnet152). The slowdown is the whole machine's (lab hosts share its kernel): a contended
run measured x3.18 -> x4.37, a quiet one more. The emulated arm64 hosts stay out: they
are ~3000x slower than native.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from controller.selection.live import LiveState
from registry.client import RegistryClient
from tests.lab.conftest import REPO, VENV_BIN, Controller, Lab, free_port, reset_container_stores
from tests.registry.conftest import push_runtime
from tests.registry.server import running_registry

pytestmark = pytest.mark.lab
HOSTS = ("gpu-01", "gpu-02")
MODELS = ("mobilenet_v2", "resnet18", "resnet50", "resnet152")
BENCH_THREADS = 2  # the committed rows' threads


class ExperimentController(Controller):
    registry_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "EDGEFLEET_REGISTRY_URL": self.registry_url,
                "EDGEFLEET_REGISTRY_BASE": "runtime/torch:1"}


@pytest.fixture(scope="module")
def ctl(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExperimentController]:
    root = tmp_path_factory.mktemp("experiment")
    with running_registry(root / "reg", host=lab.state.bridge_address) as server:
        with RegistryClient(server.url) as client:
            push_runtime(client, ("amd64",))
        c = ExperimentController(lab.state.bridge_address, free_port(), root / "home",
                                 lab.inventory, "t" * 24)
        c.home.mkdir()
        c.registry_url = server.url
        c.start()
        try:
            yield c
        finally:
            subprocess.run([str(VENV_BIN / "edgefleet"), "agent", "install", "--inventory",
                            str(lab.inventory), "--limit", ",".join(HOSTS), "--stop"],
                           env=c.env(), capture_output=True, timeout=300)
            c.stop()
            reset_container_stores(lab)


def _edgefleet(ctl: Controller, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "edgefleet"), *args], env=ctl.env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def fleet(lab: Lab, ctl: ExperimentController) -> dict[str, float]:
    """Agents, bandwidth and stored results for both hosts; the p90 of each model."""
    res = _edgefleet(ctl, "agent", "install", "--inventory", str(lab.inventory), "--limit",
                     ",".join(HOSTS), "--controller-url", ctl.url, "--json", timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    with ctl.client() as c:
        job = c.post("/api/jobs", json={"playbook": "monitor", "limit": ",".join(HOSTS)}).json()
    assert ctl.wait_job(job["id"], timeout=300)["status"] == "successful"
    committed = json.loads((REPO / "benchmarks/results/amd64-cpu-2threads-batch1.json")
                           .read_text())
    rows = [r for r in committed if r["model"] in MODELS and r["variant"] == "fp32"]
    assert sorted(r["model"] for r in rows) == sorted(MODELS)
    with ctl.client() as c:
        for host in HOSTS:
            r = c.post("/api/benchmarks", json={"device": host, "results": rows})
            assert r.status_code == 201, r.text
    return {r["model"]: r["latency_ms"]["p90"] for r in rows}


def _slowdown_now(ctl: Controller, host: str) -> float:
    """The live slowdown the plan will apply, from the newest readings of `host`."""
    with ctl.client() as c:
        latest = c.get(f"/api/devices/{host}").json()["latest"]
    busy = next(r["value"] for r in latest
                if r["name"] == "cpu_usage_ratio" and r["labels"] == {"cpu": "total"})
    load = next(r["value"] for r in latest
                if r["name"] == "load_average" and r["labels"] == {"period": "1m"})
    cores = sum(r["name"] == "cpu_usage_ratio" and r["labels"]["cpu"] != "total"
                for r in latest)
    return LiveState(cpu_busy=busy, cores=cores, load_1m=load).load_slowdown(BENCH_THREADS)


@pytest.mark.timeout(1500)
def test_experiment_table_and_adaptation_to_load(ctl: ExperimentController,
                                                  fleet: dict[str, float]) -> None:
    assert fleet["resnet50"] * 2 < fleet["resnet152"], fleet
    budget = 1.3 * fleet["resnet50"] * _slowdown_now(ctl, "gpu-02")
    res = _edgefleet(ctl, "experiment", "--controller", ctl.url, "--budget-ms", f"{budget:.1f}",
                     "--max-acc-drop", "10", "--acc-drop-mode", "points", "--objective",
                     "accuracy", "--limit", ",".join(HOSTS), "--images", "6",
                     "--load-device", "gpu-02", "--json", timeout=1400)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    record = json.loads(res.stdout)
    print(json.dumps({"budget_ms": budget, "p90": fleet, "phases": record["phases"],
                      "adaptation": record["adaptation"]}, indent=1))
    normal, loaded = record["phases"]
    assert (normal["name"], loaded["name"]) == ("normal", "load")
    assert loaded["load"]["device"] == "gpu-02"
    for phase in (normal, loaded):
        assert [r["device"] for r in phase["rows"]] == list(HOSTS)
        for r in phase["rows"]:
            assert r["error"] is None, r["error"]
            assert r["greedy"]["label"] == "resnet152"
            assert r["greedy"]["accuracy_kind"] == "model card"
            for role in ("greedy", "advanced"):
                m = r[role]["measured"]
                assert m["n"] == 6 and m["median_ms"] > 0 and set(m["phases_ms"]) == {
                    "decode", "preprocess", "forward", "postprocess"}
                assert m["image"].split("@")[1].startswith("sha256:")
            assert r["t_b_ms"] == r["greedy"]["measured"]["median_ms"]
            assert r["saving"] == pytest.approx((r["t_b_ms"] - r["t_a_ms"]) / r["t_b_ms"])
            assert r["status"]["downlink_mbps"] > 0
        s = phase["summary"]
        assert s["devices_measured"] == 2 and s["acc_drop_mode"] == "points"
        assert s["passed"] == (s["saving_rate"] >= 0.2 and s["accuracy_drop"] <= 10)
    by_device = {r["device"]: r for r in normal["rows"]}
    assert by_device["gpu-02"]["advanced"]["label"] == "resnet50"
    under_load = {r["device"]: r for r in loaded["rows"]}["gpu-02"]
    assert under_load["status"]["load_slowdown"] > by_device["gpu-02"]["status"]["load_slowdown"]
    adapted = record["adaptation"]
    assert adapted["device"] == "gpu-02" and adapted["greedy_unchanged"], adapted
    assert adapted["advanced_changed"], adapted
    assert adapted["advanced"][1] in ("resnet18", "mobilenet_v2"), adapted
