"""Model images built here without a daemon (zoo models on the real torch runtime base),
deployed through the controller's REST API to lab hosts that pull them by digest with their
own Podman over the lab bridge and serve them on port 8500.

- gpu-01 (amd64): the container path: podman pull, platform/label check, a candidate
  container that must predict the health image, then the service container (restart
  policy always); then a version its host cannot run (fp16 is CUDA only) fails its health
  check and the previous service keeps serving.
- rpi-01 (arm64, emulated by qemu-user): podman pull by digest and the platform/label
  check are real; the service runs the pulled image's own arm64 files chrooted in a private
  mount namespace (the inventory's edgefleet_deploy_runner: rootfs), because runc cannot
  start a container under qemu-user: its nsexec init dies ("waiting for init preliminary
  setup: read init-p: connection reset by peer"). Emulated arm64 is ~3000x slower than
  native, so its model is mobilenet_v2 at 64 px.
"""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from controller.registry_service import service
from registry.client import RegistryClient
from tests.lab.conftest import Controller, Lab, free_port, reset_container_stores
from tests.registry.conftest import push_runtime
from tests.registry.server import running_registry
from tests.unit._playbook_modules import ROOT

pytestmark = pytest.mark.lab
TASK, MODEL = "image-classification", "mobilenet_v2"
HEALTH_IMAGE = (ROOT / "playbooks" / "files" / "health.jpg").read_bytes()


class RegistryController(Controller):
    registry_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "EDGEFLEET_REGISTRY_URL": self.registry_url}


@pytest.fixture(scope="module")
def lab_registry(lab: Lab, tmp_path_factory):
    """The registry on the lab bridge address (plain HTTP): runtime bases and the model."""
    root = tmp_path_factory.mktemp("lab-registry")
    with running_registry(root / "reg", host=lab.state.bridge_address) as server:
        with RegistryClient(server.url) as client:
            push_runtime(client, ("amd64", "arm64"))
            for arch, version, variant in (("arm64", "1.0", "fp32"), ("amd64", "1.0", "fp32"),
                                           ("amd64", "2.0", "fp16")):
                service.build(client, arch=arch, task=TASK, model=MODEL, version=version,
                              weights=None, base="runtime/torch:1", input_size=64,
                              variant=variant)
        try:
            yield server
        finally:
            reset_container_stores(lab)


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
        response = c.post("/api/deployments", json={"task": TASK, "model": MODEL, **body})
        assert response.status_code == 201, response.text
    created = response.json()
    job = ctl.wait_job(created["job"]["id"], timeout=900)
    return created, job


def host_result(job: dict, host: str) -> dict:
    return next(h for h in job["hosts"] if h["host"] == host)["result"]


def served(lab: Lab, host: str) -> dict:
    """What the host's model service answers over the lab bridge, from here."""
    url = f"http://{lab.address(host)}:8500"
    health = httpx.get(f"{url}/healthz", timeout=30).json()
    prediction = httpx.post(f"{url}/predict", content=HEALTH_IMAGE, timeout=300,
                            headers={"Content-Type": "image/jpeg"}).json()
    return {**health, "prediction": prediction}


def test_amd64_host_serves_the_image_then_keeps_it_when_a_new_version_fails(
        lab, registry_controller):
    created, job = deploy(registry_controller, arch="x86_64", version="1.0", limit="gpu-01")
    assert job["status"] == "successful", [(h.get("result"), h.get("msg")) for h in job["hosts"]]
    result = host_result(job, "gpu-01")
    digest = created["image"]["manifest_digest"]
    assert result["status"] == "deployed" and result["digest"] == digest
    assert result["engine"] == "podman" and result["platform"] == "linux/amd64"
    assert result["runner"] == "container" and result["prediction"]["top"]
    live = served(lab, "gpu-01")
    assert (live["model"], live["version"]) == (MODEL, "1.0")
    assert len(live["prediction"]["top"]) == 5 and live["prediction"]["latency_ms"]["total"] > 0

    created2, job2 = deploy(registry_controller, arch="amd64", version="2.0", limit="gpu-01")
    assert job2["status"] == "failed"
    failed = host_result(job2, "gpu-01")
    assert failed["status"] == "rolled_back" and failed["stage"] == "health"
    assert failed["digest"] == created2["image"]["manifest_digest"]
    assert failed["rolled_back_to"] == digest
    state = json.loads(lab.ssh("gpu-01", "cat /var/lib/edgefleet/deploy/model.json"))
    assert state["current"]["digest"] == digest  # the good version stayed current
    assert served(lab, "gpu-01")["version"] == "1.0"  # and it never stopped serving


def test_arm64_host_pulls_by_digest_and_serves_from_the_image_files(lab, registry_controller):
    created, job = deploy(registry_controller, arch="aarch64", version="1.0", limit="rpi-01")
    assert job["status"] == "successful", [(h.get("result"), h.get("msg")) for h in job["hosts"]]
    result = host_result(job, "rpi-01")
    assert result["platform"] == "linux/arm64" and result["status"] == "deployed"
    assert result["digest"] == created["image"]["manifest_digest"]
    assert result["runner"] == "rootfs"  # from the lab inventory, not from the request
    live = served(lab, "rpi-01")
    assert (live["model"], live["version"]) == (MODEL, "1.0")
    assert live["prediction"]["top"]
