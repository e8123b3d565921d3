"""Ingest benchmark: many simulated agents pushing to one real controller at once.

Starts `edgefleet controller serve` on loopback with a throw-away EDGEFLEET_HOME, issues one
token per simulated device, then runs the agents (asyncio + httpx, one client per device,
like real agents): each samples `--metrics` metrics at 1 Hz and pushes every `--interval`
seconds, `--pushes` times, on a fixed schedule (a late push goes out at once; it is not
skipped). Prints sustained samples/s, push latency percentiles, and whether every sample
arrived: rows counted in the store must equal the samples sent.

    .venv/bin/python benchmarks/ingest.py          # 1,000 devices x 20 metrics, 5 s batches
    .venv/bin/python benchmarks/ingest.py --interval 1 --pushes 30   # a push every second

The load generator shares the machine with the server, so the server's own CPU time per
sample is printed too: that figure does not depend on how busy the generator was. "errors:
ReadError" are pushes sent on a keep-alive connection the server closed at that moment
(uvicorn closes idle ones after 5 s, the agents' push interval); they are retried and
counted, never lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import shutil
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

from agent.protocol import PROTOCOL_VERSION
from controller.store import Store
from controller.telemetry import tokens

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bodies(index: int, metrics: int, per_push: int, pushes: int, t0: float) -> list[bytes]:
    """Every push body one device will send, built before the clock starts."""
    device_id = uuid.UUID(int=index + 1).hex
    stream = uuid.uuid4().hex
    out, seq = [], 1
    for k in range(pushes):
        samples = []
        for tick in range(per_push):
            ts = t0 + k * per_push + tick
            for m in range(metrics):
                samples.append({"seq": seq, "name": f"bench_metric_{m:02d}",
                                "value": m + tick * 0.5, "unit": "ratio", "ts": ts,
                                "source": "bench", "labels": {"core": str(m % 4)}})
                seq += 1
        out.append(json.dumps({
            "protocol": PROTOCOL_VERSION,
            "device": {"id": device_id, "hostname": f"bench-{index:04d}", "arch": "arm64",
                       "os": "Debian 12", "agent_version": "0.1.0", "boot_time": t0 - 3600},
            "stream": stream,
            "batch": {"first_seq": samples[0]["seq"], "last_seq": samples[-1]["seq"]},
            "dropped": {"total": 0},
            "samples": samples,
        }).encode())
    return out


async def agent(url: str, token: str, payloads: list[bytes], interval: float, start: float,
                latencies: list[float], errors: list[str], tls: ssl.SSLContext,
                timeline: list[tuple[float, float]]) -> int:
    """One device: push on schedule; a failed push is retried (as the real agent's spool)."""
    accepted = 0
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    # One shared TLS context: building one per client costs ~20 ms of CPU (plain HTTP here).
    async with httpx.AsyncClient(timeout=30, verify=tls) as client:
        for k, payload in enumerate(payloads):
            delay = start + k * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            while True:
                t = time.perf_counter()
                try:
                    res = await client.post(url, content=payload, headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    await asyncio.sleep(0.5)
                    continue
                latencies.append(time.perf_counter() - t)
                timeline.append((t - start, latencies[-1]))
                if res.status_code == 200:
                    accepted += res.json()["accepted"]
                    break
                errors.append(f"{res.status_code} {res.text[:80]}")
                if res.status_code < 500:
                    break
                await asyncio.sleep(0.5)
    return accepted


def run_agents(args: argparse.Namespace, url: str, names: list[str], issued: dict[str, str],
               first: int, t0: float, start_wall: float) -> dict[str, Any]:
    """One generator process: its share of the devices, staggered across one interval."""
    per_push = max(1, round(args.interval))
    payloads = {i: bodies(i, args.metrics, per_push, args.pushes, t0)
                for i in range(first, first + len(names))}

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        errors: list[str] = []
        # Align every process on the same wall-clock start.
        await asyncio.sleep(max(0.0, start_wall - time.time()))
        start = time.perf_counter()
        tls = ssl.create_default_context()
        timeline: list[tuple[float, float]] = []
        tasks = [
            agent(url, issued[name], payloads[first + j], args.interval,
                  start + args.interval * (first + j) / args.devices, latencies, errors, tls,
                  timeline)
            for j, name in enumerate(names)
        ]
        accepted = await asyncio.gather(*tasks)
        return {"accepted": sum(accepted), "latencies": latencies, "errors": errors,
                "timeline": timeline,
                "elapsed": time.perf_counter() - start, "cpu": time.process_time()}

    return asyncio.run(main())


def _worker(conn: Any, *a: Any) -> None:
    conn.send(run_agents(*a))
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between pushes of one device, 5 like the agent's "
                             "default (samples per push = metrics x interval)")
    parser.add_argument("--pushes", type=int, default=12, help="pushes per device")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--py-spy", type=Path, metavar="FILE",
                        help="profile the server with py-spy (pip install py-spy): a flame "
                             "graph for .svg, collapsed stacks otherwise")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary EDGEFLEET_HOME (store, server log)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="edgefleet-ingest-"))
    env = dict(os.environ, EDGEFLEET_HOME=str(home))
    env.pop("EDGEFLEET_DATABASE_URL", None)
    store = Store(f"sqlite:///{home / 'controller.db'}")
    names = [f"bench-{i:04d}" for i in range(args.devices)]
    issued = tokens.ensure(store, names)
    store.dispose()

    port = free_port()
    url = f"http://127.0.0.1:{port}/api/telemetry"
    server = subprocess.Popen(
        [str(VENV_BIN / "edgefleet"), "controller", "serve", "--port", str(port)],
        # A file, not a pipe: an undrained pipe fills up and stalls the server's access log.
        env=env, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("controller did not start")
            time.sleep(0.2)
        proc = psutil.Process(server.pid)
        spy = None
        if args.py_spy:
            fmt = [] if args.py_spy.suffix == ".svg" else ["--format", "raw"]
            spy = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "-o", str(args.py_spy),
                                    *fmt, "--gil", "-p", str(server.pid), "-r", "100"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = proc.cpu_times()
        results = generate(args, url, names, issued)
        cpu_after = proc.cpu_times()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)

    try:
        report(args, home, results,
               (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system))
    finally:
        if args.keep:
            print(f"store and server log kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def generate(args: argparse.Namespace, url: str, names: list[str],
             issued: dict[str, str]) -> list[dict[str, Any]]:
    t0 = time.time() - args.pushes * max(1, round(args.interval))
    start_wall = time.time() + 3 + args.devices / 500  # time to build the bodies
    shares = [names[i::args.procs] for i in range(args.procs)]
    firsts = []
    ordered: list[str] = []
    for share in shares:
        firsts.append(len(ordered))
        ordered.extend(share)
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for share, first in zip(shares, firsts, strict=True):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker,
                        args=(child, args, url, share, issued, first, t0, start_wall))
        p.start()
        pipes.append(parent)
        procs.append(p)
    results = [pipe.recv() for pipe in pipes]
    for p in procs:
        p.join()
    return results


