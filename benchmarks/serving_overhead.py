"""What serving costs over a bare forward pass, on this machine, same model and input.

Measured: (1) a bare forward pass in this process (bench's timed loop, the same threads);
(a) the server's side of a request as the server itself measures it: forward + postprocess
from its latency_ms, plus the InferenceReporter's cost per record (timed here against the
same agent collector, mean: one record in FLUSH_RECORDS pays the sendto); (b) the full round
trip from a loopback HTTP client (connect, upload, decode, preprocess, forward, answer).
Target: (a) within 5 % of the bare forward at p50. The server is a real `python -m serving`
subprocess reporting to the agent's real inference collector; the machine is shared and
noisy, so bare and served blocks alternate over `--rounds` and the figures are printed.
OMP_* and GOMP_* variables of this process are passed to the server, so both sides run
alike. Most of the gap is the forward itself: between requests libgomp's workers stop
spinning and sleep, and the first parallel region wakes them (a back-to-back loop never
pays that). OMP_WAIT_POLICY=ACTIVE would hide it but keeps every worker spinning while
idle, here two processes on two cores, so it only measures contention.

    .venv/bin/python benchmarks/serving_overhead.py [--model resnet18] [--input-size 224]
        [--variant fp32] [--threads 2] [--iterations 200] [--rounds 4]
Exit 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from agent.collectors.base import CollectorContext
from agent.collectors.inference import InferenceCollector
from agent.inference import FLUSH_RECORDS, InferenceReporter
from bench import zoo
from bench.preprocess import Preprocess, synthetic_image
from bench.stats import LatencyStats
from bench.timing import run_timed
from bench.variants import variant

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 5
START_TIMEOUT_S = 120.0
TARGET = 0.05


class Collector:
    """The agent's inference collector, drained every 0.5 s as the agent would (1 Hz)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "inference.sock"
        self._c = InferenceCollector(CollectorContext(
            proc_root=root, sys_root=root, etc_root=root, which=lambda _name: None,
            inference_socket=self.path))
        assert self._c.applies()
        self.counts: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            for s in self._c.collect(time.time()):
                if s.name == "inference_count_total":
                    self.counts[s.labels["model"]] = s.value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._c.close()


def threading_env() -> dict[str, str]:
    """This process's OpenMP settings, so the server's forward runs as the bare one does."""
    return {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_"))}


class Server:
    """`python -m serving` on a free loopback port; stderr drained so it never blocks."""

    def __init__(self, manifest: Path, socket_path: Path, threads: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serving", "--manifest", str(manifest), "--host",
             "127.0.0.1", "--port", "0", "--threads", str(threads)],
            env={"PYTHONPATH": str(ROOT), "EDGEFLEET_INFERENCE_SOCKET": str(socket_path),
                 "PATH": "/usr/bin:/bin", **threading_env()},
            stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # the first line is "listening" or the error
        if "listening on http://127.0.0.1:" not in line:
            raise SystemExit(f"serving did not start: {line.strip()}")
        self.port = int(line.split("127.0.0.1:")[1].split(",")[0])
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.request("GET", "/healthz")[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit("serving never became ready")
            time.sleep(0.1)

    def request(self, method: str, path: str, body: bytes | None = None
                ) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "image/jpeg"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=60)


def served(server: Server, image: bytes, n: int) -> tuple[list[dict[str, float]], list[float]]:
    """n predictions: the server's latency_ms of each, and the client's round trips (ms)."""
    parts, trips = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        status, body = server.request("POST", "/predict", image)
        trips.append((time.perf_counter() - t0) * 1000.0)
        if status != 200:
            raise SystemExit(f"predict answered {status}: {body}")
        parts.append(body["latency_ms"])
    return parts, trips


def reporting_ms(socket_path: Path, model: str) -> LatencyStats:
    """InferenceReporter.record per call, against the live collector (batched sends).

    Eight batches: more in one burst would overflow the socket's datagram queue between
    drains, and a refused sendto is not what a request pays."""
    with InferenceReporter(model, socket_path) as rep:
        return LatencyStats.of(run_timed(lambda: rep.record(0.05), 8 * FLUSH_RECORDS,
                                         0).durations_ms)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="resnet18")
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--variant", default="fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=200, help="per side, over all rounds")
    p.add_argument("--rounds", type=int, default=4)
    a = p.parse_args()
    per_round = max(1, a.iterations // a.rounds)
    image = synthetic_image()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = root / "model.json"
        manifest.write_text(json.dumps({
            "schema": 1, "task": "image-classification", "model": a.model, "version": "bench",
            "variant": a.variant, "input_size": a.input_size, "weights": None, "seed": 0,
            "weights_sha256": zoo.RANDOM, "accuracy": None}))
        collector = Collector(root)
        server = Server(manifest, collector.path, a.threads)
        torch.manual_seed(0)
        v = variant(a.variant, "cpu")
        net = v.prepare(zoo.load(a.model)[0])
        x = Preprocess(zoo.card(a.model), a.input_size)(image).unsqueeze(0).to(v.dtype)
        bare: list[float] = []
        parts: list[dict[str, float]] = []
        trips: list[float] = []
        served(server, image, WARMUP)
        with torch.inference_mode():
            for _ in range(a.rounds):  # alternate, so load drifts hit both alike
                bare += run_timed(lambda: net(x), per_round, WARMUP).durations_ms
                got, rt = served(server, image, per_round)
                parts += got
                trips += rt
        rc = server.stop()
        time.sleep(1.0)  # the collector's drain of the server's last batch
        report = reporting_ms(collector.path, "bench-reporter")
        collector.close()
    n_served = WARMUP + a.rounds * per_round
    seen = collector.counts.get(a.model, 0)
    base = LatencyStats.of(bare)
    rows = [
        ("bare forward (this process)", base),
        ("server: forward", LatencyStats.of([q["forward"] for q in parts])),
        ("(a) server: forward + postprocess + report",
         LatencyStats.of([q["forward"] + q["postprocess"] + report.mean for q in parts])),
        ("server: decode + preprocess",
         LatencyStats.of([q["decode"] + q["preprocess"] for q in parts])),
        ("server: total (decode..postprocess)", LatencyStats.of([q["total"] for q in parts])),
        ("(b) client round trip (loopback HTTP)", LatencyStats.of(trips)),
    ]
    omp = " ".join(f"{k}={v}" for k, v in threading_env().items()) or "OpenMP defaults"
    print(f"{a.model} {a.variant} at {a.input_size} px, {a.threads} threads ({omp}), "
          f"{len(bare)} bare / {len(parts)} served samples in {a.rounds} rounds, "
          f"{len(image)} B JPEG 640x480, torch {torch.__version__}")
    print(f"{'measure':<44} {'p50 ms':>9} {'p90 ms':>9} {'p50/bare':>9} {'p90/bare':>9}")
    for name, s in rows:
        print(f"{name:<44} {s.p50:>9.3f} {s.p90:>9.3f} {s.p50 / base.p50:>9.3f} "
              f"{s.p90 / base.p90:>9.3f}")
    print(f"reporting per record: p50 {report.p50 * 1000:.2f} µs, mean {report.mean * 1000:.2f} "
          f"µs; the collector counted {seen:.0f} of {n_served} served inferences; "
          f"server exit {rc}")
    overhead = rows[2][1].p50 / base.p50 - 1.0
    ok = overhead < TARGET and seen == n_served and rc == 0
    print(f"{'PASS' if ok else 'FAIL'} serving overhead (a) at p50: {overhead:+.1%} "
          f"(target < {TARGET:.0%})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
