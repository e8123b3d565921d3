"""Greedy vs advanced selection on one device: modes, objectives, ties, memory, empty sets."""

from __future__ import annotations

import pytest

from controller.benchmarks.schema import BenchResult
from controller.selection.algorithm import InvalidPolicy, Policy, select_device
from controller.selection.candidates import Candidate, candidates_from
from controller.selection.pareto import pareto_front
from tests.unit.selection.builders import resnets, result


def cands(rows: list[dict]) -> list[Candidate]:
    out, _notes = candidates_from([BenchResult.model_validate(r) for r in rows])
    return out


RESNETS = cands(resnets())


def test_points_mode_trades_up_to_10_points_for_latency() -> None:
    sel = select_device("dev-a", RESNETS, Policy(1000, 10, "points"))
    assert sel.greedy.model == "resnet152" and sel.advanced.model == "resnet18"
    assert sel.latency_saving == pytest.approx((200.7 - 53.9) / 200.7)
    assert sel.accuracy_drop == pytest.approx(78.312 - 69.758)


def test_relative_10_percent_excludes_resnet18() -> None:
    """resnet18 is 10.9 % below resnet152: out under a relative 10 % rule."""
    sel = select_device("dev-a", RESNETS, Policy(1000, 0.10, "relative"))
    assert sel.advanced.model == "resnet34"
    assert sel.accuracy_drop == pytest.approx((78.312 - 73.314) / 78.312)
    assert sel.as_dict()["accuracy_drop_points"] == pytest.approx(78.312 - 73.314)


def test_budget_filters_on_p90_and_nothing_fitting_says_what_would() -> None:
    sel = select_device("dev-a", RESNETS, Policy(60, 0.10, "relative"))
    assert sel.advanced is None and sel.greedy.model == "resnet152"
    assert sel.nearest_budget_ms == 63.9  # resnet34's p90
    assert sel.acc_drop_needed == pytest.approx((78.312 - 69.758) / 78.312)
    assert "a budget of 63.9 ms would allow resnet34" in sel.reason
    assert "max accuracy drop of 0.1092" in sel.reason
    assert sel.as_dict()["greedy"]["within_budget"] is False


def test_a_budget_nothing_meets_gives_no_drop_hint() -> None:
    sel = select_device("dev-a", RESNETS, Policy(10, 10, "points"))
    assert sel.advanced is None and sel.acc_drop_needed is None
    assert sel.nearest_budget_ms == 53.9 and "would allow resnet18" in sel.reason


def test_zero_tolerance_keeps_greedy_and_saves_nothing() -> None:
    sel = select_device("dev-a", RESNETS, Policy(1000, 0, "points"))
    assert sel.advanced == sel.greedy and sel.latency_saving == 0.0


def test_ties_are_broken_by_accuracy_then_label() -> None:
    rows = [result("b", 70.0, 50.0), result("a", 70.0, 50.0), result("c", 71.0, 50.0)]
    sel = select_device("d", cands(rows), Policy(100, 5, "points"))
    assert sel.advanced.model == "c"  # same p90: the more accurate one
    rows = [result("b", 70.0, 50.0), result("a", 70.0, 50.0)]
    sel = select_device("d", cands(rows), Policy(100, 5, "points"))
    assert (sel.greedy.model, sel.advanced.model) == ("a", "a")  # full tie: label order


def test_tolerance_boundary_is_inclusive_despite_float_rounding() -> None:
    rows = [result("big", 78.312, 200.0), result("small", 68.312, 50.0)]
    sel = select_device("d", cands(rows), Policy(1000, 10, "points"))
    assert sel.advanced.model == "small"


def test_empty_candidate_set() -> None:
    sel = select_device("d", [], Policy(100, 0.1))
    assert sel.greedy is None and sel.advanced is None
    assert sel.reason == "no benchmark results with an accuracy for this device"
    assert sel.latency_saving is None


