"""Summary statistics of per-iteration latencies (no numpy: devices may lack it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds; `std` is the sample standard deviation (n - 1)."""

    mean: float
    std: float
    min: float
    max: float
    p50: float
    p90: float
    p99: float
    n: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> LatencyStats:
        s = sorted(samples_ms)
        n = len(s)
        mean = sum(s) / n if n else math.nan
        std = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
        return cls(mean, std, s[0], s[-1], percentile(s, 50), percentile(s, 90),
                   percentile(s, 99), n)

    def as_dict(self) -> dict[str, float | int]:
        return {k: (v if k == "n" else round(v, 4)) for k, v in asdict(self).items()}


# p99 from n samples rests on the n/100 slowest ones: below this it is just the maximum.
MIN_SAMPLES_FOR_P99 = 100
