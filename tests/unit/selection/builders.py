"""Builds contract-shaped benchmark results for tests. These are FIXTURES, not measurements:
accuracies are torchvision's published V1 top-1/top-5; latencies are the illustrative 2-vCPU
figures from the project's benchmark notes; energies and memory are made up."""

from __future__ import annotations

from typing import Any

# model: (top1, top5, p50, p90, p99, energy_j, peak_mb)
RESNETS: dict[str, tuple[float, float, float, float, float, float, float]] = {
    "resnet18": (69.758, 89.078, 34.4, 53.9, 341.7, 1.1, 120.0),
    "resnet34": (73.314, 91.420, 59.6, 63.9, 79.7, 2.0, 180.0),
    "resnet50": (76.130, 92.862, 78.2, 83.7, 88.5, 2.6, 250.0),
    "resnet101": (77.374, 93.546, 125.7, 140.6, 143.8, 4.4, 380.0),
    "resnet152": (78.312, 94.046, 181.7, 200.7, 212.4, 6.3, 520.0),
}


def result(
    model: str,
    top1: float | None,
    p90: float,
    *,
    p50: float | None = None,
    energy_j: float | None = None,
    peak_mb: float | None = None,
    host: str = "dev-a",
    **extra: Any,
) -> dict[str, Any]:
    p50 = p90 * 0.9 if p50 is None else p50
    stats = {"mean": p50, "std": 1.0, "min": p50 * 0.9, "max": p90 * 1.5, "p50": p50,
             "p90": p90, "p99": p90 * 1.2, "n": 200}
    out: dict[str, Any] = {
        "model": model, "variant": "fp32", "batch": 1, "threads": 2, "device": "cpu",
        "params": 1, "size_mb": 10.0, "macs": 1.0, "flops": 2.0, "flops_counter": "fixture",
        "latency_ms": stats, "e2e_latency_ms": stats, "throughput_ips": 1000 / p50,
        "peak_memory_mb": peak_mb, "gpu_memory_mb": None, "accuracy_top1": top1,
        "accuracy_top5": None, "accuracy_source": "card:fixture", "weights": None,
        "energy_j": energy_j, "energy_source": "estimated:fixture" if energy_j else None,
        "energy_estimated": energy_j is not None, "throttled": False, "cpu_util": 0.9,
        "host": host, "arch": "x86_64", "torch_version": "2.13.0",
        "timestamp": "2026-12-02T02:00:00+00:00", "carbon_g": None,
    }
    out.update(extra)
    return out


def resnets(host: str = "dev-a", scale: float = 1.0, **extra: Any) -> list[dict[str, Any]]:
    return [
        result(m, top1, p90 * scale, p50=p50 * scale, energy_j=e, peak_mb=mem, host=host,
               accuracy_top5=top5, **extra)
        for m, (top1, top5, p50, p90, _p99, e, mem) in RESNETS.items()
    ]