def report(args: argparse.Namespace, home: Path, results: list[dict[str, Any]],
           server_cpu: float) -> None:
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    accepted = sum(r["accepted"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    per_push = args.metrics * max(1, round(args.interval))
    sent = args.devices * args.pushes * per_push
    with sqlite3.connect(home / "controller.db") as db:
        stored = db.execute("SELECT count(*) FROM telemetry_samples").fetchone()[0]

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(f"devices {args.devices}, {args.metrics} metrics at 1 Hz, a push every "
          f"{args.interval:g} s ({per_push} samples), {args.pushes} pushes each, "
          f"{args.procs} generator process(es), {psutil.cpu_count()} CPUs")
    print(f"pushes            {len(latencies)} in {elapsed:.1f} s "
          f"({len(latencies) / elapsed:.0f}/s)")
    print(f"samples/s         {accepted / elapsed:,.0f} sustained")
    print(f"push latency      p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, "
          f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms "
          f"(mean {statistics.fmean(latencies) * 1000:.1f} ms)")
    print(f"server CPU        {server_cpu:.1f} s = {server_cpu / max(1, stored) * 1e6:.1f} us "
          f"per sample; generators {sum(r['cpu'] for r in results):.1f} s")
    print(f"samples sent      {sent:,}; accepted {accepted:,}; stored {stored:,}; "
          f"lost {sent - stored:,}")
    windows: dict[int, list[float]] = collections.defaultdict(list)
    for r in results:
        for t, lat in r["timeline"]:
            windows[int(t // 10) * 10].append(lat)
    print("p99 per 10 s      " + " ".join(
        f"{k}s:{sorted(v)[int(len(v) * 0.99)] * 1000:.0f}" for k, v in sorted(windows.items())
    ) + " (ms)")
    if errors:
        print(f"errors            {len(errors)} (first: {errors[0]})")
    if stored != sent:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
