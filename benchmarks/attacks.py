"""Issue 14's two resource attacks on ingest, replayed against a real controller on loopback.

1. Stalled uploads: `--stalled` (1,500) concurrent `POST /api/telemetry` without a valid
   token (half none, half a well-formed unknown one), each declaring a 1 MiB body, sending
   `--sent-kib` of it and then stalling for `--hold` seconds before going away. Reports the
   server's resident memory before, at its peak and after, how many of those connections
   the server still held open, and what the aborts wrote to its log.
2. Cardinality: next to a small normal fleet, one device pushes `--label-sets` (100,000)
   label sets of one key metric in batches of `--batch`; reports how many were stored or
   refused, the server's memory, and `GET /api/devices` latency (p50/p99 over `--calls`)
   and size before and after.

    .venv/bin/python benchmarks/attacks.py                   # this working tree
    .venv/bin/python benchmarks/attacks.py --source /tmp/before   # e.g. a git worktree of HEAD

`--source` is the tree whose controller is served (PYTHONPATH); this script, the attackers
and the measurements are the same for both. Printed figures, not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from ingest import free_port  # benchmarks/ingest.py, next to this file

from agent.protocol import MAX_BODY_BYTES

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
MAINTENANCE_S = 5
DECLARED = MAX_BODY_BYTES  # the most an upload may announce
_ISSUE_TOKENS = """
import json, sys
from controller.store import Store
from controller.telemetry import tokens
print(json.dumps(tokens.ensure(Store(sys.argv[1]), sys.argv[2:])))
"""


@dataclass
class Server:
    """`edgefleet controller serve` from `source`, with its own home and log."""

    source: Path
    home: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def env(self) -> dict[str, str]:
        # Maintenance every 5 s instead of 60, so "after" includes one of its passes.
        env = dict(os.environ, EDGEFLEET_HOME=str(self.home), PYTHONPATH=str(self.source),
                   EDGEFLEET_TELEMETRY_MAINTENANCE_INTERVAL=str(MAINTENANCE_S))
        for name in ("EDGEFLEET_DATABASE_URL", "EDGEFLEET_API_TOKEN", "EDGEFLEET_API_READ_TOKEN"):
            env.pop(name, None)
        return env

    def issue_tokens(self, names: list[str]) -> dict[str, str]:
        """With the served tree's own code, so the store has that tree's schema."""
        url = f"sqlite:///{self.home / 'controller.db'}"
        out = subprocess.run([sys.executable, "-c", _ISSUE_TOKENS, url, *names], env=self.env(),
                             check=True, capture_output=True, text=True, cwd=self.source)
        return json.loads(out.stdout)

    def start(self) -> psutil.Process:
        self.process = subprocess.Popen(
            [str(VENV_BIN / "edgefleet"), "controller", "serve", "--port", str(self.port)],
            env=self.env(), cwd=self.source, stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),  # a file: an undrained pipe would stall the server
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return psutil.Process(self.process.pid)
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit("controller did not start:\n" + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@contextmanager
def served(source: Path, names: list[str]) -> Any:
    with tempfile.TemporaryDirectory(prefix="edgefleet-attacks-") as tmp:
        server = Server(source, Path(tmp), free_port())
        issued = server.issue_tokens(names)
        proc = server.start()
        try:
            yield server, proc, issued
        finally:
            server.stop()


def mb(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 1e6


def held_connections(proc: psutil.Process, port: int) -> int:
    return sum(1 for c in proc.net_connections(kind="tcp")
               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def log_lines(server: Server) -> tuple[int, int]:
    text = server.log.read_text(errors="replace")
    return text.count("\n"), text.count("Traceback")


# --- 1. stalled unauthenticated uploads -----------------------------------------------------


async def until_closed(reader: asyncio.StreamReader) -> None:
    """Returns once the server has closed the connection (after an answer, or a reset)."""
    with suppress(ConnectionError):
        await reader.read()


async def stalled_upload(port: int, index: int, sent: bytes, release: asyncio.Event,
                         closed_by_server: list[int]) -> None:
    """One attacker: headers, part of the body, then nothing until `release`."""
    auth = "" if index % 2 else f"Authorization: Bearer {'A' * 40}{index:05d}\r\n"
    head = (f"POST /api/telemetry HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {DECLARED}\r\n{auth}\r\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + sent)
        await asyncio.wait_for(writer.drain(), timeout=30)
        read = asyncio.ensure_future(until_closed(reader))
        await asyncio.wait([read, asyncio.ensure_future(release.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        if read.done():
            closed_by_server.append(index)
        else:
            read.cancel()
    except (ConnectionError, TimeoutError):
        closed_by_server.append(index)
    finally:
        writer.transport.abort()  # the client goes away mid-body: an abort


async def stalled_attack(server: Server, proc: psutil.Process, args: argparse.Namespace
                         ) -> dict[str, Any]:
    sent = b'{"protocol":1,"samples":[' + b" " * (args.sent_kib * 1024 - 26)
    release, closed = asyncio.Event(), []
    before, (lines0, tracebacks0) = mb(proc), log_lines(server)
    tasks = []
    for i in range(args.stalled):  # in waves, so the listen backlog never overflows
        tasks.append(asyncio.create_task(stalled_upload(server.port, i, sent, release, closed)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    peak, held = before, 0
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        peak, held = max(peak, mb(proc)), max(held, held_connections(proc, server.port))
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(MAINTENANCE_S + 1)  # the server notices the aborts, maintains
    lines, tracebacks = log_lines(server)
    return {"rss_before": before, "rss_peak": peak, "rss_after": mb(proc), "held_max": held,
            "closed_by_server": len(closed), "log_lines": lines - lines0,
            "tracebacks": tracebacks - tracebacks0}


# --- 2. cardinality ------------------------------------------------------------------------


def push_body(device: int, first_seq: int, samples: list[tuple[str, dict[str, str]]],
              ts: float) -> bytes:
    return json.dumps({
        "protocol": 1,
        "device": {"id": uuid.UUID(int=device + 1).hex, "hostname": f"dev-{device:03d}",
                   "arch": "arm64", "os": "Debian 12", "agent_version": "0.1.0",
                   "boot_time": ts - 3600},
        "stream": uuid.UUID(int=device + 10_000).hex,
        "batch": {"first_seq": first_seq, "last_seq": first_seq + len(samples) - 1},
        "dropped": {"total": 0},
        "samples": [{"seq": first_seq + i, "name": name, "value": 0.5, "unit": "ratio",
                     "ts": ts, "source": "bench", "labels": labels}
                    for i, (name, labels) in enumerate(samples)],
    }).encode()


def normal_series() -> list[tuple[str, dict[str, str]]]:
    """About what a Pi reports: per-core and total CPU, memory, a few sensors."""
    cpu = [("cpu_usage_ratio", {"cpu": c}) for c in ("0", "1", "2", "3", "total")]
    return cpu + [("memory_used_bytes", {}), ("memory_total_bytes", {}),
                  ("cpu_thermal_celsius", {"zone": "cpu"}), ("power_watts", {}),
                  ("load1", {}), ("disk_used_ratio", {"mount": "/"})]


def list_latency(client: httpx.Client, calls: int) -> dict[str, float]:
    times, size = [], 0
    for _ in range(calls):
        t = time.perf_counter()
        res = client.get("/api/devices")
        times.append(time.perf_counter() - t)
        res.raise_for_status()
        size = len(res.content)
    times.sort()
    return {"p50_ms": statistics.median(times) * 1000,
            "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))] * 1000,
            "bytes": size}


def cardinality_attack(server: Server, proc: psutil.Process, issued: dict[str, str],
                       args: argparse.Namespace) -> dict[str, Any]:
    ts = time.time() - 5
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for d in range(args.fleet):
            res = client.post("/api/telemetry", content=push_body(d, 1, normal_series(), ts),
                              headers={"authorization": f"Bearer {issued[f'dev-{d:03d}']}"})
            res.raise_for_status()
        quiet = list_latency(client, args.calls)
        before = mb(proc)
        attacker = {"authorization": f"Bearer {issued['attacker']}"}
        stored = refused = 0
        statuses: dict[int, int] = {}
        t0 = time.perf_counter()
        for start in range(0, args.label_sets, args.batch):
            n = min(args.batch, args.label_sets - start)
            samples = [("cpu_usage_ratio", {"cpu": f"c{start + i}"}) for i in range(n)]
            res = client.post("/api/telemetry", headers=attacker,
                              content=push_body(args.fleet, start + 1, samples, ts))
            statuses[res.status_code] = statuses.get(res.status_code, 0) + 1
            if res.status_code == 200:
                stored += res.json()["accepted"]
            else:
                refused += n
        pushing_s = time.perf_counter() - t0
        attacked = list_latency(client, args.calls)
        detail = client.get("/api/devices/attacker")
    return {"quiet": quiet, "attacked": attacked, "stored": stored, "refused": refused,
            "statuses": statuses, "push_s": pushing_s, "rss_before": before,
            "rss_after": mb(proc), "detail_bytes": len(detail.content)}


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the tree whose controller is served (default: this one)")
    parser.add_argument("--stalled", type=int, default=1500)
    parser.add_argument("--sent-kib", type=int, default=960,
                        help="body KiB each stalled upload sends before stalling")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds the uploads stall")
    parser.add_argument("--label-sets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="label sets per push")
    parser.add_argument("--fleet", type=int, default=20, help="normal devices listed too")
    parser.add_argument("--calls", type=int, default=50, help="GET /api/devices per figure")
    parser.add_argument("--skip", choices=("stalled", "cardinality"))
    args = parser.parse_args()
    raise_fd_limit(args.stalled * 2 + 256)  # the server inherits it too
    source = args.source.resolve()
    print(f"controller from {source}; {psutil.cpu_count()} CPUs, load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    if args.skip != "stalled":
        with served(source, []) as (server, proc, _):
            r = asyncio.run(stalled_attack(server, proc, args))
        print(f"stalled uploads   {args.stalled} without a valid token, {args.sent_kib} KiB of "
              f"{DECLARED // 1024} KiB sent, held {args.hold:g} s")
        print(f"  server RSS      {r['rss_before']:.0f} MB before, {r['rss_peak']:.0f} MB peak "
              f"(+{r['rss_peak'] - r['rss_before']:.0f} MB), {r['rss_after']:.0f} MB after")
        print(f"  connections     at most {r['held_max']} held open by the server; "
              f"{r['closed_by_server']} closed by the server before the client left")
        print(f"  server log      {r['log_lines']} lines, {r['tracebacks']} tracebacks")

    if args.skip != "cardinality":
        names = [f"dev-{d:03d}" for d in range(args.fleet)] + ["attacker"]
        with served(source, names) as (server, proc, issued):
            r = cardinality_attack(server, proc, issued, args)
        q, a = r["quiet"], r["attacked"]
        print(f"cardinality       one device pushes {args.label_sets:,} label sets of "
              f"cpu_usage_ratio in batches of {args.batch} ({r['push_s']:.1f} s), next to "
              f"{args.fleet} normal devices")
        print(f"  answers         {r['statuses']}: {r['stored']:,} stored, "
              f"{r['refused']:,} refused")
        print(f"  server RSS      {r['rss_before']:.0f} MB before, {r['rss_after']:.0f} MB after")
        print(f"  GET /api/devices  before: p50 {q['p50_ms']:.1f} ms, p99 {q['p99_ms']:.1f} ms, "
              f"{q['bytes'] / 1e3:.1f} kB; after: p50 {a['p50_ms']:.1f} ms, "
              f"p99 {a['p99_ms']:.1f} ms, {a['bytes'] / 1e3:.1f} kB")
        print(f"  GET /api/devices/attacker  {r['detail_bytes'] / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
