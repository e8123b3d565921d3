"""Greedy baseline vs advanced selection for one device.

Greedy (the prototype's rule): the most accurate candidate that fits the device's memory,
whatever its latency. Advanced (constraints, then objective, as Triton Model Analyzer does):
among candidates that fit memory, whose p90 latency is within the budget and whose accuracy
is within the tolerance of greedy's, the best by the objective: lowest p90 (`latency`), lowest
energy (`energy`), or the most accurate (`accuracy`: the model-switching rule, which trades
accuracy only when the budget forces it, so a device slowed by load moves to a smaller
model). Ties are broken the same way every time: higher accuracy, then lower p90, then lower
energy, then the label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from controller.errors import ControllerError
from controller.selection.candidates import Candidate
from controller.selection.pareto import pareto_front

Mode = Literal["points", "relative"]
Objective = Literal["latency", "energy", "accuracy"]
UNITS = {"points": "percentage points", "relative": "fraction of greedy's accuracy"}
_EPS = 1e-9  # accuracies are decimals: 69.758 vs 78.312 must not miss a bound by a rounding


class InvalidPolicy(ControllerError):
    http_status = 422


@dataclass(frozen=True)
class Policy:
    budget_ms: float
    max_acc_drop: float
    mode: Mode = "relative"
    objective: Objective = "latency"
    memory_mb: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.budget_ms) and self.budget_ms > 0):
            raise InvalidPolicy(f"budget must be a positive number of ms, got {self.budget_ms}")
        if self.mode not in UNITS:
            raise InvalidPolicy(f"accuracy-drop mode must be points or relative, not {self.mode!r}")
        if self.objective not in ("latency", "energy", "accuracy"):
            raise InvalidPolicy(
                f"objective must be latency, energy or accuracy, not {self.objective!r}"
            )
        top = 1.0 if self.mode == "relative" else 100.0
        if not 0 <= self.max_acc_drop <= top:
            unit = "a fraction between 0 and 1" if top == 1.0 else "between 0 and 100 points"
            raise InvalidPolicy(
                f"max accuracy drop in {self.mode} mode must be {unit}, got {self.max_acc_drop}"
            )
        if self.memory_mb is not None and not self.memory_mb > 0:
            raise InvalidPolicy(f"device memory must be a positive MB figure, not {self.memory_mb}")

    def drop(self, greedy: Candidate, other: Candidate) -> float:
        """Accuracy lost going from greedy to `other`, in this mode's unit."""
        points = greedy.accuracy - other.accuracy
        return points if self.mode == "points" else points / greedy.accuracy

    def tolerated(self, greedy: Candidate, other: Candidate) -> bool:
        return self.drop(greedy, other) <= self.max_acc_drop + _EPS

    def fits_memory(self, c: Candidate) -> bool:
        return self.memory_mb is None or c.memory_mb is None or c.memory_mb <= self.memory_mb


def _energy(c: Candidate) -> float:
    return c.energy_j if c.energy_j is not None else math.inf


def _by_latency(c: Candidate) -> tuple[Any, ...]:
    return (c.p90_ms, -c.accuracy, _energy(c), c.label)


def _by_energy(c: Candidate) -> tuple[Any, ...]:
    return (_energy(c), c.p90_ms, -c.accuracy, c.label)


def _by_accuracy(c: Candidate) -> tuple[Any, ...]:
    return (-c.accuracy, c.p90_ms, _energy(c), c.label)


