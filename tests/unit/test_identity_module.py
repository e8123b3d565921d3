"""edgefleet_identity: OS naming from os-release, and a real run of the module."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit._playbook_modules import FIXTURES, LIBRARY, MODULE_UTILS, load, run_module

identity = load(LIBRARY / "edgefleet_identity.py", "edgefleet_identity")


def _release(name: str) -> dict[str, str]:
    return identity.parse_os_release((FIXTURES / "identity" / name).read_text())


def test_debian_os_release_names_like_ansible_facts() -> None:
    assert identity.os_info(_release("os-release.debian12")) == {
        "distribution": "Debian", "version": "12", "family": "Debian",
    }


def test_ubuntu_is_in_the_debian_family() -> None:
    assert identity.os_info(_release("os-release.ubuntu2204")) == {
        "distribution": "Ubuntu", "version": "22.04", "family": "Debian",
    }


def test_unknown_or_missing_release_degrades_to_names_not_errors() -> None:
    assert identity.os_info({}) == {"distribution": None, "version": None, "family": None}
    info = identity.os_info(identity.parse_os_release('NAME="Acme Linux"\nID=acme\n# c\n'))
    assert info == {"distribution": "Acme", "version": None, "family": "Acme"}


def test_module_reports_this_machine(tmp_path: Path) -> None:
    out = run_module("edgefleet_identity",
                     {"os_release": str(FIXTURES / "identity" / "os-release.debian12")}, tmp_path)
    assert out["changed"] is False
    ident = out["identity"]
    assert ident["machine"] == os.uname().machine
    assert ident["kernel"] == os.uname().release
    assert ident["os"]["distribution"] == "Debian"
    assert ident["python"]["version"].count(".") == 2


def test_module_says_whether_this_userland_is_emulated(tmp_path: Path) -> None:
    """This machine runs its own arch natively; an arm64 userland under qemu-user on an
    x86_64 kernel (the lab's rpi hosts) is covered by tests/lab/test_playbooks_by_hand.py."""
    ident = run_module("edgefleet_identity", {}, tmp_path)["identity"]
    assert ident["emulated"] is False
    assert ident["kernel_arch"] == {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]


def test_emulation_reads_the_real_kernels_arch(tmp_path: Path) -> None:
    platform = load(MODULE_UTILS / "edgefleet_platform.py", "edgefleet_platform")
    kernel = tmp_path / "arch"
    kernel.write_text("x86_64\n")
    assert platform.emulation("arm64", str(kernel)) == {
        "kernel_arch": "amd64", "emulated": True, "emulation_evidence": "/proc/sys/kernel/arch"}
    assert platform.emulation("amd64", str(kernel))["emulated"] is False
