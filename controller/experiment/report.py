"""The seed's table: per device t_b (greedy) and t_a (advanced) measured on the device, the
accuracy of each and where it comes from; overall the saving rate = mean over devices of
(t_b - t_a) / t_b, the largest accuracy drop in the policy's unit, and pass/fail against
saving >= 20 % and drop <= the tolerance. Plus, after a loaded run, whether the advanced
choice moved while greedy stayed.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from controller.experiment.plan import DevicePlan
from controller.experiment.run import Measurement
from controller.selection.algorithm import UNITS, Policy
from controller.selection.candidates import Candidate

MIN_SAVING = 0.20
_EPS = 1e-9


def accuracy_kind(source: str | None) -> str:
    """`measured` for rows bench measured on a labelled set, else the model card's figure."""
    return "measured" if (source or "").startswith("measured") else "model card"


def _choice(c: Candidate | None, m: Measurement | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"label": c.label, "model": c.model, "variant": c.variant,
            "input_size": c.input_size, "accuracy_top1": c.accuracy,
            "accuracy_kind": accuracy_kind(c.accuracy_source),
            "accuracy_source": c.accuracy_source, "expected_p90_ms": c.p90_ms,
            "measured": m.as_dict() if m else None}


def row(plan: DevicePlan, greedy: Measurement | None, advanced: Measurement | None,
        error: str | None = None) -> dict[str, Any]:
    """One device's line of the table (t in ms: the measured median on the device)."""
    sel = plan.selection
    t_b = greedy.median_ms if greedy else None
    t_a = advanced.median_ms if advanced else None
    both = sel.greedy is not None and sel.advanced is not None
    return {
        "device": plan.device,
        "status": plan.status.as_dict(),
        "budget_ms_left": sel.policy.budget_ms,
        "greedy": _choice(sel.greedy, greedy),
        "advanced": _choice(sel.advanced, advanced),
        "t_b_ms": t_b,
        "t_a_ms": t_a,
        "saving": (t_b - t_a) / t_b if t_b and t_a is not None else None,
        "accuracy_drop": sel.accuracy_drop,
        "accuracy_drop_points": sel.greedy.accuracy - sel.advanced.accuracy if both else None,
        "reason": sel.reason,
        "warnings": sel.warnings,
        "error": error,
    }


def summary(rows: list[dict[str, Any]], policy: Policy) -> dict[str, Any]:
    measured = [r for r in rows if r["saving"] is not None]
    drops = [r["accuracy_drop"] for r in measured]
    saving = fmean(r["saving"] for r in measured) if measured else None
    drop = max(drops) if drops else None
    passed = (saving is not None and drop is not None and saving >= MIN_SAVING
              and drop <= policy.max_acc_drop + _EPS)
    return {
        "saving_rate": saving,
        "accuracy_drop": drop,
        "accuracy_drop_points": max(r["accuracy_drop_points"] for r in measured)
        if measured else None,
        "acc_drop_mode": policy.mode,
        "acc_drop_unit": UNITS[policy.mode],
        "max_acc_drop": policy.max_acc_drop,
        "min_saving": MIN_SAVING,
        "devices_measured": len(measured),
        "devices_without_result": [r["device"] for r in rows if r["saving"] is None],
        "passed": passed,
    }


def adaptation(normal: list[dict[str, Any]], loaded: list[dict[str, Any]],
               device: str) -> dict[str, Any]:
    """Did the loaded device's advanced choice move while its greedy choice stayed?"""

    def label(rows: list[dict[str, Any]], role: str) -> str | None:
        r = next((r for r in rows if r["device"] == device), None)
        return (r[role] or {}).get("label") if r else None

    g0, g1 = label(normal, "greedy"), label(loaded, "greedy")
    a0, a1 = label(normal, "advanced"), label(loaded, "advanced")
    return {"device": device, "greedy": [g0, g1], "advanced": [a0, a1],
            "greedy_unchanged": g0 == g1, "advanced_changed": a0 != a1}
