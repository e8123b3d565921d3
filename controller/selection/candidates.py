"""Benchmark results -> selection candidates (one per model, variant and thread count)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controller.benchmarks.schema import BenchResult

_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """What selection needs to know about one configuration measured on one device."""

    model: str
    variant: str
    threads: int | None
    accuracy: float  # ImageNet top-1, percent
    p90_ms: float
    p50_ms: float
    p99_ms: float | None = None
    energy_j: float | None = None
    energy_estimated: bool = False
    memory_mb: float | None = None
    size_mb: float | None = None
    accuracy_source: str | None = None
    throttled: bool = False
    carbon_g: float | None = None
    with_threads: bool = False  # the label names the thread count (several were measured)
    input_size: int | None = None  # the crop it was measured at (a model image is built for it)

    @property
    def label(self) -> str:
        name = self.model if self.variant == "fp32" else f"{self.model}[{self.variant}]"
        return f"{name}@{self.threads}t" if self.with_threads else name

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "model": self.model,
            "variant": self.variant,
            "threads": self.threads,
            "accuracy_top1": self.accuracy,
            "accuracy_source": self.accuracy_source,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "energy_j": self.energy_j,
            "energy_estimated": self.energy_estimated,
            "carbon_g": self.carbon_g,
            "peak_memory_mb": self.memory_mb,
            "size_mb": self.size_mb,
            "throttled": self.throttled,
        }


def _input_size(r: BenchResult) -> int | None:
    """The harness's `input_size` (a field the contract keeps but does not name)."""
    size = (r.model_extra or {}).get("input_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def candidates_from(
    results: list[BenchResult], variants: Collection[str] | None = None
) -> tuple[list[Candidate], list[str]]:
    """Single-request (batch 1) rows with an accuracy, of the given variants (default: all);
    the newest row per configuration wins.

    Returns the candidates and one note per row left out (so nothing disappears silently).
    """
    notes: list[str] = []
    newest: dict[tuple[str, str, int | None], BenchResult] = {}
    for r in results:
        if r.batch != 1 or (variants is not None and r.variant not in variants):
            continue  # throughput rows: a latency budget is per single request
        if r.accuracy_top1 is None:
            notes.append(f"{r.model}[{r.variant}] has no top-1 accuracy: not a candidate")
            continue
        key = (r.model, r.variant, r.threads)
        old = newest.get(key)
        if old is None or (r.timestamp or _EPOCH) >= (old.timestamp or _EPOCH):
            newest[key] = r
    counts = Counter((model, variant) for model, variant, _ in newest)
    out = [
        Candidate(
            model=r.model,
            variant=r.variant,
            threads=r.threads,
            accuracy=float(r.accuracy_top1),  # type: ignore[arg-type]
            p90_ms=r.latency_ms.p90,
            p50_ms=r.latency_ms.p50,
            p99_ms=r.latency_ms.p99,
            energy_j=r.energy_j,
            energy_estimated=r.energy_estimated,
            memory_mb=r.peak_memory_mb,
            size_mb=r.size_mb,
            accuracy_source=r.accuracy_source,
            throttled=r.throttled,
            carbon_g=r.carbon_g,
            with_threads=counts[(r.model, r.variant)] > 1,
            input_size=_input_size(r),
        )
        for r in newest.values()
    ]
    return sorted(out, key=lambda c: c.label), notes
