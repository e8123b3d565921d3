"""On-device benchmarks for real: POST /api/benchmarks/run on lab hosts that have no torch.

The controller pins runtime/torch:1 (Debian + PyTorch CPU + bench) from its registry on the
lab bridge; each host pulls it by index digest with its own Podman and runs `python3 -m
bench` inside it: gpu-01 (amd64) in a container with no network, rpi-01 (arm64 under
qemu-user) chrooted into the image's arm64 files (runc cannot start there). The rows say
which ran emulated. Emulated arm64 is ~3000x slower than native, so mobilenet_v2 at 32 px.
"""

from __future__ import annotations

import secrets
import time

import pytest

from registry.client import RegistryClient
from tests.lab.conftest import Controller, Lab, free_port, reset_container_stores
from tests.lab.test_registry_on_lab import RegistryController
from tests.registry.conftest import push_runtime
from tests.registry.server import running_registry

pytestmark = pytest.mark.lab
TINY = ["--input-size", "32", "--warmup", "1", "--e2e-iterations", "2",
        "--throughput-batch", "0"]
SMALL = {"edgefleet_bench_models": ["mobilenet_v2"], "edgefleet_bench_iterations": 5,
         "edgefleet_bench_variants": ["fp32"], "edgefleet_bench_extra_args": TINY}


@pytest.fixture(scope="module")
def bench_controller(lab: Lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-lab")
    with running_registry(root / "reg", host=lab.state.bridge_address) as server:
        with RegistryClient(server.url) as client:
            push_runtime(client, ("amd64", "arm64"))
        ctl = RegistryController(lab.state.bridge_address, free_port(), root / "home",
                                 lab.inventory, secrets.token_urlsafe(24))
        ctl.home.mkdir()
        ctl.registry_url = server.url
        ctl.start()
        try:
            yield ctl
        finally:
            ctl.stop()
            reset_container_stores(lab)


def run_bench(ctl: Controller, limit: str, extra: dict) -> dict:
    with ctl.client() as c:
        res = c.post("/api/benchmarks/run",
                     json={"limit": limit, "extra_vars": extra, "timeout_s": 540})
        assert res.status_code == 201, res.text
    return ctl.wait_job(res.json()["id"], timeout=570)


def stored(ctl: Controller, job_id: str, devices: set[str], timeout: float = 60) -> list[dict]:
    """The job's rows once the controller's collector stored every device's (bounded)."""
    deadline = time.monotonic() + timeout
    with ctl.client() as c:
        while time.monotonic() < deadline:
            rows = [r for r in c.get("/api/benchmarks").json() if r["job_id"] == job_id]
            if {r["device"] for r in rows} >= devices:
                return rows
            time.sleep(0.5)
    raise AssertionError(f"results of {sorted(devices)} not stored after {timeout}s")


def test_bench_runs_in_the_runtime_image_on_amd64_and_emulated_arm64(bench_controller):
    job = run_bench(bench_controller, "gpu-01,rpi-01", SMALL)
    assert job["status"] == "successful", [(h["host"], h.get("msg")) for h in job["hosts"]]
    assert {h["host"]: h["status"] for h in job["hosts"]} == {"gpu-01": "ok", "rpi-01": "ok"}
    rows = {r["device"]: r for r in stored(bench_controller, job["id"], {"gpu-01", "rpi-01"})}
    gpu, rpi = rows["gpu-01"], rows["rpi-01"]
    for row in (gpu, rpi):
        assert (row["model"], row["variant"], row["latency_ms"]["n"]) == ("mobilenet_v2",
                                                                          "fp32", 5)
        assert 0 < row["latency_ms"]["p50"] <= row["latency_ms"]["p90"]
        assert row["image_digest"] == job["extra_vars"]["edgefleet_bench_digest"]
    assert (gpu["platform"], gpu["kernel_arch"], gpu["emulated"]) == ("linux/amd64", "amd64",
                                                                      False)
    assert (rpi["platform"], rpi["kernel_arch"], rpi["emulated"]) == ("linux/arm64", "amd64",
                                                                      True)
    print(f"mobilenet_v2 fp32 32px p50: gpu-01 {gpu['latency_ms']['p50']:.2f} ms, "
          f"rpi-01 (emulated) {rpi['latency_ms']['p50']:.2f} ms")


def test_a_failing_host_shows_the_harness_s_own_error_in_the_job(bench_controller):
    job = run_bench(bench_controller, "gpu-01", {**SMALL, "edgefleet_bench_models": ["resnet9"]})
    assert job["status"] == "failed"
    [host] = job["hosts"]
    assert host["status"] == "failed"
    assert host["msg"].startswith("Benchmark the models in the runtime image: python3 exited 2")
    assert "unknown model 'resnet9'" in host["msg"]
