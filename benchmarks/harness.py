"""The benchmark harness measured against itself and against torch.utils.benchmark.

Checks (issue 5): (1) the harness's own per-iteration timing overhead is under 1 % of
resnet18's latency; (2) its p50 for resnet18 and resnet50 agrees with torch.utils.benchmark's
median within 5 % at the same thread count; (3) repeated runs agree: coefficient of variation
of the p50 over REPEATS runs under 5 %. The machine is shared and noisy: each comparison is
made within one process, alternating the two timers, and the figures are printed.

    .venv/bin/python benchmarks/harness.py [--threads 2] [--iterations 100] [--repeats 5]
Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
import torch.utils.benchmark as tbench

from bench import zoo
from bench.stats import LatencyStats
from bench.timing import run_timed


def overhead_us(iterations: int = 20_000) -> float:
    """Per-iteration cost of the timed loop itself (a no-op step), in microseconds."""
    s = run_timed(lambda: None, iterations, 100)
    return statistics.median(s.durations_ms) * 1000.0


def harness_p50(model, x, iterations: int) -> float:
    return LatencyStats.of(run_timed(lambda: model(x), iterations, 10).durations_ms).p50


def timer_median(model, x, threads: int) -> float:
    timer = tbench.Timer("model(x)", globals={"model": model, "x": x}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=2.0).median * 1000.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ok = True
    over = overhead_us()
    print(f"harness overhead per iteration: {over:.2f} µs")
    for name in ("resnet18", "resnet50"):
        model, _ = zoo.load(name)
        x = torch.randn(1, 3, 224, 224)
        with torch.inference_mode():
            ours, theirs = [], []
            for _ in range(a.repeats):  # alternate, so load drifts hit both alike
                ours.append(harness_p50(model, x, a.iterations))
                theirs.append(timer_median(model, x, a.threads))
        p50, med = statistics.median(ours), statistics.median(theirs)
        diff = abs(p50 - med) / med
        cv = statistics.stdev(ours) / statistics.mean(ours)
        share = over / 1000.0 / p50
        checks = {"overhead < 1%": share < 0.01, "agrees with torch.utils.benchmark < 5%":
                  diff < 0.05, "repeat CV < 5%": cv < 0.05}
        ok &= all(checks.values())
        print(f"{name}: harness p50 {p50:.2f} ms (runs: {', '.join(f'{v:.2f}' for v in ours)}); "
              f"torch.utils.benchmark median {med:.2f} ms "
              f"(runs: {', '.join(f'{v:.2f}' for v in theirs)}); "
              f"difference {diff:.1%}; CV {cv:.1%}; overhead {share:.4%} of p50; "
              f"{a.threads} threads")
        for check, passed in checks.items():
            print(f"  {'PASS' if passed else 'FAIL'} {check}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
