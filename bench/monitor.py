"""ResourceMonitor: time, memory, energy (carbon-ready) per phase and per epoch of any torch
workload, training loops included, plus a per-operator breakdown from the torch profiler.

    with ResourceMonitor() as mon:
        with mon.phase("build"):
            model = ...
        for epoch in range(3):
            with mon.phase("train"):
                train_one_epoch(model)
            mon.on_epoch_end(epoch)          # Keras-style callback: closes the epoch
        with mon.phase("infer"):
            evaluate(model)
    report = mon.report()

Phases are the issue's build / train / optimise / infer (any name is accepted; a phase
entered twice accumulates). An epoch runs from the monitor's start or the previous
`on_epoch_end` to this one.

Figures: wall time; peak and average RSS from a background sampler (every 5 ms); energy
from the agent's power sources (EnergyMeter: measured where the device has a sensor, the
labelled estimate otherwise) as joules and kWh (`energy_kwh` is what carbon needs:
gCO2 = kWh x the zone's gCO2/kWh for that hour). `carbon_g` is filled only when a
`carbon_intensity_g_per_kwh` is given; nothing here calls a carbon API.

Operator breakdown (`operators=True`, per phase): torch.profiler's self CPU time per
operator. Attribution method: a phase's measured energy is split across operators in
proportion to their self CPU time within that phase (energy ∝ self CPU time), which
assumes power is roughly flat over the phase; time outside any profiled operator (Python,
data loading) stays in `unattributed_j`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from torch.profiler import ProfilerActivity, profile

from bench.energy import EnergyMeter
from bench.sampling import MB, RssSampler

J_PER_KWH = 3.6e6


@dataclass
class _Span:
    duration_s: float = 0.0
    energy_j: float | None = None
    rss: list[int] = field(default_factory=list)
    operators: dict[str, list[float]] = field(default_factory=dict)  # name -> [us, calls]
    count: int = 0


class ResourceMonitor:
    def __init__(self, operators: bool = True, top_operators: int = 15,
                 carbon_intensity_g_per_kwh: float | None = None,
                 energy: EnergyMeter | None = None) -> None:
        self._operators = operators
        self._top = top_operators
        self._intensity = carbon_intensity_g_per_kwh
        self._energy = energy
        self._own_energy = energy is None
        self._rss = RssSampler()
        self._phases: dict[str, _Span] = {}
        self._epochs: list[tuple[Any, _Span]] = []
        self._epoch_start: float | None = None
        self._seq = 0

    def __enter__(self) -> ResourceMonitor:
        if self._energy is None:
            self._energy = EnergyMeter()
        self._rss.__enter__()
        self._start = time.perf_counter()
        self._open_epoch()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._energy.end("epoch", 1)  # the unfinished epoch window is discarded
        self._total = time.perf_counter() - self._start
        self._rss.__exit__(exc_type, exc, tb)
        if self._own_energy:
            self._energy.close()

    def _open_epoch(self) -> None:
        self._epoch_start = time.perf_counter()
        self._energy.begin("epoch")

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Measure the block as (part of) phase `name`."""
        self._seq += 1
        key = f"phase:{name}:{self._seq}"
        prof = profile(activities=[ProfilerActivity.CPU]) if self._operators else None
        t0 = time.perf_counter()
        self._energy.begin(key)
        if prof is not None:
            prof.__enter__()
        try:
            yield
        finally:
            if prof is not None:
                prof.__exit__(None, None, None)
            e = self._energy.end(key, 1)
            t1 = time.perf_counter()
            span = self._phases.setdefault(name, _Span())
            span.duration_s += t1 - t0
            span.count += 1
            if e.per_inference_j is not None:
                span.energy_j = (span.energy_j or 0.0) + e.per_inference_j
                self.energy_source, self.energy_estimated = e.source, e.estimated
            span.rss += self._rss.between(t0, t1)
            if prof is not None:
                for ev in prof.key_averages():
                    op = span.operators.setdefault(ev.key, [0.0, 0])
                    op[0] += ev.self_cpu_time_total
                    op[1] += ev.count

    def on_epoch_end(self, epoch: Any, **_logs: Any) -> None:
        """Close the running epoch (callback for training loops; extra logs are ignored)."""
        t1 = time.perf_counter()
        e = self._energy.end("epoch", 1)
        span = _Span(duration_s=t1 - self._epoch_start, energy_j=e.per_inference_j,
                     rss=self._rss.between(self._epoch_start, t1), count=1)
        self._epochs.append((epoch, span))
        self._open_epoch()

    def _figures(self, span: _Span) -> dict[str, Any]:
        kwh = None if span.energy_j is None else span.energy_j / J_PER_KWH
        return {
            "duration_s": round(span.duration_s, 6),
            "peak_memory_mb": round(max(span.rss) / MB, 2) if span.rss else None,
            "avg_memory_mb": round(sum(span.rss) / len(span.rss) / MB, 2) if span.rss else None,
            "energy_j": span.energy_j,
            "energy_kwh": kwh,
            "carbon_g": None if kwh is None or self._intensity is None else kwh * self._intensity,
        }

    def _operator_rows(self, span: _Span) -> dict[str, Any]:
        total_us = sum(us for us, _ in span.operators.values())
        ranked = sorted(span.operators.items(), key=lambda kv: -kv[1][0])
        shown, tail = ranked[: self._top], ranked[self._top:]
        if tail:  # one row for the tail, so the shares shown always add up to the whole
            shown.append((f"(other {len(tail)} operators)",
                          (sum(us for _, (us, _) in tail), sum(c for _, (_, c) in tail))))
        rows = []
        for name, (us, calls) in shown:
            share = us / total_us if total_us else 0.0
            rows.append({"operator": name, "calls": calls, "self_cpu_ms": round(us / 1000, 3),
                         "share": round(share, 4),
                         "energy_j": None if span.energy_j is None else span.energy_j * share})
        profiled_s = total_us / 1e6
        unattributed = None
        if span.energy_j is not None and span.duration_s > 0:
            unattributed = span.energy_j * max(0.0, 1 - profiled_s / span.duration_s)
        return {"method": "phase energy split by operator self CPU time (energy ∝ self CPU "
                          "time within the phase)",
                "top": rows, "unattributed_j": unattributed}

    def report(self) -> dict[str, Any]:
        phases = {}
        for name, span in self._phases.items():
            phases[name] = {**self._figures(span), "entered": span.count}
            if self._operators:
                phases[name]["operators"] = self._operator_rows(span)
        return {
            "total_s": round(getattr(self, "_total", time.perf_counter() - self._start), 6),
            "energy_source": getattr(self, "energy_source", None),
            "energy_estimated": getattr(self, "energy_estimated", False),
            "carbon_intensity_g_per_kwh": self._intensity,
            "phases": phases,
            "epochs": [{"epoch": epoch, **self._figures(span)} for epoch, span in self._epochs],
        }
