"""What a device's CPU is, in OCI's words, and whether its userland is emulated: the one
home of the `uname -m` -> OCI table for the playbook modules (stdlib only, shipped by Ansible
beside each module that imports it)."""

import os

_ARCH = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", ""),
         "arm64": ("arm64", ""), "armv7l": ("arm", "v7"), "armhf": ("arm", "v7"),
         "arm": ("arm", "v7"), "armv6l": ("arm", "v6")}


def platform_of(arch, variant="", os_name="linux"):
    """OCI platform (linux/arm64, linux/arm/v7) of a `uname -m` or OCI architecture name."""
    arch = (arch or "").lower()
    norm, implied = _ARCH.get(arch, (arch, ""))
    variant = (variant or "").lower()
    if norm in ("arm64", "amd64"):
        variant = ""
    elif norm == "arm":
        variant = variant or implied
    return "/".join(p for p in ((os_name or "linux").lower(), norm, variant) if p)


_KERNEL_ARCH = "/proc/sys/kernel/arch"
_BINFMT_DIR = "/proc/sys/fs/binfmt_misc"
# ELF e_machine (little-endian bytes 18-19 of the header) of each OCI architecture.
_ELF_MACHINE = {"amd64": "3e00", "arm64": "b700", "arm": "2800", "386": "0300"}


def _binfmt_interprets(arch, binfmt_dir):
    """Whether an enabled binfmt_misc entry hands `arch` ELF binaries to an interpreter."""
    machine = _ELF_MACHINE.get(arch)
    try:
        names = os.listdir(binfmt_dir)
    except OSError:
        return False
    for name in names:
        try:
            with open(os.path.join(binfmt_dir, name)) as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        fields = dict(line.split(" ", 1) for line in lines if " " in line)
        magic = fields.get("magic", "")
        if (machine and lines[:1] == ["enabled"] and fields.get("offset", "0") == "0"
                and magic.startswith("7f454c46") and magic[36:40] == machine):
            return True
    return False


def emulation(image_arch, kernel_arch_file=_KERNEL_ARCH, binfmt_dir=_BINFMT_DIR):
    """{kernel_arch, emulated, emulation_evidence} for code built for `image_arch` (an OCI
    arch): qemu-user answers `uname -m` for the binary, but /proc/sys/kernel/arch is the
    real kernel's."""
    try:
        with open(kernel_arch_file) as fh:
            kernel = platform_of(fh.read().strip()).split("/")[1]
    except OSError:
        kernel = None
    if kernel:
        return {"kernel_arch": kernel, "emulated": kernel != image_arch,
                "emulation_evidence": _KERNEL_ARCH}
    return {"kernel_arch": None, "emulated": _binfmt_interprets(image_arch, binfmt_dir),
            "emulation_evidence": _BINFMT_DIR}
