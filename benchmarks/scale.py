"""Scale check: a fleet-wide ping of 100+ lab hosts through the controller while 1,000
simulated agents push telemetry and a real Prometheus scrapes them via the controller's SD.

    .venv/bin/python benchmarks/scale.py              # 100 hosts, 1,000 agents (root)
    .venv/bin/python benchmarks/scale.py --hosts 150 --agents 500

What runs, all on this machine:
- a lab of `--hosts` network-namespaced hosts with real sshd (amd64, plus `--rpi` emulated
  arm64 ones), sharing one read-only rootfs through overlays, on bridge efscale0,
  10.217.0.0/24 (only this script's own addresses are ever contacted);
- the real controller (`edgefleet controller serve`) with that inventory, writing Prometheus
  file_sd targets every 5 s;
- `--agents` simulated agents (asyncio + httpx in `--procs` processes): each pushes
  `--metrics` metrics at 1 Hz every 5 s from its own loopback address (127.1.x.y), and
  serves /metrics there on port 9101, so the controller's registry lists it at that address
  and Prometheus, reading the controller's SD file, scrapes it;
- Debian's Prometheus, scraping every 5 s.
Measured: ingest rate and push latency before and during the ping, the ping's wall time,
controller CPU and memory (the server and its ansible-playbook workers) during it, and the
share of targets Prometheus scraped successfully. Everything is torn down at the end, also
on Ctrl-C or an error; a lab left by a killed run is removed by the next run first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console

from agent.protocol import PROTOCOL_VERSION
from controller.lab import fleet
from controller.lab.config import LabConfig
from controller.store import Store
from controller.telemetry import tokens

VENV_BIN = Path(sys.executable).parent
METRICS_PORT = 9101
LAB = LabConfig(state_dir=Path("/var/lib/edgefleet/scale-lab"), bridge="efscale0",
                subnet="10.217.0.0/24", prefix="efs-", apt_port=8891, ready_timeout=900)
console = Console()


def agent_address(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


# ---- simulated agents ---------------------------------------------------------------------
def push_body(i: int, stream: str, seq: int, metrics: int, per_push: int, now: float) -> bytes:
    samples = [{"seq": seq + k * metrics + m, "name": f"bench_metric_{m:02d}", "value": m + k,
                "unit": "ratio", "ts": now - per_push + k + 1, "source": "bench",
                "labels": {"core": str(m % 4)}}
               for k in range(per_push) for m in range(metrics)]
    return json.dumps({
        "protocol": PROTOCOL_VERSION,
        "device": {"id": uuid.UUID(int=i + 1).hex, "hostname": f"sim-{i:04d}", "arch": "arm64",
                   "os": "Debian 12", "agent_version": "0.1.0", "boot_time": now - 3600},
        "stream": stream, "batch": {"first_seq": seq, "last_seq": seq + len(samples) - 1},
        "dropped": {"total": 0}, "samples": samples,
    }).encode()


METRICS_TEXT = (b"# HELP edgeagent_cpu_usage_ratio CPU usage\n"
                b"# TYPE edgeagent_cpu_usage_ratio gauge\n"
                b'edgeagent_cpu_usage_ratio{cpu="total"} 0.25\n')


async def serve_metrics(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal keep-alive HTTP/1.1 /metrics responder (what the agent's exposition gives)."""
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(METRICS_TEXT), METRICS_TEXT))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
            asyncio.CancelledError):
        pass  # scraper went away, or the run is over
    finally:
        writer.close()


