"""Real registries for the integration tests, the per-arch busybox base images in them, and
the real runtime/torch base (push_runtime)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.images.runtime import ARCHES, RuntimeResult, build_runtime
from controller.lab.config import DEFAULT_CACHE_DIR
from controller.lab.inventory import SANDBOX_ENGINE_ARGS
from registry.auth import Credentials
from registry.base import push_base
from registry.client import RegistryClient
from registry.platforms import parse
from tests.registry.images import BASE_REF, busybox_for, busybox_rootfs
from tests.registry.server import PASSWORD, USER, running_registry
from tests.scratch import remove_tree

if not shutil.which("docker-registry") or not shutil.which("skopeo"):
    pytest.skip("docker-registry/skopeo not installed (run scripts/bootstrap.sh as root)",
                allow_module_level=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds the runtime/torch image; minutes from an empty cache "
        "(debootstrap + pip per arch), seconds once /var/cache/edgefleet/rootfs is warm")


def push_runtime(client: RegistryClient, arches=ARCHES,
                 cache_dir: Path = DEFAULT_CACHE_DIR) -> list[RuntimeResult]:
    """Push the real runtime/torch:1 (Debian + PyTorch CPU + device packages) for `arches`.

    Needs root. Slow only the first time on a machine (the rootfs and site-packages caches
    are shared with `edgefleet registry runtime`); then ~10 s per arch into a new registry
    and a no-op re-push into one that has it."""
    if os.geteuid() != 0:
        pytest.skip("the runtime image needs root (debootstrap, chroot)")
    return build_runtime(client, arches, cache_dir)


def push_busybox_bases(client: RegistryClient, work: Path, arches=("amd64", "arm64")) -> None:
    for arch in arches:
        platform = parse(arch)
        rootfs = busybox_rootfs(work / f"rootfs-{platform.slug}", busybox_for(platform))
        push_base(client, BASE_REF, platform, rootfs, cmd=["/usr/local/bin/predict"])


@pytest.fixture(scope="module")
def podman_store(tmp_path_factory):
    """A private Podman storage, so a test never touches the machine's images; its
    containers are removed afterwards."""
    root = tmp_path_factory.mktemp("podman")
    conf = root / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{root}/graph"\n'
                    f'runroot = "{root}/run"\n')
    old = os.environ.get("CONTAINERS_STORAGE_CONF")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(conf)
    yield root
    subprocess.run(["podman", *SANDBOX_ENGINE_ARGS, "rm", "--all", "--force"],
                   capture_output=True, timeout=120)
    remove_tree(root)  # vfs copies every layer in full: several GB
    if old is None:
        os.environ.pop("CONTAINERS_STORAGE_CONF", None)
    else:
        os.environ["CONTAINERS_STORAGE_CONF"] = old


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory):
    with running_registry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="module")
def with_bases(registry_server, tmp_path_factory):
    """The open registry with busybox bases for amd64 and arm64 under runtime/busybox:1."""
    with RegistryClient(registry_server.url) as client:
        push_busybox_bases(client, tmp_path_factory.mktemp("bases"))
    return registry_server


@pytest.fixture
def weights(tmp_path) -> Path:
    from tests.registry.images import WEIGHTS

    path = tmp_path / "weights.txt"
    path.write_text(WEIGHTS)
    return path


CREDS = Credentials(USER, PASSWORD)
