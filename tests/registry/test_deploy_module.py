"""The deploy module with the real Podman of this machine, the real registry and the real
runtime image: pull by digest, platform and label checks, a candidate service that must
predict the health image, the switch to the service port, and rollback to the previous
service when the new one cannot serve."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from controller.lab.inventory import SANDBOX_ENGINE_ARGS, SANDBOX_RUN_ARGS
from controller.registry_service import service
from registry import labels
from registry.client import RegistryClient
from tests.registry.conftest import push_runtime
from tests.registry.server import free_port, running_registry
from tests.unit._playbook_modules import ROOT, run_module

if not shutil.which("podman"):
    pytest.skip("podman not installed (run scripts/bootstrap.sh as root)", allow_module_level=True)

TASK, MODEL = "image-classification", "mobilenet_v2"
HEALTH_IMAGE = ROOT / "playbooks" / "files" / "health.jpg"


@pytest.fixture(scope="module")
def runtime_registry(tmp_path_factory):
    with running_registry(tmp_path_factory.mktemp("deploy-registry")) as server:
        with RegistryClient(server.url) as client:
            push_runtime(client, ("amd64", "arm64"))
        yield server


@pytest.fixture(scope="module")
def ports():
    return free_port(), free_port()


def build(server, version, arch="amd64", **kw):
    with RegistryClient(server.url) as client:
        return service.build(client, arch=arch, task=TASK, model=MODEL, version=version,
                             weights=None, base="runtime/torch:1", input_size=64, **kw)


def deploy(server, built, state: Path, ports, version, **extra):
    args = {
        "name": "classifier", "image": f"{server.netloc}/models/{TASK}/{MODEL}",
        "digest": built["manifest_digest"], "expected_platform": "linux/amd64",
        "expected_labels": {labels.TASK: TASK, labels.MODEL: MODEL, labels.VERSION: version},
        "port": ports[0], "candidate_port": ports[1], "health_image": str(HEALTH_IMAGE),
        "health_timeout": 120, "insecure_registry": True, "engine": "podman",
        "state_dir": str(state / "state"), "agent_run_dir": str(state / "agent"),
        # This machine's Podman needs the lab's workarounds, as the lab inventory gives them.
        "engine_args": SANDBOX_ENGINE_ARGS, "run_args": SANDBOX_RUN_ARGS, **extra,
    }
    return run_module("edgefleet_deploy", args, state, timeout=600)


def serving(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()


def test_deploy_serves_then_a_broken_version_rolls_back(runtime_registry, podman_store,
                                                        ports):
    good = build(runtime_registry, "1.0")
    first = deploy(runtime_registry, good, podman_store, ports, "1.0")
    assert first["changed"] is True, first
    result = first["deploy"]
    assert result["status"] == "deployed" and result["engine"] == "podman", result
    # A real prediction on the decoded health image (the module keeps the top 3 classes).
    assert len(result["prediction"]["top"]) == 3
    assert result["prediction"]["latency_ms"]["total"] > 0
    # The service keeps serving after the module has gone, on the service port only.
    assert serving(ports[0])["version"] == "1.0"
    with pytest.raises(httpx.ConnectError):
        serving(ports[1])
    policy = subprocess.run(
        ["podman", *SANDBOX_ENGINE_ARGS, "inspect", "--format",
         "{{.HostConfig.RestartPolicy.Name}}", "edgefleet-classifier"],
        capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert policy == "always"

    again = deploy(runtime_registry, good, podman_store, ports, "1.0")
    assert again["deploy"]["status"] == "unchanged" and again["changed"] is False

    # fp16 runs on CUDA only: the image's server refuses to start, the health check fails,
    # and version 1.0 keeps serving on the service port.
    bad = build(runtime_registry, "2.0", variant="fp16")
    second = deploy(runtime_registry, bad, podman_store, ports, "2.0")["deploy"]
    assert second["status"] == "rolled_back", second
    assert second["stage"] == "health" and second["rolled_back_to"] == good["manifest_digest"]
    assert "fp16" in second["error"]
    assert serving(ports[0])["version"] == "1.0"
    state = json.loads((podman_store / "state" / "classifier.json").read_text())
    assert state["current"]["digest"] == good["manifest_digest"]

    wrong_labels = deploy(runtime_registry, bad, podman_store, ports, "2.0",
                          expected_labels={labels.TASK: "image-classificatio"})["deploy"]
    assert wrong_labels["stage"] == "labels" and wrong_labels["status"] == "rolled_back"
    assert serving(ports[0])["version"] == "1.0"


def test_image_for_another_arch_is_refused_before_running(runtime_registry, podman_store,
                                                          ports, tmp_path):
    arm = build(runtime_registry, "3.0", arch="arm64")
    result = deploy(runtime_registry, arm, tmp_path, ports, "3.0",
                    expected_platform="linux/arm64")["deploy"]
    assert result["status"] == "failed" and result["stage"] == "arch"
    assert "image is linux/arm64, this device is linux/amd64" in result["error"]
    assert result["prediction"] is None


def test_a_device_without_an_engine_says_so(tmp_path, ports):
    args = {"name": "x", "image": "reg/x", "digest": "sha256:" + "a" * 64,
            "health_image": str(HEALTH_IMAGE), "state_dir": str(tmp_path / "state"),
            "port": ports[0], "candidate_port": ports[1]}
    empty = tmp_path / "bin"
    empty.mkdir()
    out = run_module("edgefleet_deploy", args, tmp_path, env={**os.environ, "PATH": str(empty)})
    assert out["deploy"]["status"] == "failed" and out["deploy"]["stage"] == "engine"
    assert "no container engine" in out["deploy"]["error"]


def test_bad_arguments_fail_before_any_pull(tmp_path):
    base = {"name": "x", "image": "reg/x", "digest": "sha256:" + "a" * 64,
            "health_image": str(HEALTH_IMAGE)}
    out = run_module("edgefleet_deploy", {**base, "digest": "latest"}, tmp_path)
    assert out["failed"] and "not sha256" in out["msg"]
    out = run_module("edgefleet_deploy", {**base, "name": "x; rm"}, tmp_path)
    assert out["failed"] and "deployment name" in out["msg"]
    out = run_module("edgefleet_deploy", {**base, "port": 8500, "candidate_port": 8500},
                     tmp_path)
    assert out["failed"] and "must differ" in out["msg"]
    out = run_module("edgefleet_deploy", {**base, "health_image": str(tmp_path / "none.jpg")},
                     tmp_path)
    assert out["failed"] and "health image" in out["msg"]