def test_memory_limit_applies_to_greedy_and_advanced() -> None:
    sel = select_device("dev-a", RESNETS, Policy(1000, 0.10, "relative", memory_mb=400))
    assert sel.greedy.model == "resnet101"  # resnet152 needs 520 MB
    assert sel.advanced.model == "resnet18"  # 9.8 % below resnet101: within 10 %
    sel = select_device("dev-a", RESNETS, Policy(1000, 0.10, memory_mb=100))
    assert sel.greedy is None and "the smallest needs 120 MB" in sel.reason


def test_energy_objective_and_estimated_energy_is_flagged() -> None:
    rows = [
        result("accurate", 80.0, 100.0, energy_j=5.0),
        result("fast", 79.0, 20.0, energy_j=3.0),
        result("frugal", 78.0, 40.0, energy_j=1.0),
    ]
    sel = select_device("d", cands(rows), Policy(200, 3, "points", "energy"))
    assert sel.advanced.model == "frugal"
    assert any("frugal: energy is an estimate" in w for w in sel.warnings)
    latency = select_device("d", cands(rows), Policy(200, 3, "points", "latency"))
    assert latency.advanced.model == "fast"
    assert sel.as_dict()["energy_saving"] == pytest.approx(0.8)


def test_energy_objective_without_energy_falls_back_to_latency_and_says_so() -> None:
    rows = [result("a", 80.0, 100.0), result("b", 79.0, 20.0)]
    sel = select_device("d", cands(rows), Policy(200, 3, "points", "energy"))
    assert sel.advanced.model == "b"
    assert "no energy measured for the allowed models: ranked by latency" in sel.warnings


def test_measured_energy_beats_unmeasured_under_energy_objective() -> None:
    rows = [result("a", 80.0, 10.0), result("b", 79.0, 20.0, energy_j=2.0)]
    sel = select_device("d", cands(rows), Policy(200, 3, "points", "energy"))
    assert sel.advanced.model == "b"


def test_pareto_fronts() -> None:
    rows = [
        result("a", 70.0, 10.0, energy_j=1.0),
        result("b", 75.0, 20.0, energy_j=0.5),
        result("c", 74.0, 30.0, energy_j=3.0),  # dominated by b on both axes
        result("d", 80.0, 40.0),  # no energy: on the latency front only
    ]
    cs = cands(rows)
    assert [c.model for c in pareto_front(cs, "p90")] == ["a", "b", "d"]
    assert [c.model for c in pareto_front(cs, "energy")] == ["b"]
    sel = select_device("d", cs, Policy(100, 10, "points"))
    assert sel.as_dict()["pareto"]["accuracy_vs_p90"] == ["a", "b", "d"]


def test_candidates_use_batch_1_newest_rows_and_note_missing_accuracy() -> None:
    rows = [
        result("a", 70.0, 10.0, timestamp="2026-12-01T00:00:00Z"),
        result("a", 70.0, 12.0, timestamp="2026-12-02T00:00:00Z"),
        result("a", 70.0, 99.0, batch=8),
        result("b", None, 5.0),
        result("a", 69.0, 8.0, variant="int8-dynamic"),
        result("a", 69.5, 9.0, variant="int8-dynamic", threads=1),
    ]
    out, notes = candidates_from([BenchResult.model_validate(r) for r in rows])
    assert [(c.label, c.p90_ms) for c in out] == [
        ("a", 12.0), ("a[int8-dynamic]@1t", 9.0), ("a[int8-dynamic]@2t", 8.0)
    ]
    assert notes == ["b[fp32] has no top-1 accuracy: not a candidate"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget_ms": 0, "max_acc_drop": 0.1}, "budget must be a positive"),
        ({"budget_ms": float("nan"), "max_acc_drop": 0.1}, "budget must be a positive"),
        ({"budget_ms": 10, "max_acc_drop": 10}, "must be a fraction between 0 and 1"),
        ({"budget_ms": 10, "max_acc_drop": -1, "mode": "points"}, "between 0 and 100 points"),
        ({"budget_ms": 10, "max_acc_drop": 0.1, "mode": "pct"}, "points or relative"),
        ({"budget_ms": 10, "max_acc_drop": 0.1, "objective": "cost"}, "energy or accuracy"),
        ({"budget_ms": 10, "max_acc_drop": 0.1, "memory_mb": 0}, "positive MB"),
    ],
)
def test_policy_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        Policy(**kwargs)