@dataclass
class DeviceSelection:
    device: str
    policy: Policy
    greedy: Candidate | None
    advanced: Candidate | None
    candidates: list[Candidate]
    reason: str | None = None
    nearest_budget_ms: float | None = None
    acc_drop_needed: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def latency_saving(self) -> float | None:
        """(t_b - t_a) / t_b on p90 latency."""
        if self.greedy is None or self.advanced is None:
            return None
        return (self.greedy.p90_ms - self.advanced.p90_ms) / self.greedy.p90_ms

    @property
    def accuracy_drop(self) -> float | None:
        if self.greedy is None or self.advanced is None:
            return None
        return self.policy.drop(self.greedy, self.advanced)

    def as_dict(self) -> dict[str, Any]:
        g, a = self.greedy, self.advanced
        energy_saving = None
        if g and a and g.energy_j and a.energy_j is not None:
            energy_saving = (g.energy_j - a.energy_j) / g.energy_j
        return {
            "device": self.device,
            "greedy": g and {**g.as_dict(), "within_budget": g.p90_ms <= self.policy.budget_ms},
            "advanced": a and a.as_dict(),
            "latency_saving": self.latency_saving,
            "accuracy_drop": self.accuracy_drop,
            "accuracy_drop_points": (g.accuracy - a.accuracy) if g and a else None,
            "energy_saving": energy_saving,
            "reason": self.reason,
            "nearest_budget_ms": self.nearest_budget_ms,
            "acc_drop_needed": self.acc_drop_needed,
            "pareto": {
                "accuracy_vs_p90": [c.label for c in pareto_front(self.candidates, "p90")],
                "accuracy_vs_energy": [c.label for c in pareto_front(self.candidates, "energy")],
            },
            "candidates": [c.as_dict() for c in sorted(self.candidates, key=_by_latency)],
            "warnings": self.warnings,
        }


def select_device(device: str, candidates: list[Candidate], policy: Policy) -> DeviceSelection:
    fitting = [c for c in candidates if policy.fits_memory(c)]
    out = DeviceSelection(device, policy, None, None, list(candidates))
    if not candidates:
        out.reason = "no benchmark results with an accuracy for this device"
        return out
    if not fitting:
        smallest = min(c.memory_mb for c in candidates if c.memory_mb is not None)
        out.reason = (
            f"no model fits the device memory ({policy.memory_mb:g} MB);"
            f" the smallest needs {smallest:g} MB"
        )
        return out
    out.greedy = greedy = min(fitting, key=_by_accuracy)
    tolerated = [c for c in fitting if policy.tolerated(greedy, c)]
    allowed = [c for c in tolerated if c.p90_ms <= policy.budget_ms]
    if not allowed:
        fastest = min(tolerated, key=_by_latency)
        out.nearest_budget_ms = fastest.p90_ms
        in_budget = [c for c in fitting if c.p90_ms <= policy.budget_ms]
        hint = ""
        if in_budget:
            best = min(in_budget, key=_by_accuracy)
            out.acc_drop_needed = policy.drop(greedy, best)
            hint = (
                f", or a max accuracy drop of {out.acc_drop_needed:.4g}"
                f" ({UNITS[policy.mode]}) for {best.label}"
            )
        out.reason = (
            f"no model within the accuracy tolerance has p90 <= {policy.budget_ms:g} ms;"
            f" a budget of {fastest.p90_ms:.4g} ms would allow {fastest.label}{hint}"
        )
        return out
    if policy.objective == "energy":
        measured = [c for c in allowed if c.energy_j is not None]
        if measured:
            out.advanced = min(measured, key=_by_energy)
        else:
            out.advanced = min(allowed, key=_by_latency)
            out.warnings.append("no energy measured for the allowed models: ranked by latency")
    elif policy.objective == "accuracy":
        out.advanced = min(allowed, key=_by_accuracy)
    else:
        out.advanced = min(allowed, key=_by_latency)
    out.warnings += _warnings(greedy, out.advanced, policy)
    return out


def _warnings(greedy: Candidate, advanced: Candidate, policy: Policy) -> list[str]:
    notes = []
    for role, c in (("greedy", greedy), ("advanced", advanced)):
        if c.energy_estimated:
            notes.append(f"{role} choice {c.label}: energy is an estimate, not a measurement")
        if c.throttled:
            notes.append(f"{role} choice {c.label}: measured while the device was throttling")
        if c.variant != "fp32":
            notes.append(
                f"{role} choice {c.label}: its accuracy is the reference card's"
                f" ({c.accuracy_source or 'source not given'}), not measured for {c.variant}"
            )
    if policy.memory_mb is not None and any(c.memory_mb is None for c in (greedy, advanced)):
        notes.append("peak memory not measured for a choice: the memory limit was not checked")
    return notes
