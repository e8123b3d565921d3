#!/usr/bin/python
"""Who a device is (hostname, OS, kernel, uname -m, Python) in one cheap module run.

Why not `setup`: even a narrow gather_subset loads Ansible's fact collector framework, a
payload several times bigger to build and ship per host, and seconds of CPU on an emulated
or low-end arm64 board. Fleet-wide ping is the operation run most often, so it stays light.
"""

import os
import platform
import socket
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.edgefleet_platform import emulation, platform_of

DOCUMENTATION = r"""
module: edgefleet_identity
short_description: Hostname, OS release, kernel, machine and Python of a device
options:
  os_release:
    description: Path of the os-release file (tests point it at fixtures).
    type: path
    default: /etc/os-release
"""

# os-release ID -> the distribution name Ansible's own facts use.
_DISTRIBUTION = {
    "debian": "Debian",
    "raspbian": "Debian",
    "ubuntu": "Ubuntu",
    "fedora": "Fedora",
    "centos": "CentOS",
    "rhel": "RedHat",
    "rocky": "Rocky",
    "almalinux": "AlmaLinux",
    "alpine": "Alpine",
    "arch": "Archlinux",
}
_FAMILY = (("debian", "Debian"), ("ubuntu", "Debian"), ("rhel", "RedHat"),
           ("fedora", "RedHat"), ("alpine", "Alpine"), ("arch", "Archlinux"))


def parse_os_release(text):
    """os-release is KEY=value lines, values optionally quoted (man 5 os-release)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("\"'")
    return out


def os_info(release):
    """distribution / version / family the way Ansible names them."""
    ident = release.get("ID", "").lower()
    like = release.get("ID_LIKE", "").lower().split()
    name = release.get("NAME", "")
    family = next((fam for key, fam in _FAMILY if key == ident or key in like), None)
    return {
        "distribution": _DISTRIBUTION.get(ident, name.split()[0] if name else None),
        "version": release.get("VERSION_ID"),
        "family": family or (ident.capitalize() if ident else None),
    }


def main():
    module = AnsibleModule(
        argument_spec={"os_release": {"type": "path", "default": "/etc/os-release"}},
        supports_check_mode=True,
    )
    try:
        with open(module.params["os_release"]) as fh:
            release = parse_os_release(fh.read())
    except OSError:
        release = {}
    uname = os.uname()
    # Under qemu-user, uname -m is the emulated arch while /proc (CPU model, memory) is the
    # machine's: say so, so nobody reads an AMD EPYC's figures as a Raspberry Pi's.
    emulated = emulation(platform_of(uname.machine).split("/")[1])
    module.exit_json(
        changed=False,
        identity={
            "hostname": socket.gethostname(),
            "os": os_info(release),
            "kernel": uname.release,
            "machine": uname.machine,
            "emulated": emulated["emulated"],
            "kernel_arch": emulated["kernel_arch"],
            "python": {"version": platform.python_version(), "executable": sys.executable},
        },
    )


if __name__ == "__main__":
    main()
