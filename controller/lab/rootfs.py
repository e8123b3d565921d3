"""Cached Debian rootfs per architecture, shared read-only by every lab host via overlayfs."""

from __future__ import annotations

import fcntl
import platform
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from controller.lab import aptrepo
from controller.lab.config import MIRROR, ROOTFS_PACKAGES, ROOTFS_VERSION, SUITE
from controller.lab.errors import LabError
from controller.lab.proc import ok, run

STAMP = ".edgefleet-rootfs-ready"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")

Progress = Callable[[str], None]
# Fills a directory, writing command output to the log: (directory, log) -> None.
Builder = Callable[[Path, Path], None]


def native_arch() -> str:
    """Debian name of this machine's architecture."""
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def rootfs_path(cache_dir: Path, arch: str) -> Path:
    return cache_dir / f"{SUITE}-{arch}-v{ROOTFS_VERSION}"


def is_ready(path: Path) -> bool:
    """Only a rootfs whose stamp exists is complete; a half-built one is never used."""
    return (path / STAMP).is_file()


def ensure_foreign_arch(arch: str) -> bool:
    """Make binfmt_misc run `arch` binaries through qemu-user-static; False when refused."""
    if arch == native_arch():
        return True
    name = {"arm64": "qemu-aarch64"}.get(arch)
    if name is None:
        return False
    if not (BINFMT_DIR / "status").exists():
        ok(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)])
    entry = BINFMT_DIR / name
    if not _enabled(entry):
        ok(["update-binfmts", "--enable", name])
    return _enabled(entry)


def _enabled(entry: Path) -> bool:
    try:
        return entry.read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False


@contextmanager
def _build_lock(cache_dir: Path, name: str) -> Iterator[None]:
    """Two builders (operator and test) must not write into the same cached directory."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f".lock-{name}").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached_dir(cache_dir: Path, name: str, build: Builder,
               progress: Progress | None = None) -> Path:
    """`cache_dir/name`, made once by `build(partial_dir, log)` under a lock, then reused.

    The directory only gets its final name (and stamp) once `build` returned, so a crash
    half-way leaves a `.partial` that the next caller wipes, never a broken cache."""
    say = progress or (lambda _msg: None)
    final = cache_dir / name
    if is_ready(final):
        return final
    with _build_lock(cache_dir, name):
        if is_ready(final):
            return final
        partial = final.with_name(final.name + ".partial")
        log = final.with_name(final.name + ".log")
        for stale in (partial, final):
            if stale.exists():
                shutil.rmtree(stale)
        log.write_text("")
        build(partial, log)
        (partial / STAMP).write_text(f"{name}\n")
        partial.rename(final)
        say(f"{name}: ready")
    return final


def cached_debootstrap(cache_dir: Path, name: str, arch: str, packages: Sequence[str],
                       customise: Builder, progress: Progress | None = None) -> Path:
    """A minbase Debian rootfs for `arch` with `packages`, cached as `cache_dir/name`.

    `customise(root, log)` runs on the fresh rootfs before it is stamped (e.g. to strip it)."""
    say = progress or (lambda _msg: None)

    def build(partial: Path, log: Path) -> None:
        say(f"{arch}: debootstrap {SUITE} (a few minutes; log {log})")
        run(
            [
                "debootstrap", f"--arch={arch}", "--variant=minbase",
                "--include=" + ",".join(packages), SUITE, partial, MIRROR,
            ],
            timeout=3600,
            log=log,
        )
        say(f"{arch}: customising rootfs")
        customise(partial, log)

    return cached_dir(cache_dir, name, build, progress)


def ensure_rootfs(cache_dir: Path, arch: str, progress: Progress | None = None) -> Path:
    """Return a complete cached rootfs for `arch`, building it first if needed (minutes)."""
    name = rootfs_path(cache_dir, arch).name
    return cached_debootstrap(cache_dir, name, arch, ROOTFS_PACKAGES, _customise, progress)


def _customise(root: Path, log: Path) -> None:
    """Make the shared rootfs generic and offline; host-specific files go in each upperdir."""
    (root / "etc/apt/sources.list").write_text(
        "# lab hosts get their sources.list from the lab's overlay (local repo only)\n"
    )
    deb = aptrepo.build_deb("1.0", root / "tmp")
    run(["chroot", root, "dpkg", "-i", f"/tmp/{deb.name}"], log=log, timeout=600)
    deb.unlink()
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for junk in (root / "var/cache/apt/archives").glob("*.deb"):
        junk.unlink()
    for junk in (root / "var/lib/apt/lists").glob("*_*"):
        junk.unlink()
    machine_id = root / "etc/machine-id"
    if machine_id.exists():
        machine_id.write_text("")
    if not (root / "usr/sbin/service").exists():
        raise LabError("rootfs has no /usr/sbin/service; init-system-helpers missing")
