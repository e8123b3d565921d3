"""The deploy module with the real Podman of this machine and the real registry: pull by
digest, platform and label checks, test prediction, rollback to the previous digest."""

from __future__ import annotations

import shutil

import pytest

from controller.lab.inventory import SANDBOX_ENGINE_ARGS, SANDBOX_RUN_ARGS
from registry import labels
from registry.build import Builder, BuildRequest
from registry.client import RegistryClient
from registry.platforms import parse
from tests.registry.images import BASE_REF
from tests.unit._playbook_modules import run_module

if not shutil.which("podman"):
    pytest.skip("podman not installed (run scripts/bootstrap.sh as root)", allow_module_level=True)

TASK, MODEL = "image-classification", "deploytest"


@pytest.fixture
def podman_store(tmp_path, monkeypatch):
    """A private Podman storage, so the test never touches the machine's images."""
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path}/graph"\n'
                    f'runroot = "{tmp_path}/run"\n')
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(conf))
    return tmp_path


def build(server, weights, version, arch="amd64"):
    with RegistryClient(server.url) as client:
        return Builder(client).build(BuildRequest(TASK, MODEL, version, parse(arch), weights,
                                                  BASE_REF))


def deploy(server, digest, tmp_path, version, **extra):
    args = {
        "name": "classifier", "image": f"{server.netloc}/models/{TASK}/{MODEL}",
        "digest": digest, "expected_platform": "linux/amd64",
        "expected_labels": {labels.TASK: TASK, labels.MODEL: MODEL, labels.VERSION: version},
        "health_cmd": ["/usr/local/bin/predict", "1", "2", "3"], "insecure_registry": True,
        "engine": "podman", "state_dir": str(tmp_path / "state"),
        # This machine's Podman needs the lab's workarounds, as the lab inventory gives them.
        "engine_args": SANDBOX_ENGINE_ARGS, "run_args": SANDBOX_RUN_ARGS, **extra,
    }
    return run_module("edgefleet_deploy", args, tmp_path)


def test_deploy_then_bad_version_rolls_back(with_bases, weights, podman_store, tmp_path):
    good = build(with_bases, weights, "1.0")
    first = deploy(with_bases, good.manifest_digest, podman_store, "1.0")
    assert first["changed"] is True, first
    result = first["deploy"]
    assert result["status"] == "deployed" and result["engine"] == "podman"
    # The linear model scores bird 3, dog 2, cat 1 for input (1 2 3), computed in the container.
    assert result["prediction"] == {"label": "bird", "score": 3, "arch": "x86_64"}
    assert result["labels"][labels.VERSION] == "1.0"

    again = deploy(with_bases, good.manifest_digest, podman_store, "1.0")
    assert again["deploy"]["status"] == "unchanged" and again["changed"] is False

    broken = tmp_path / "broken.txt"
    broken.write_text("# no classes: the runtime finds nothing to predict\n")
    bad = build(with_bases, broken, "2.0")
    second = deploy(with_bases, bad.manifest_digest, podman_store, "2.0")["deploy"]
    assert second["status"] == "rolled_back", second
    assert second["stage"] == "health" and second["rolled_back_to"] == good.manifest_digest

    wrong_labels = deploy(with_bases, good.manifest_digest, podman_store, "1.0",
                          expected_labels={labels.TASK: "image-classificatio"})["deploy"]
    assert wrong_labels["stage"] == "labels" and wrong_labels["status"] == "failed"


def test_image_for_another_arch_is_refused_before_running(with_bases, weights, podman_store):
    arm = build(with_bases, weights, "3.0", arch="arm64")
    result = deploy(with_bases, arm.manifest_digest, podman_store, "3.0",
                    expected_platform="linux/arm64")["deploy"]
    assert result["status"] == "failed" and result["stage"] == "arch"
    assert "image is linux/arm64, this device is linux/amd64" in result["error"]
    assert result["prediction"] is None


def test_bad_arguments_fail_before_any_pull(tmp_path):
    out = run_module("edgefleet_deploy", {"name": "x", "image": "reg/x", "digest": "latest"},
                     tmp_path)
    assert out["failed"] and "not sha256" in out["msg"]
    out = run_module("edgefleet_deploy", {"name": "x; rm", "image": "reg/x",
                                          "digest": "sha256:" + "a" * 64}, tmp_path)
    assert out["failed"] and "deployment name" in out["msg"]
