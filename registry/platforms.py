"""Platform names normalised the way containerd does, so `aarch64`, `arm64` and `arm64/v8` agree.

A device's `uname -m` (or Ansible's `ansible_architecture`) maps to its OCI platform here."""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import InvalidReference

# (architecture, variant) after containerd's normalizeArch; the variant that is the default
# for an architecture is dropped for arm64 and amd64, and made explicit for arm.
_ARCH = {
    "amd64": ("amd64", ""),
    "x86_64": ("amd64", ""),
    "x86-64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armhf": ("arm", "v7"),
    "armv7l": ("arm", "v7"),
    "armv7": ("arm", "v7"),
    "arm": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "386": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}
_DEFAULT_VARIANT = {"arm64": {"", "v8"}, "amd64": {"", "v1"}}
_ARM_VARIANTS = {"v5", "v6", "v7", "v8"}


@dataclass(frozen=True, order=True)
class Platform:
    """A normalised OCI platform; equality is the containerd notion of "the same platform"."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @property
    def slug(self) -> str:
        """Tag-safe form, e.g. `linux-arm-v7`."""
        return str(self).replace("/", "-")

    def as_oci(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


def normalize(arch: str, variant: str = "", os: str = "linux") -> Platform:
    """Normalise an (arch, variant) pair; unknown names are refused, never guessed."""
    arch = arch.strip().lower()
    variant = variant.strip().lower()
    if "/" in arch:
        arch, _, extra = arch.partition("/")
        if variant and extra and variant != extra:
            raise InvalidReference(f"conflicting variants {extra!r} and {variant!r}")
        variant = variant or extra
    if arch not in _ARCH:
        raise InvalidReference(
            f"unknown architecture {arch!r} (try one of: amd64, arm64, arm/v7, x86_64, aarch64)"
        )
    norm, implied = _ARCH[arch]
    if variant and not variant.startswith("v"):
        variant = f"v{variant}"
    if norm in _DEFAULT_VARIANT:
        if variant and variant not in _DEFAULT_VARIANT[norm]:
            raise InvalidReference(f"unsupported variant {variant!r} for {norm}")
        variant = ""
    elif norm == "arm":
        variant = variant or implied
        if variant not in _ARM_VARIANTS:
            raise InvalidReference(f"unsupported arm variant {variant!r}")
    elif variant:
        raise InvalidReference(f"{norm} has no variants (got {variant!r})")
    return Platform(os=os.strip().lower() or "linux", architecture=norm, variant=variant)


def parse(spec: str) -> Platform:
    """`arm64`, `linux/arm64/v8`, `aarch64`, `arm/v7` -> Platform (os defaults to linux)."""
    parts = [p for p in spec.strip().split("/") if p]
    if not parts or len(parts) > 3:
        raise InvalidReference(f"invalid platform {spec!r}")
    if parts[0] in ("linux", "windows", "freebsd", "darwin"):
        os_name, rest = parts[0], parts[1:]
    else:
        os_name, rest = "linux", parts
    if not rest or len(rest) > 2:
        raise InvalidReference(f"invalid platform {spec!r}")
    return normalize(rest[0], rest[1] if len(rest) == 2 else "", os_name)


def from_oci(entry: dict) -> Platform | None:
    """Platform of an index entry or config blob; None for attestations and unknown arches."""
    arch = str(entry.get("architecture", ""))
    os_name = str(entry.get("os", ""))
    if not arch or arch == "unknown" or os_name == "unknown":
        return None
    try:
        return normalize(arch, str(entry.get("variant", "") or ""), os_name or "linux")
    except InvalidReference:
        return None
