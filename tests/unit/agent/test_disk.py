"""Disk collector: real filesystems only, statvfs sizes, diskstats sectors x 512 per disk."""

from __future__ import annotations

import pytest

from agent.collectors.disk import DiskCollector, filesystem_kinds, real_mounts
from tests.unit.agent.helpers import FIXTURES, tree


def test_mount_filter_keeps_block_filesystems_once_each():
    kinds = filesystem_kinds((FIXTURES / "proc_rpi" / "filesystems").read_text())
    mounts = real_mounts((FIXTURES / "proc_rpi" / "mounts.mixed").read_text(),
                         lambda t: kinds.get(t, False))
    assert mounts == [
        ("/dev/mmcblk0p2", "/", "ext4"),
        ("/dev/mmcblk0p1", "/boot/firmware", "vfat"),
        ("/dev/sda1", "/mnt/usb stick", "ext4"),  # \040 unescaped
    ]  # not: proc/tmpfs/devtmpfs, the bind mount, docker overlay+volume, nfs4, snap squashfs


def test_usage_of_this_vms_root_and_whole_disk_io(make_ctx):
    disk = DiskCollector(make_ctx(proc_root=FIXTURES / "proc_x86",
                                  sys_root=FIXTURES / "sys_x86"))
    assert disk.applies()
    samples = disk.collect(7.0)
    fs = {(s.name, s.labels["mountpoint"]): s.value for s in samples if "mountpoint" in s.labels}
    assert set(fs) == {("filesystem_size_bytes", "/"), ("filesystem_avail_bytes", "/"),
                       ("filesystem_used_bytes", "/")}  # /run/netns is the same /dev/vda
    assert fs[("filesystem_used_bytes", "/")] + fs[("filesystem_avail_bytes", "/")] \
        <= fs[("filesystem_size_bytes", "/")]
    io = {(s.name, s.labels["device"]): s.value for s in samples if s.name.startswith("disk_")}
    # captured: vda 6178242 sectors read, 8944080 written; loop*/zram0 skipped
    assert io == {("disk_read_bytes_total", "vda"): 6178242 * 512,
                  ("disk_written_bytes_total", "vda"): 8944080 * 512}
    assert all(s.unit == "bytes_total" for s in samples if s.name.startswith("disk_"))


def test_partitions_ram_loop_and_zram_are_not_disks(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "mounts").write_text("proc /proc proc rw 0 0\n")
    disk = DiskCollector(make_ctx(proc_root=proc, sys_root=FIXTURES / "sys_rpi5"))
    assert disk.applies()
    io = {(s.name, s.labels["device"]): s.value for s in disk.collect(7.0)}
    assert io == {("disk_read_bytes_total", "mmcblk0"): 1391042 * 512,
                  ("disk_written_bytes_total", "mmcblk0"): 903376 * 512}


def test_fstype_loaded_after_start_rereads_the_filesystem_list(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "filesystems").write_text("nodev\tproc\n\text4\n")
    (proc / "mounts").write_text("nas:/x /mnt/nas nfs4 rw 0 0\n")
    disk = DiskCollector(make_ctx(proc_root=proc, sys_root=FIXTURES / "sys_rpi5"))
    assert disk.applies()
    (proc / "filesystems").write_text("nodev\tproc\n\text4\nnodev\tnfs4\n")  # module loaded
    assert [s for s in disk.collect(7.0) if "mountpoint" in s.labels] == []


def test_garbled_diskstats_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "mounts").write_text("")
    (proc / "diskstats").write_text(" 179 0 mmcblk0 1 2 x 4 5 6 7 8 9 10 11\n")
    disk = DiskCollector(make_ctx(proc_root=proc, sys_root=FIXTURES / "sys_rpi5"))
    assert disk.applies()
    with pytest.raises(ValueError, match="garbled"):
        disk.collect(7.0)


def test_mount_gone_or_unreadable_is_skipped(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "mounts").write_text("/dev/sdz1 /mnt/unplugged ext4 rw 0 0\n"
                                 "/dev/mmcblk0p2 / ext4 rw 0 0\n")
    disk = DiskCollector(make_ctx(proc_root=proc, sys_root=FIXTURES / "sys_rpi5"))
    assert disk.applies()
    mounts = {s.labels["mountpoint"] for s in disk.collect(7.0) if "mountpoint" in s.labels}
    assert mounts == {"/"}