def run_agents(url: str, share: list[tuple[int, str]], args: argparse.Namespace,
               deadline: Any, conn: Any) -> None:
    """One generator process: its devices push on a 5 s schedule until `deadline.value`
    (wall clock, a shared value the parent moves once the ping is over)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    per_push = 5
    results: list[tuple[float, float, int]] = []  # (wall time sent, latency s, samples)
    errors: list[str] = []

    async def device(i: int, token: str, offset: float) -> None:
        stream, seq = uuid.uuid4().hex, 1
        transport = httpx.AsyncHTTPTransport(local_address=agent_address(i))
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        async with httpx.AsyncClient(timeout=30, transport=transport) as client:
            await asyncio.sleep(offset)
            next_at = time.time()
            while next_at < deadline.value:  # bounded by the run's end time
                body = push_body(i, stream, seq, args.metrics, per_push, time.time())
                t = time.perf_counter()
                try:
                    res = await client.post(url, content=body, headers=headers)
                    ok = res.status_code == 200
                    if not ok:
                        errors.append(f"{res.status_code} {res.text[:80]}")
                except httpx.HTTPError as exc:
                    ok = False
                    errors.append(type(exc).__name__)
                if ok:
                    results.append((time.time(), time.perf_counter() - t, res.json()["accepted"]))
                    seq += args.metrics * per_push
                next_at += per_push
                await asyncio.sleep(max(0.0, next_at - time.time()))

    async def main() -> None:
        servers = [await asyncio.start_server(serve_metrics, agent_address(i), METRICS_PORT)
                   for i, _ in share]
        await asyncio.gather(*(device(i, tok, 5.0 * n / len(share))
                               for n, (i, tok) in enumerate(share)))
        for s in servers:
            s.close()

    asyncio.run(main())
    conn.send({"results": results, "errors": errors, "cpu": time.process_time()})
    conn.close()


# ---- controller, Prometheus ---------------------------------------------------------------
def start_controller(home: Path, address: str, port: int, inventory: Path, token: str,
                     sd_file: Path) -> subprocess.Popen:
    env = dict(os.environ, EDGEFLEET_HOME=str(home), EDGEFLEET_API_TOKEN=token,
               EDGEFLEET_PROMETHEUS_SD_FILE=str(sd_file), EDGEFLEET_PROMETHEUS_SD_INTERVAL="5")
    env.pop("EDGEFLEET_DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(VENV_BIN / "edgefleet"), "controller", "serve", "--host", address, "--port",
         str(port), "--inventory", str(inventory)],
        env=env, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("wb"))
    wait(lambda: httpx.get(f"http://{address}:{port}/healthz", timeout=2).status_code == 200,
         60, "controller up")
    return proc


def start_prometheus(root: Path, sd_dir: Path, port: int) -> subprocess.Popen:
    cfg = root / "prometheus.yml"
    cfg.write_text(subprocess.run(
        [str(VENV_BIN / "edgefleet"), "prometheus", "config", "--sd-dir", str(sd_dir),
         "--scrape-interval", "5s", "--scrape-timeout", "5s"],
        capture_output=True, text=True, check=True).stdout)
    return subprocess.Popen(
        ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={root / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(root / "prometheus.log").open("wb"))


def wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for: {what}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def tree_usage(proc: psutil.Process) -> tuple[float, int, int]:
    """(CPU seconds of the server and every child it has reaped, server RSS, RSS of the
    server plus live workers). Ansible's forks come and go: their CPU time reaches the
    server's `children_*` counters once ansible-playbook has reaped them and exited."""
    t = proc.cpu_times()
    cpu = t.user + t.system + t.children_user + t.children_system
    rss = rss_all = proc.memory_info().rss
    for p in proc.children(recursive=True):
        try:
            rss_all += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return cpu, rss, rss_all


