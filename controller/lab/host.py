"""One lab host: its own overlay root, identity files, SSH keys and namespaced sshd.

Host-specific files are written into the overlay's upper directory before start, so the
shared rootfs stays untouched and every host differs only where a real device would.
"""

from __future__ import annotations

import shutil
import signal
import socket
import time
import uuid
from importlib import resources
from pathlib import Path

from controller.lab.errors import LabError
from controller.lab.proc import run
from controller.lab.processes import spawn, stop
from controller.lab.state import HostState, Proc

_INIT = resources.files("controller.lab") / "host_init.sh"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def prepare(host: HostState, *, pubkey: str, apt_source: str, controller: str) -> str:
    """Write the host's identity into its upper dir; return its `known_hosts` line."""
    root = Path(host.root)
    for sub in ("upper", "work", "merged"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    upper = root / "upper"
    _write(upper / "etc/hostname", f"{host.name}\n")
    _write(
        upper / "etc/hosts",
        f"127.0.0.1 localhost\n127.0.1.1 {host.name}\n{controller} controller\n",
    )
    _write(upper / "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    _write(upper / "etc/resolv.conf", "# lab hosts have no DNS: nothing outside the lab\n")
    _write(upper / "etc/apt/sources.list", apt_source)
    # Lab hosts share this machine's kernel clock: their chronyd must only measure, not step.
    _write(upper / "etc/default/chrony", 'DAEMON_OPTS="-x"\n')
    ssh_dir = upper / "root/.ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    ssh_dir.chmod(0o700)
    (upper / "root").chmod(0o700)
    _write(ssh_dir / "authorized_keys", pubkey, 0o600)
    key = upper / "etc/ssh/ssh_host_ed25519_key"
    key.parent.mkdir(parents=True, exist_ok=True)
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", key])
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{host.address} {kind} {blob}\n"


def start(host: HostState, lower: Path, log: Path) -> Proc:
    """Launch the host's PID 1 (sshd) inside fresh network/UTS/PID/mount namespaces."""
    root = Path(host.root)
    with resources.as_file(_INIT) as init:
        return spawn(
            [
                "ip", "netns", "exec", host.netns,
                "unshare", "--uts", "--pid", "--mount", "--fork", "--kill-child",
                "--propagation", "private",
                "sh", init, host.name, lower, root / "upper", root / "work", root / "merged",
                host.address,
            ],
            log,
        )


def wait_ready(hosts: list[HostState], timeout: float) -> None:
    """Block until every host's sshd accepts TCP connections, or name the ones that didn't."""
    pending = {h.name: h for h in hosts}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, h in list(pending.items()):
            if h.proc is not None and not h.proc.alive():
                raise LabError(f"lab host {name} exited during start (see {h.root}/host.log)")
            try:
                with socket.create_connection((h.address, 22), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        del pending[name]
            except OSError:
                continue
        time.sleep(0.2)
    if pending:
        raise LabError(f"sshd not ready after {timeout:.0f}s on: {', '.join(sorted(pending))}")


def kill(host: HostState) -> None:
    """SIGKILL the host's `unshare`: its namespace init dies with it (--kill-child), and the
    kernel then kills every process in the host's PID namespace. Lab hosts keep no state
    worth a graceful stop."""
    stop(host.proc, first=signal.SIGKILL)


def destroy(host: HostState) -> None:
    """Make sure the host is dead and unmounted, then delete its files."""
    kill(host)
    merged = Path(host.root) / "merged"
    deadline = time.monotonic() + 10
    while _mounted(merged) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _mounted(merged):
        raise LabError(f"{merged} is still mounted after its host was stopped")
    shutil.rmtree(host.root, ignore_errors=True)


def _mounted(path: Path) -> bool:
    """True when any mount namespace on the machine still has `path` mounted."""
    target = f" {path} "
    for mountinfo in Path("/proc").glob("[0-9]*/mountinfo"):
        try:
            if target in mountinfo.read_text():
                return True
        except OSError:
            continue
    return False
