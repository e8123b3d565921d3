"""Controller-side filters that turn gathered facts into edgefleet result shapes.

Kept as plain functions over plain data so unit tests can call them without Ansible.
"""

from fnmatch import fnmatchcase

# uname -m -> OCI/Go architecture name (what registries and the platform resolver use).
_OCI_ARCH = {
    "aarch64": "arm64",
    "arm64": "arm64",
    "x86_64": "amd64",
    "amd64": "amd64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "riscv64": "riscv64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}


def oci_arch(machine):
    """`uname -m` value to its OCI architecture; unknown values pass through unchanged."""
    if not machine:
        return None
    return _OCI_ARCH.get(str(machine), str(machine))


def hold_candidates(installed, patterns):
    """Installed package names matching any hold glob (e.g. `nvidia-*`), sorted.

    `installed` is package_facts' `packages` dict (or any iterable of names), so holds are
    only ever applied to packages that exist on the device.
    """
    names = installed.keys() if isinstance(installed, dict) else installed
    return sorted(n for n in names if any(fnmatchcase(n, p) for p in patterns))


def _versions(entries):
    """package_facts gives a list per name (one per architecture); join distinct versions."""
    if not isinstance(entries, list):
        return None
    seen = []
    for e in entries:
        v = e.get("version") if isinstance(e, dict) else None
        if v is not None and v not in seen:
            seen.append(v)
    return ",".join(seen) if seen else None


def package_diff(before, after):
    """Diff two package_facts `packages` dicts into upgraded/installed/removed lists."""
    before = before or {}
    after = after or {}
    upgraded, installed, removed = [], [], []
    for name in sorted(set(before) | set(after)):
        old = _versions(before.get(name)) if name in before else None
        new = _versions(after.get(name)) if name in after else None
        if name not in before:
            installed.append({"name": name, "version": new})
        elif name not in after:
            removed.append(name)
        elif old != new:
            upgraded.append({"name": name, "from": old, "to": new})
    return {"upgraded": upgraded, "installed": installed, "removed": removed}


class FilterModule:
    """Registers the filters as edgefleet_* names."""

    def filters(self):
        return {
            "edgefleet_oci_arch": oci_arch,
            "edgefleet_hold_candidates": hold_candidates,
            "edgefleet_package_diff": package_diff,
        }
