"""Model images built here without a daemon, deployed through the controller's REST API to
lab hosts that pull them by digest with their own Podman over the lab bridge.

- gpu-01 (amd64): the full container path: podman pull, platform/label check, `podman run`
  test prediction; then a broken version fails its health check and rolls back.
- rpi-01 (arm64, emulated by qemu-user): podman pull by digest and the platform/label check
  are real; the test prediction runs the pulled image's own arm64 files in a chroot
  (runner=rootfs), because runc cannot start a container under qemu-user: its nsexec init
  dies ("waiting for init preliminary setup: read init-p: connection reset by peer").
"""

from __future__ import annotations

import json
import secrets

import pytest

from registry.build import Builder, BuildRequest
from registry.client import RegistryClient
from registry.platforms import parse
from tests.lab.conftest import Controller, Lab, free_port
from tests.registry.conftest import push_busybox_bases
from tests.registry.images import BASE_REF, WEIGHTS
from tests.registry.server import running_registry

pytestmark = pytest.mark.lab
TASK, MODEL = "image-classification", "lab-net"
PREDICT = ["/usr/local/bin/predict", "1", "2", "3"]


class RegistryController(Controller):
    registry_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "EDGEFLEET_REGISTRY_URL": self.registry_url}


@pytest.fixture(scope="module")
def lab_registry(lab: Lab, tmp_path_factory):
    """The registry on the lab bridge address (plain HTTP), holding bases and the model."""
    root = tmp_path_factory.mktemp("lab-registry")
    with running_registry(root / "reg", host=lab.state.bridge_address) as server:
        good, broken = root / "weights.txt", root / "broken.txt"
        good.write_text(WEIGHTS)
        broken.write_text("# no classes\n")
        with RegistryClient(server.url) as client:
            push_busybox_bases(client, root)
            for arch, version, weights in (("arm64", "1.0", good), ("amd64", "1.0", good),
                                           ("amd64", "2.0", broken)):
                Builder(client).build(BuildRequest(TASK, MODEL, version, parse(arch), weights,
                                                   BASE_REF))
        yield server


@pytest.fixture(scope="module")
def registry_controller(lab: Lab, lab_registry, tmp_path_factory):
    ctl = RegistryController(lab.state.bridge_address, free_port(),
                             tmp_path_factory.mktemp("reg-controller"), lab.inventory,
                             secrets.token_urlsafe(24))
    ctl.registry_url = lab_registry.url
    ctl.start()
    try:
        yield ctl
    finally:
        ctl.stop()


def deploy(ctl: Controller, **body) -> tuple[dict, dict]:
    with ctl.client() as c:
        response = c.post("/api/deployments", json={"task": TASK, "model": MODEL,
                                                     "health_cmd": PREDICT, **body})
        assert response.status_code == 201, response.text
    created = response.json()
    job = ctl.wait_job(created["job"]["id"], timeout=900)
    return created, job


def host_result(job: dict, host: str) -> dict:
    return next(h for h in job["hosts"] if h["host"] == host)["result"]


def test_amd64_host_runs_the_image_then_rolls_back_a_broken_version(lab, registry_controller):
    created, job = deploy(registry_controller, arch="x86_64", version="1.0", limit="gpu-01")
    assert job["status"] == "successful", [(h.get("result"), h.get("msg")) for h in job["hosts"]]
    result = host_result(job, "gpu-01")
    digest = created["image"]["manifest_digest"]
    assert result["status"] == "deployed" and result["digest"] == digest
    assert result["engine"] == "podman" and result["platform"] == "linux/amd64"
    assert result["prediction"] == {"label": "bird", "score": 3, "arch": "x86_64"}
    assert digest in lab.ssh("gpu-01", "podman --storage-driver vfs images --digests "
                                       "--format '{{.Digest}}'")

    created2, job2 = deploy(registry_controller, arch="amd64", version="2.0", limit="gpu-01")
    assert job2["status"] == "failed"
    failed = host_result(job2, "gpu-01")
    assert failed["status"] == "rolled_back" and failed["stage"] == "health"
    assert failed["digest"] == created2["image"]["manifest_digest"]
    assert failed["rolled_back_to"] == digest
    state = json.loads(lab.ssh("gpu-01", "cat /var/lib/edgefleet/deploy/model.json"))
    assert state["current"]["digest"] == digest  # the good version stayed current


def test_arm64_host_pulls_by_digest_and_predicts(lab, registry_controller):
    created, job = deploy(registry_controller, arch="aarch64", version="1.0", limit="rpi-01",
                          runner="rootfs")
    assert job["status"] == "successful", [(h.get("result"), h.get("msg")) for h in job["hosts"]]
    result = host_result(job, "rpi-01")
    assert result["platform"] == "linux/arm64" and result["status"] == "deployed"
    assert result["digest"] == created["image"]["manifest_digest"]
    # Computed by the image's arm64 busybox on the emulated arm64 host.
    assert result["prediction"] == {"label": "bird", "score": 3, "arch": "aarch64"}
