"""Lab configuration: every name and address is a field so a test lab can sit beside a real one."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/edgefleet/lab")
DEFAULT_CACHE_DIR = Path("/var/cache/edgefleet/rootfs")
STATE_DIR_ENV = "EDGEFLEET_LAB_DIR"

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Bump when the rootfs recipe changes so stale caches are never reused.
ROOTFS_VERSION = 2
ROOTFS_PACKAGES = (
    "openssh-server",
    "python3",
    "python3-apt",
    "chrony",
    "iproute2",
    "iperf3",
    "procps",
    "init-system-helpers",
    # Container engine for the model-registry deploy tests (podman pulls by digest; runc,
    # not crun: crun fails on this machine's hybrid cgroups).
    "podman",
    "runc",
    "containernetworking-plugins",  # provides container-network-stack (debootstrap can't pick)
)

APT_REPO_PORT = 8873
NTP_PORT = 123
IPERF_PORT = 5201


def _default_state_dir() -> Path:
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env) if env else DEFAULT_STATE_DIR


@dataclass(frozen=True)
class LabConfig:
    """Where a lab keeps its state and which network names/addresses it owns."""

    state_dir: Path = field(default_factory=_default_state_dir)
    cache_dir: Path = DEFAULT_CACHE_DIR
    bridge: str = "efbr0"
    subnet: str = "10.213.0.0/24"
    prefix: str = "ef-"
    apt_port: int = APT_REPO_PORT
    ready_timeout: float = 180.0

    def __post_init__(self) -> None:
        # Accept str paths from callers; store Path so the rest of the code never converts.
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def key_path(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def default_inventory(self) -> Path:
        return self.state_dir / "inventory.yml"

    @property
    def hosts_dir(self) -> Path:
        return self.state_dir / "hosts"

    @property
    def services_dir(self) -> Path:
        return self.state_dir / "services"
