"""The real runtime/torch:1 base, built here for amd64 and arm64 and pushed to a real registry.

skopeo is the oracle for the index and configs; the amd64 image runs in the real Podman
(private vfs store, this sandbox's engine workarounds); the arm64 one is mounted and its
python3 run under qemu-user in a chroot (runc can't start a container under qemu here).

Slow the first time on a machine (`slow` marker: debootstrap and pip per arch, ~4 min for
both from an empty cache); later runs reuse /var/cache/edgefleet/rootfs (~30 s in all)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from controller.images.runtime import (
    APP_DIR,
    ARCHES,
    CMD,
    ENV,
    LABEL_PYTHON,
    LABEL_RUNTIME,
    LABEL_TORCH,
    RUNTIME_REF,
    RUNTIME_REPO,
)
from controller.lab.inventory import SANDBOX_ENGINE_ARGS, SANDBOX_RUN_ARGS
from registry.build import OCI_LAYER_TAR
from registry.client import OCI_INDEX, RegistryClient
from tests.registry import oracle
from tests.registry.conftest import push_runtime
from tests.registry.server import running_registry

if os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("podman"):
    pytest.skip("the runtime image needs root, debootstrap and podman "
                "(run scripts/bootstrap.sh as root)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
IMPORTS = "import torch, PIL, numpy, bench.zoo, agent.inference; print(torch.__version__)"
# Sources only in the app dir (no bytecode shipped, PYTHONDONTWRITEBYTECODE writes none).
NO_BYTECODE = (f"import pathlib; print([str(p) for p in pathlib.Path('{APP_DIR}').rglob('*') "
               "if p.name == '__pycache__' or p.suffix == '.pyc'])")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """A registry with runtime/torch:1 for both arches: (server, {platform: result})."""
    with running_registry(tmp_path_factory.mktemp("runtime-registry")) as server:
        with RegistryClient(server.url) as client:
            results = push_runtime(client, ARCHES)
        yield server, {r.platform: r for r in results}


@pytest.fixture
def podman(podman_store):
    """`podman` on the module's private store, which is deleted after the module."""

    def run(*args: str, timeout: float = 300) -> str:
        done = subprocess.run(["podman", *SANDBOX_ENGINE_ARGS, *args], capture_output=True,
                              text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"podman {args[0]}: {done.stderr[-2000:]}"
        return done.stdout.strip()

    return run


def _ref(server, result) -> str:
    return f"{server.netloc}/{RUNTIME_REPO}@{result.manifest_digest}"


def test_index_and_configs_per_arch(runtime):
    server, results = runtime
    index = oracle.raw(f"{server.netloc}/{RUNTIME_REF}")
    assert index["mediaType"] == OCI_INDEX
    platforms = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
                 for m in index["manifests"]}
    assert platforms == {p: r.manifest_digest for p, r in results.items()}
    assert set(platforms) == {"linux/amd64", "linux/arm64"}
    for platform, result in results.items():
        arch = platform.split("/")[1]
        manifest = oracle.raw(_ref(server, result))
        assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_TAR] * 3
        config = oracle.skopeo("--config", f"docker://{_ref(server, result)}")
        assert (config["os"], config["architecture"]) == ("linux", arch)
        assert len(config["rootfs"]["diff_ids"]) == len(config["history"]) == 3
        # Uncompressed layers: each layer's digest is its diff_id.
        assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
        inner = config["config"]
        assert inner["Env"] == ENV and inner["Cmd"] == CMD
        assert inner["ExposedPorts"] == {"8500/tcp": {}}
        assert inner["Labels"] == {LABEL_RUNTIME: "torch", LABEL_TORCH: result.torch,
                                   LABEL_PYTHON: result.python}
    assert results["linux/amd64"].torch == "2.13.0+cpu"
    assert results["linux/arm64"].torch == "2.9.1+cpu"
    assert {r.python for r in results.values()} == {"3.11.2"}


def test_rebuild_pushes_nothing_new(runtime):
    server, first = runtime
    with RegistryClient(server.url) as client:
        again = {r.platform: r for r in push_runtime(client, ARCHES)}
    for platform, result in again.items():
        assert not any(layer.uploaded for layer in result.layers), result.layers
        assert result.layers == [
            type(layer)(layer.name, layer.digest, layer.size, False)
            for layer in first[platform].layers]
        assert result.manifest_digest == first[platform].manifest_digest
        assert result.config_digest == first[platform].config_digest
    assert {r.index_digest for r in again.values()} == {first["linux/arm64"].index_digest}


def test_amd64_image_runs_torch_and_device_packages(runtime, podman):
    server, results = runtime
    result = results["linux/amd64"]
    image = _ref(server, result)
    podman("pull", "--tls-verify=false", "--quiet", image)
    # One run: each container is a full copy of the image's ~1.1 GB in a vfs store.
    out = podman("run", "--rm", "--network", "none", *SANDBOX_RUN_ARGS, image,
                 "python3", "-c", f"{IMPORTS}; {NO_BYTECODE}")
    assert out.splitlines()[-2:] == [result.torch, "[]"]


def test_arm64_image_imports_torch_under_qemu(runtime, podman):
    server, results = runtime
    result = results["linux/arm64"]
    image = _ref(server, result)
    podman("pull", "--tls-verify=false", "--quiet", "--arch", "arm64", image)
    root = podman("image", "mount", image)
    dev = f"{root}/dev"  # the image has no device nodes: an engine would provide /dev
    subprocess.run(["mount", "--bind", "/dev", dev], check=True, timeout=30)
    try:
        env = dict(line.split("=", 1) for line in ENV)
        done = subprocess.run(["chroot", root, "/usr/bin/python3", "-c",
                               "import torch; print(torch.__version__, torch.ones(2).sum())"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[0] == result.torch
    finally:
        subprocess.run(["umount", dev], check=True, timeout=30)
        podman("image", "unmount", image)
