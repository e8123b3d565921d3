"""Minimal Debian rootfs per arch for runtime images: minbase bookworm plus python3.

Built by the same cached debootstrap as the lab's rootfs (one lock, stamp and partial-dir
logic) but without ssh, chrony or an init: a container needs only the interpreter."""

from __future__ import annotations

from pathlib import Path

from controller.images.errors import ImageBuildError
from controller.lab import rootfs
from controller.lab.config import SUITE

# Bump when the recipe below changes so a stale cache is never reused.
VERSION = 1
PACKAGES = ("python3",)


def rootfs_name(arch: str) -> str:
    return f"runtime-{SUITE}-{arch}-v{VERSION}"


def ensure_runtime_rootfs(cache_dir: Path, arch: str,
                          progress: rootfs.Progress | None = None) -> Path:
    """The cached rootfs for `arch`, debootstrapped first when missing (a minute or three)."""
    if not rootfs.ensure_foreign_arch(arch):
        raise ImageBuildError(f"cannot run {arch} binaries here: qemu-user-static binfmt "
                              "is not available (install qemu-user-static binfmt-support)")
    return rootfs.cached_debootstrap(cache_dir, rootfs_name(arch), arch, PACKAGES,
                                     _customise, progress)


def _customise(root: Path, _log: Path) -> None:
    """Drop what debootstrap copied from this machine or only apt needs, so the image
    carries no host details and no package lists that go stale."""
    for name in ("etc/hostname", "etc/resolv.conf"):
        (root / name).unlink(missing_ok=True)
        (root / name).write_text("")  # the engine mounts its own over these
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin",
                    "var/lib/apt/lists/*_*", "var/log/bootstrap.log"):
        for junk in root.glob(pattern):
            junk.unlink()
    machine_id = root / "etc/machine-id"
    if machine_id.exists():
        machine_id.write_text("")
    if not (root / "usr/bin/python3").exists():
        raise ImageBuildError(f"runtime rootfs {root} has no /usr/bin/python3")


def python_version(root: Path) -> str:
    """Upstream version of the rootfs's python3 (e.g. 3.11.2), read from dpkg's status:
    no need to start the interpreter (seconds under qemu for a foreign arch)."""
    interpreter = (root / "usr/bin/python3").readlink().name  # python3.11
    status = (root / "var/lib/dpkg/status").read_text()
    for stanza in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                      if ": " in line and not line.startswith(" "))
        if fields.get("Package") == f"{interpreter}-minimal":
            return fields["Version"].split("-")[0].split("+")[0]
    raise ImageBuildError(f"{root}: no {interpreter}-minimal in dpkg status")
