"""Filesystem usage of real mounts and disk I/O byte counters.

Real means block-backed: /proc/filesystems lists the type without `nodev` (that drops proc,
tmpfs, cgroup, overlay, FUSE and network filesystems, whose statvfs can hang on a dead
server); a type first seen after start (a module loaded later) re-reads that list once.
Read-only images (squashfs snaps, ISO) are always full and are skipped, as are
container-runtime mounts; a device mounted twice (bind mounts) counts once.
I/O comes from /proc/diskstats for whole disks only (partitions would double count):
sectors there are always 512 bytes, whatever the device's sector size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from agent.collectors.base import CollectorContext, clip, probe, read_text
from agent.protocol import Sample

_IMAGE_FS = frozenset({"squashfs", "erofs", "iso9660", "udf"})
_SKIP_MOUNT_PREFIXES = ("/proc/", "/sys/", "/dev/", "/run/containerd/", "/run/docker/",
                        "/var/lib/docker/", "/var/lib/containers/", "/snap/")
_SKIP_DISK_PREFIXES = ("loop", "ram", "zram", "fd", "sr")
_OCTAL = re.compile(r"\\([0-7]{3})")
SECTOR_BYTES = 512


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (\\040)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field) if "\\" in field else field


def real_mounts(mounts_text: str, is_block: Callable[[str], bool]) -> list[tuple[str, str, str]]:
    """(device, mountpoint, fstype) of block-backed filesystems worth reporting, once each."""
    seen: set[str] = set()
    out = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        device, mountpoint, fstype = _unescape(fields[0]), _unescape(fields[1]), fields[2]
        if fstype in _IMAGE_FS or device in seen or not is_block(fstype):
            continue
        if (mountpoint + "/").startswith(_SKIP_MOUNT_PREFIXES):
            continue
        seen.add(device)
        out.append((device, mountpoint, fstype))
    return out


def filesystem_kinds(text: str) -> dict[str, bool]:
    """fstype -> block-backed, from /proc/filesystems (`nodev` marks the others)."""
    kinds = {}
    for line in text.splitlines():
        fields = line.split()
        if fields:
            kinds[fields[-1]] = fields[0] != "nodev"
    return kinds


class DiskCollector:
    """filesystem_{size,avail,used}_bytes{mountpoint,device,fstype},
    disk_{read,written}_bytes_total{device}."""

    name = "disk"

    def __init__(self, ctx: CollectorContext) -> None:
        self._mounts = str(ctx.proc_root / "mounts")
        self._filesystems = str(ctx.proc_root / "filesystems")
        self._diskstats = str(ctx.proc_root / "diskstats")
        self._block = str(ctx.sys_root / "class/block")
        self._kinds: dict[str, bool] = {}
        self._whole_disk: dict[str, bool] = {}

    def applies(self) -> bool:
        return probe(self.name, self._probe)

    def _probe(self) -> bool:
        if not os.path.exists(self._mounts):
            return False
        self._kinds = filesystem_kinds(read_text(self._filesystems))
        return True

    def _is_block(self, fstype: str) -> bool:
        if fstype not in self._kinds:
            fresh = filesystem_kinds(read_text(self._filesystems))
            fresh.setdefault(fstype, False)  # FUSE subtypes ("fuse.sshfs") are never listed
            self._kinds = fresh
        return self._kinds[fstype]

    def _is_whole_disk(self, name: str) -> bool:
        """Decided once per device name: partitions carry a `partition` attribute in sysfs."""
        known = self._whole_disk.get(name)
        if known is None:
            known = not name.startswith(_SKIP_DISK_PREFIXES) and not os.path.exists(
                os.path.join(self._block, name, "partition"))
            self._whole_disk[name] = known
        return known

    def collect(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        for device, mountpoint, fstype in real_mounts(read_text(self._mounts), self._is_block):
            try:
                st = os.statvfs(mountpoint)
            except (FileNotFoundError, PermissionError):
                continue  # unmounted since /proc/mounts was read, or under a 0700 home
            labels = {"mountpoint": clip(mountpoint), "device": clip(device), "fstype": fstype}
            out += [
                Sample("filesystem_size_bytes", st.f_blocks * st.f_frsize, "bytes", now,
                       "statvfs", labels),
                Sample("filesystem_avail_bytes", st.f_bavail * st.f_frsize, "bytes", now,
                       "statvfs", labels),
                Sample("filesystem_used_bytes", (st.f_blocks - st.f_bfree) * st.f_frsize,
                       "bytes", now, "statvfs", labels),
            ]
        if os.path.exists(self._diskstats):
            out += self._io(now)
        return out

    def _io(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        for line in read_text(self._diskstats).splitlines():
            fields = line.split()
            if len(fields) < 10 or not self._is_whole_disk(fields[2]):
                continue
            try:
                read_b, written_b = int(fields[5]) * SECTOR_BYTES, int(fields[9]) * SECTOR_BYTES
            except ValueError:
                raise ValueError(f"{self._diskstats}: garbled {line.strip()[:60]!r}") from None
            labels = {"device": fields[2]}
            out.append(Sample("disk_read_bytes_total", read_b, "bytes_total", now,
                              "proc/diskstats", labels))
            out.append(Sample("disk_written_bytes_total", written_b, "bytes_total", now,
                              "proc/diskstats", labels))
        return out

    def close(self) -> None:
        """Nothing held open."""
