"""Controller-side filters that build the ping and upgrade result shapes."""

from __future__ import annotations

import pytest

from tests.unit._playbook_modules import FILTERS, load

f = load(FILTERS / "edgefleet.py", "edgefleet_filters")


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("aarch64", "arm64"), ("x86_64", "amd64"), ("armv7l", "arm"), ("mips", "mips"), ("", None)],
)
def test_oci_arch(machine, arch):
    assert f.oci_arch(machine) == arch


def test_filters_are_registered_under_edgefleet_names():
    assert set(f.FilterModule().filters()) == {
        "edgefleet_oci_arch",
        "edgefleet_hold_candidates",
        "edgefleet_package_diff",
    }


HOLDS = ["nvidia-*", "libnvidia-*", "cuda-*", "nvidia-l4t-*", "docker-ce", "containerd.io"]


def test_hold_candidates_only_installed_matches():
    installed = {
        "nvidia-driver-535": [],
        "libnvidia-compute-535": [],
        "cuda-toolkit-12-2": [],
        "nvidia-l4t-kernel": [],
        "docker-ce": [],
        "docker-ce-rootless-extras": [],  # exact name in the list, not a prefix
        "containerd.io": [],
        "openssh-server": [],
        "libcuda1": [],
    }
    assert f.hold_candidates(installed, HOLDS) == [
        "containerd.io",
        "cuda-toolkit-12-2",
        "docker-ce",
        "libnvidia-compute-535",
        "nvidia-driver-535",
        "nvidia-l4t-kernel",
    ]
    assert f.hold_candidates({"openssh-server": []}, HOLDS) == []


def _pkgs(**versions):
    return {
        name.replace("_", "-"): [{"name": name, "version": v, "arch": "all"}]
        for name, v in versions.items()
    }


def test_package_diff_upgraded_installed_removed():
    before = _pkgs(edgefleet_demo="1.0", openssl="3.0.11-1", oldlib="1")
    after = _pkgs(edgefleet_demo="1.1", openssl="3.0.11-1", newdep="2.0")
    assert f.package_diff(before, after) == {
        "upgraded": [{"name": "edgefleet-demo", "from": "1.0", "to": "1.1"}],
        "installed": [{"name": "newdep", "version": "2.0"}],
        "removed": ["oldlib"],
    }


def test_package_diff_multiarch_versions_and_no_change():
    before = {"libc6": [{"version": "2.36-9"}, {"version": "2.36-9"}]}
    after = {"libc6": [{"version": "2.36-9+deb12u1"}, {"version": "2.36-9+deb12u1"}]}
    diff = f.package_diff(before, after)
    assert diff["upgraded"] == [{"name": "libc6", "from": "2.36-9", "to": "2.36-9+deb12u1"}]
    assert f.package_diff(before, before) == {"upgraded": [], "installed": [], "removed": []}
    assert f.package_diff(None, None) == {"upgraded": [], "installed": [], "removed": []}
