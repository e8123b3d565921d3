"""tests/scratch.py: scratch trees go, but never through a mount still held below them."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.scratch import mounts_under, remove_tree


def test_mounts_under_reads_escaped_paths(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "proc /proc proc rw 0 0\n"
        f"tmpfs {tmp_path}/a\\040b tmpfs rw 0 0\n"
        f"tmpfs {tmp_path}/ab tmpfs rw 0 0\n"
    )
    assert mounts_under(tmp_path / "a b", mounts) == [tmp_path / "a b"]
    assert mounts_under(tmp_path, mounts) == [tmp_path / "a b", tmp_path / "ab"]
    assert mounts_under(tmp_path / "a", mounts) == []  # a prefix of a name is not a parent


def test_a_plain_tree_is_removed(tmp_path):
    tree = tmp_path / "tree"
    (tree / "deep").mkdir(parents=True)
    (tree / "deep" / "f").write_text("x")
    assert remove_tree(tree) is True
    assert not tree.exists()
    assert remove_tree(tree) is True  # already gone


@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_a_tree_with_a_bind_mount_below_is_kept_and_the_real_files_survive(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "precious").write_text("keep me")
    tree = tmp_path / "tree"
    (tree / "rootfs" / "mnt").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(real), str(tree / "rootfs" / "mnt")], check=True)
    try:
        with pytest.warns(UserWarning, match="still mounted"):
            assert remove_tree(tree) is False
        assert (real / "precious").read_text() == "keep me"
    finally:
        subprocess.run(["umount", str(tree / "rootfs" / "mnt")], check=True)
    assert remove_tree(tree) is True
    assert (real / "precious").exists()