def prom_value(url: str, expr: str) -> float:
    res = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    result = res["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


# ---- the run ------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100, help="lab hosts (>= 100 for the check)")
    parser.add_argument("--rpi", type=int, default=0, help="of which emulated arm64")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=20, help="metrics per agent at 1 Hz")
    parser.add_argument("--procs", type=int, default=2, help="agent generator processes")
    parser.add_argument("--baseline", type=float, default=30, help="seconds of ingest alone")
    parser.add_argument("--forks", type=int, help="EDGEFLEET_ANSIBLE_FORKS for the controller")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, mounts)")
    if not 1 <= args.agents <= 250 * 200:
        raise SystemExit("--agents must be 1..50000")
    if args.forks:
        os.environ["EDGEFLEET_ANSIBLE_FORKS"] = str(args.forks)
    # Ctrl-C and SIGTERM unwind through the cleanup stack below.
    signal.signal(signal.SIGTERM, _interrupt)
    if LAB.state_file.exists():
        console.print(f"removing a lab left by an earlier run ({LAB.state_dir})")
        fleet.down(LAB, say=lambda _m: None)
    root = Path(tempfile.mkdtemp(prefix="edgefleet-scale-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, True)
        run(args, root, cleanup)


def run(args: argparse.Namespace, root: Path, cleanup: ExitStack) -> None:
    home, sd_dir = root / "home", root / "sd"
    home.mkdir()
    inventory = root / "inventory.yml"
    t = time.monotonic()
    with console.status(f"building a lab of {args.hosts} hosts") as status:
        cleanup.callback(fleet.down, LAB, lambda _m: None)
        state = fleet.up(LAB, rpi=args.rpi, gpu=args.hosts - args.rpi, inventory_path=inventory,
                         say=lambda m: status.update(m))
    console.print(f"lab of {len(state.hosts)} hosts up in {time.monotonic() - t:.0f} s")

    store = Store(f"sqlite:///{home / 'controller.db'}")
    issued = tokens.ensure(store, [f"sim-{i:04d}" for i in range(args.agents)])
    store.dispose()
    admin = secrets.token_urlsafe(24)
    port = 18080
    api = f"http://{state.bridge_address}:{port}"
    server = start_controller(home, state.bridge_address, port, inventory, admin,
                              sd_dir / "edgefleet-agents.json")
    cleanup.callback(stop, server)

    ctx = multiprocessing.get_context("fork")
    # Moved below once the ping is over; the hour only bounds a run that never gets there.
    deadline = ctx.Value("d", time.time() + 3600)
    pipes, procs = [], []
    names = sorted(issued)
    for p in range(args.procs):
        share = [(i, issued[names[i]]) for i in range(p, args.agents, args.procs)]
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=run_agents,
                           args=(f"{api}/api/telemetry", share, args, deadline, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
        cleanup.callback(_kill, proc)

    def sd_count() -> int:
        path = sd_dir / "edgefleet-agents.json"
        return len(json.loads(path.read_text())) if path.exists() else 0

    with console.status("agents registering; waiting for the SD file to list them"):
        wait(lambda: sd_count() >= args.agents + args.hosts, 180, "SD targets for every agent")
    prom_port = 19090
    prometheus = start_prometheus(root, sd_dir, prom_port)
    cleanup.callback(stop, prometheus)
    prom = f"http://127.0.0.1:{prom_port}"
    with console.status(f"ingest alone for {args.baseline:.0f} s (baseline)"):
        wait(lambda: prom_value(prom, "count(up)") >= args.agents, 120, "first scrapes")
        ctl = psutil.Process(server.pid)
        base_cpu, _, _ = tree_usage(ctl)
        base_start = time.time()
        time.sleep(args.baseline)

    cpu0, _, _ = tree_usage(ctl)
    base_cpu = (cpu0 - base_cpu) / (time.time() - base_start)
    samples: list[tuple[float, int, int]] = []
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {admin}"},
                      timeout=60) as c:
        ping_start = time.time()
        job = c.post("/api/jobs", json={"playbook": "ping"}).raise_for_status().json()
        with console.status(f"fleet-wide ping of {args.hosts} hosts") as status:
            for _ in range(3600):  # bounded: at most ~30 min at 0.5 s
                before = time.monotonic()
                cpu, rss, rss_all = tree_usage(ctl)
                samples.append((time.time(), rss, rss_all))
                job = c.get(f"/api/jobs/{job['id']}").json()
                if job["status"] not in ("queued", "running"):
                    break
                status.update(f"fleet-wide ping: {job['status']}, "
                              f"{time.time() - ping_start:.0f} s")
                time.sleep(max(0.0, 0.5 - (time.monotonic() - before)))
        ping_end = time.time()
        cpu1, _, _ = tree_usage(ctl)
    # Scrape health over the ping, asked while the agents still serve /metrics.
    span = f"{max(10, int(ping_end - ping_start))}s"
    scrape = {
        "agents_up": prom_value(prom, 'count(up{group="unlisted"} == 1)'),
        "agents": prom_value(prom, 'count(up{group="unlisted"})'),
        "hosts_up": prom_value(prom, 'count(up{group!="unlisted",job="edgefleet-agents"} == 1)'),
        "success": prom_value(prom, f'avg(avg_over_time(up{{group="unlisted"}}[{span}]))'),
    }
    deadline.value = time.time()  # agents stop after their current push
    results = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join(60)
    report(args, job, ping_start, ping_end, base_start, cpu1 - cpu0, samples, results, scrape,
           base_cpu)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _kill(proc: Any) -> None:
    if proc.is_alive():
        proc.terminate()
        proc.join(10)


def report(args: argparse.Namespace, job: dict[str, Any], ping_start: float, ping_end: float,
           base_start: float, ping_cpu_s: float, samples: list[tuple[float, int, int]],
           results: list[dict[str, Any]], scrape: dict[str, float], base_cpu: float) -> None:
    pushes = [r for res in results for r in res["results"]]
    errors = [e for res in results for e in res["errors"]]

    def window(a: float, b: float) -> tuple[float, float, float, int]:
        inside = sorted(lat for t, lat, _ in pushes if a <= t < b)
        rate = sum(n for t, _, n in pushes if a <= t < b) / max(1e-9, b - a)
        if not inside:
            return rate, 0.0, 0.0, 0
        return (rate, inside[len(inside) // 2] * 1000,
                inside[min(len(inside) - 1, int(0.99 * len(inside)))] * 1000, len(inside))

    hosts = job.get("hosts", [])
    ok = sum(1 for h in hosts if h["status"] == "ok")
    wall = ping_end - ping_start
    base = window(base_start, ping_start)
    during = window(ping_start, ping_end)
    console.print(f"\nmachine           {psutil.cpu_count()} CPUs, "
                  f"{psutil.virtual_memory().total / 2**30:.1f} GiB, load "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    console.print(f"fleet             {args.hosts} lab hosts ({args.rpi} arm64), {args.agents} "
                  f"agents x {args.metrics} metrics at 1 Hz, a push every 5 s")
    console.print(f"fleet-wide ping   {job['status']}: {ok}/{len(hosts)} ok in {wall:.1f} s "
                  f"(forks {os.environ.get('EDGEFLEET_ANSIBLE_FORKS', 'auto')})")
    console.print(f"controller CPU    {ping_cpu_s:.1f} s over {wall:.1f} s = "
                  f"{100 * ping_cpu_s / wall:.0f} % of one core (server + ansible workers)")
    console.print(f"controller memory server RSS max {max(s[1] for s in samples) / 2**20:.0f} "
                  f"MiB; with live ansible workers max {max(s[2] for s in samples) / 2**20:.0f} "
                  "MiB "
                  "(RSS summed: shared pages counted per process)")
    console.print(f"ingest baseline   {base[0]:,.0f} samples/s, p50 {base[1]:.0f} ms, "
                  f"p99 {base[2]:.0f} ms ({base[3]} pushes); controller CPU "
                  f"{100 * base_cpu:.0f} % of one core")
    console.print(f"ingest during     {during[0]:,.0f} samples/s, p50 {during[1]:.0f} ms, "
                  f"p99 {during[2]:.0f} ms ({during[3]} pushes)")
    console.print(f"push errors       {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    console.print(f"prometheus        {scrape['agents_up']:.0f}/{scrape['agents']:.0f} agent "
                  f"targets up at the ping's end; up averaged over the ping "
                  f"{100 * scrape['success']:.2f} %; lab hosts (no agent) up "
                  f"{scrape['hosts_up']:.0f}")
    console.print(f"generators CPU    {sum(r['cpu'] for r in results):.0f} s")


if __name__ == "__main__":
    main()
