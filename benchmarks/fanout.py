"""Fleet-wide `ping` on a lab of 30+ hosts: stock Ansible defaults vs the controller's way.

Both runs use the same playbook, inventory and hosts in the same process run, so the ratio
is what matters on a shared, noisy machine. Stock = 5 forks, no pipelining, no SSH
ControlPersist (a fresh connection per step). Ours = the controller's job manager with the
project's ansible.cfg (forks sized to the fleet, pipelining, ControlPersist).

Needs root (it builds its own lab on its own bridge and removes it afterwards):
    sudo .venv/bin/python benchmarks/fanout.py [--gpu 30] [--rpi 0] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from controller.config import Settings
from controller.jobs.manager import JobManager
from controller.lab import fleet
from controller.lab.config import LabConfig
from controller.store import Store

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
console = Console()


def stock_run(inventory: Path, work: Path) -> float:
    """`ansible-playbook` with Ansible's own defaults, as an operator without tuning runs it."""
    empty_cfg = work / "stock.cfg"
    empty_cfg.write_text("[defaults]\n")
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(empty_cfg),
        ANSIBLE_FORKS="5",
        ANSIBLE_PIPELINING="False",
        ANSIBLE_SSH_ARGS="-o ControlMaster=no",
        ANSIBLE_GATHERING="implicit",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/ping.yml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3600,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"stock run failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}")
    return elapsed


def controller_run(inventory: Path, home: Path) -> float:
    """The same playbook submitted as a controller job (what the CLI and API do)."""
    settings = Settings(home=home)
    manager = JobManager(settings, Store(settings.db_url))
    start = time.perf_counter()
    job = manager.submit("ping", inventory=inventory, requested_by="benchmark")
    job = manager.wait(job["id"])
    elapsed = time.perf_counter() - start
    bad = {h["host"]: h["status"] for h in job["hosts"] if h["status"] != "ok"}
    if job["status"] != "successful" or bad:
        raise SystemExit(f"controller run failed: {job['status']} {job['error']} {bad}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", type=int, default=30, help="amd64 hosts")
    parser.add_argument("--rpi", type=int, default=0, help="arm64 hosts (emulated: slow)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each")
    args = parser.parse_args()
    if args.gpu + args.rpi < 30:
        parser.error("the benchmark needs at least 30 hosts")
    with tempfile.TemporaryDirectory(prefix="edgefleet-fanout-") as tmp:
        work = Path(tmp)
        cfg = LabConfig(state_dir=work / "lab", bridge="efbench0", subnet="10.216.0.0/24",
                        prefix="efb-", apt_port=8876)
        with console.status("building the benchmark lab…") as status:
            state = fleet.up(cfg, args.rpi, args.gpu, work / "inventory.yml",
                             say=lambda m: status.update(m))
        inventory = Path(state.inventory)
        stock: list[float] = []
        ours: list[float] = []
        try:
            for i in range(1, args.rounds + 1):
                with console.status(f"round {i}: stock ansible-playbook…"):
                    stock.append(stock_run(inventory, work))
                console.log(f"round {i}: stock {stock[-1]:.1f} s")
                with console.status(f"round {i}: controller job…"):
                    ours.append(controller_run(inventory, work / f"home{i}"))
                console.log(f"round {i}: controller {ours[-1]:.1f} s")
        finally:
            fleet.down(cfg, say=lambda _m: None)
    table = Table(title=f"ping across {args.gpu + args.rpi} lab hosts "
                        f"({args.gpu} amd64, {args.rpi} arm64 under qemu)")
    for col in ("run", "wall times (s)", "median (s)"):
        table.add_column(col)
    table.add_row("stock defaults", ", ".join(f"{t:.1f}" for t in stock),
                  f"{statistics.median(stock):.1f}")
    table.add_row("controller", ", ".join(f"{t:.1f}" for t in ours),
                  f"{statistics.median(ours):.1f}")
    console.print(table)
    ratio = statistics.median(stock) / statistics.median(ours)
    console.print(f"speed-up: [bold]{ratio:.2f}x[/] (target >= 3x) on "
                  f"{platform.machine()} with {psutil.cpu_count()} CPUs, "
                  f"{psutil.virtual_memory().total / 2**30:.0f} GiB")


if __name__ == "__main__":
    main()
