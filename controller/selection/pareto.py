"""Pareto fronts: accuracy (higher is better) against a cost (p90 latency or energy)."""

from __future__ import annotations

from typing import Literal

from controller.selection.candidates import Candidate

Cost = Literal["p90", "energy"]


def _cost(c: Candidate, cost: Cost) -> float | None:
    return c.p90_ms if cost == "p90" else c.energy_j


def pareto_front(candidates: list[Candidate], cost: Cost) -> list[Candidate]:
    """Candidates no other beats on both axes, cheapest first (unmeasured costs left out)."""
    points = [(c, v) for c in candidates if (v := _cost(c, cost)) is not None]
    front = [
        (c, v)
        for c, v in points
        if not any(
            w <= v and o.accuracy >= c.accuracy and (w < v or o.accuracy > c.accuracy)
            for o, w in points
        )
    ]
    return [c for c, _ in sorted(front, key=lambda p: (p[1], -p[0].accuracy, p[0].label))]
