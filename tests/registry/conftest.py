"""Real registries for the integration tests, and the per-arch busybox base images in them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from registry.auth import Credentials
from registry.base import push_base
from registry.client import RegistryClient
from registry.platforms import parse
from tests.registry.images import BASE_REF, busybox_for, busybox_rootfs
from tests.registry.server import PASSWORD, USER, running_registry

if not shutil.which("docker-registry") or not shutil.which("skopeo"):
    pytest.skip("docker-registry/skopeo not installed (run scripts/bootstrap.sh as root)",
                allow_module_level=True)


def push_busybox_bases(client: RegistryClient, work: Path, arches=("amd64", "arm64")) -> None:
    for arch in arches:
        platform = parse(arch)
        rootfs = busybox_rootfs(work / f"rootfs-{platform.slug}", busybox_for(platform))
        push_base(client, BASE_REF, platform, rootfs, cmd=["/usr/local/bin/predict"])


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
