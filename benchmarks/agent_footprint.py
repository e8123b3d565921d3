"""Steady-state footprint of the agent at 1 Hz: resident memory and CPU time per cycle.

Runs the real agent (`python -m agent run`) pushing to a real controller on loopback,
lets it warm up, then measures its process over a window. Targets (issue #3): RSS at most
30 MB and at most 2 ms of CPU per sampling cycle. For scale, Prometheus node_exporter 1.5
measured on this kind of machine: about 20.6 MB RSS and about 12 ms CPU per scrape.

    .venv/bin/python benchmarks/agent_footprint.py [--window 60] [--warmup 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

VENV_BIN = Path(sys.executable).parent
console = Console()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgefleet-footprint-") as tmp:
        home = Path(tmp)
        env = dict(os.environ, EDGEFLEET_HOME=str(home))
        port, metrics_port = _port(), _port()
        server = subprocess.Popen([str(VENV_BIN / "edgefleet"), "controller", "serve",
                                   "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        agent = None
        try:
            _wait_http(f"http://127.0.0.1:{port}/healthz")
            token = subprocess.run(
                [str(VENV_BIN / "edgefleet"), "token", "create", "footprint-device"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]
            agent_env = dict(env, EDGEFLEET_AGENT_TOKEN=token)
            agent = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--controller",
                 f"http://127.0.0.1:{port}", "--interval", "1", "--push-interval", "5",
                 "--spool", str(home / "spool.db"), "--metrics-port", str(metrics_port),
                 "--metrics-address", "127.0.0.1", "--log-level", "WARNING"],
                env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            _wait_http(f"http://127.0.0.1:{metrics_port}/healthz")
            proc = psutil.Process(agent.pid)
            with console.status(f"warming up {args.warmup:.0f} s…"):
                time.sleep(args.warmup)
            cpu0, t0 = proc.cpu_times(), time.monotonic()
            with console.status(f"measuring {args.window:.0f} s…"):
                time.sleep(args.window)
            cpu1, t1 = proc.cpu_times(), time.monotonic()
            rss = proc.memory_info().rss
            health = httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5).json()
        finally:
            if agent is not None:
                agent.terminate()
                agent.wait(15)
            server.terminate()
            server.wait(15)
    cycles = t1 - t0  # 1 Hz
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    table = Table(title=f"agent footprint at 1 Hz over {args.window:.0f} s "
                        f"({psutil.cpu_count()} CPUs, {os.uname().machine})")
    for col in ("metric", "measured", "target"):
        table.add_column(col)
    table.add_row("RSS", f"{rss / 2**20:.1f} MB", "<= 30 MB")
    table.add_row("CPU per cycle (sample + share of pushes and scrapes)",
                  f"{cpu_s / cycles * 1000:.2f} ms", "<= 2 ms")
    table.add_row("CPU share of one core", f"{cpu_s / (t1 - t0) * 100:.2f} %", "")
    table.add_row("spooled samples at end", str(health["spool_samples"]), "small (pushed)")
    console.print(table)


if __name__ == "__main__":
    main()
