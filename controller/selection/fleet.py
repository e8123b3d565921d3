"""Selection across devices and the fleet-level figures: latency saving rate and accuracy drop.

latency_saving_rate = mean over devices of (t_b - t_a) / t_b (p90, greedy b vs advanced a),
over the devices where both choices exist. accuracy_drop is the largest per-device drop, in
the mode's unit (the guarantee the tolerance gives); its mean is reported beside it.
"""

from __future__ import annotations

from collections.abc import Collection
from statistics import fmean
from typing import Any

from controller.benchmarks.schema import BenchResult
from controller.selection.algorithm import UNITS, DeviceSelection, Policy, select_device
from controller.selection.candidates import candidates_from


def select_fleet(
    results: dict[str, list[BenchResult]],
    policy: Policy,
    memory_mb: dict[str, float] | None = None,
    variants: Collection[str] | None = None,
) -> dict[str, Any]:
    """Per-device choices for every device in `results` (only `variants` when given), plus
    the fleet summary."""
    selections: list[DeviceSelection] = []
    for device in sorted(results):
        cands, notes = candidates_from(results[device], variants)
        limit = (memory_mb or {}).get(device, policy.memory_mb)
        device_policy = Policy(
            policy.budget_ms, policy.max_acc_drop, policy.mode, policy.objective, limit
        )
        sel = select_device(device, cands, device_policy)
        sel.warnings = notes + sel.warnings
        selections.append(sel)
    chosen = [s for s in selections if s.latency_saving is not None]
    drops = [s.accuracy_drop for s in chosen if s.accuracy_drop is not None]
    return {
        "budget_ms": policy.budget_ms,
        "max_acc_drop": policy.max_acc_drop,
        "acc_drop_mode": policy.mode,
        "acc_drop_unit": UNITS[policy.mode],
        "objective": policy.objective,
        "variants": sorted(variants) if variants is not None else None,
        "latency_saving_rate": fmean(s.latency_saving for s in chosen) if chosen else None,
        "accuracy_drop": max(drops) if drops else None,
        "accuracy_drop_mean": fmean(drops) if drops else None,
        "devices_selected": len(chosen),
        "devices_without_choice": [s.device for s in selections if s.advanced is None],
        "devices": [s.as_dict() for s in selections],
    }
