"""Plan = selection with the live state, on stored results and telemetry in the real store.

Budget 120 ms, 10 points, most accurate within budget: idle, resnet101 (p90 111.5 ms) is
the best that fits; the slower the device reads, the smaller the model; greedy never moves.
"""

from __future__ import annotations

import pytest

from controller.experiment.errors import NoTelemetry
from controller.experiment.plan import plan_device
from controller.experiment.status import read_status
from controller.selection import Policy
from tests.unit.experiment.conftest import Fleet

POLICY = Policy(120, 10, "points", "accuracy")
IMAGE_BYTES = 25_000


def plan(fleet: Fleet, device: str = "gpu-02", policy: Policy = POLICY):
    return plan_device(read_status(fleet.telemetry, device), fleet.results(device), policy,
                       IMAGE_BYTES)


def choices(fleet: Fleet, **live) -> tuple[str | None, str | None]:
    fleet.push("gpu-02", **live)
    sel = plan(fleet).selection
    return sel.greedy and sel.greedy.label, sel.advanced and sel.advanced.label


def test_idle_device_gets_the_most_accurate_model_within_budget(fleet: Fleet) -> None:
    fleet.push("gpu-02", busy=0.0)
    p = plan(fleet)
    assert p.status.live.cores == 2 and p.status.live.cpu_busy == 0.0
    assert p.status.arch == "amd64"
    assert p.selection.greedy.label == "resnet152"
    assert p.selection.advanced.label == "resnet101"
    assert p.selection.advanced.p90_ms == pytest.approx(111.5056)  # not scaled
    assert p.selection.advanced.input_size == 224


@pytest.mark.parametrize(("live", "advanced"), [
    ({"busy": 0.5, "load_1m": 1.0}, "resnet50"),  # one core's worth busy: x1.5
    ({"busy": 1.0, "load_1m": 6.0}, "resnet18"),  # six runnable on two cores: x4
    ({"busy": 0.0, "throttled": True}, "resnet50"),  # x1.6
])
def test_load_and_throttling_move_advanced_to_a_smaller_model_and_not_greedy(
        fleet: Fleet, live: dict, advanced: str) -> None:
    assert choices(fleet, **live) == ("resnet152", advanced)


def test_expected_latency_follows_the_fair_share_of_the_cores(fleet: Fleet) -> None:
    fleet.push("gpu-02", busy=1.0, load_1m=6.0)
    p = plan(fleet)
    assert p.status.live.load_slowdown(2) == pytest.approx(4.0)
    r18 = next(c for c in p.selection.candidates if c.model == "resnet18")
    assert r18.p90_ms == pytest.approx(28.4764 * 4)


def test_a_saturated_device_has_no_advanced_choice_and_says_what_would_fit(
        fleet: Fleet) -> None:
    fleet.push("gpu-02", busy=1.0, load_1m=20.0)  # x11
    sel = plan(fleet).selection
    assert sel.greedy.label == "resnet152" and sel.advanced is None
    assert "a budget of 313.2 ms would allow resnet18" in sel.reason


def test_free_memory_bounds_both_choices(fleet: Fleet) -> None:
    # 250 MB free, 90 % usable: resnet34 (271 MB) and resnet101 (462 MB) do not fit.
    assert choices(fleet, busy=0.0, available_mb=250) == ("resnet152", "resnet50")


def test_the_upload_comes_off_the_budget(fleet: Fleet) -> None:
    fleet.push("gpu-02", busy=0.0)
    fleet.speed_test("gpu-02", downlink_mbps=10.0)  # 25 kB: 20 ms on the wire
    p = plan(fleet)
    assert p.status.live.downlink_mbps == 10.0 and p.transfer_ms == pytest.approx(20.0)
    assert p.selection.policy.budget_ms == pytest.approx(100.0)
    assert p.selection.advanced.label == "resnet50"  # resnet101's 111.5 ms no longer fits
    fleet.speed_test("gpu-02", downlink_mbps=1.0)  # 200 ms: more than the budget
    sel = plan(fleet).selection
    assert sel.advanced is None and "the whole 120 ms budget" in sel.reason


def test_devices_are_planned_from_their_own_status(fleet: Fleet) -> None:
    fleet.push("gpu-01", busy=0.0)
    fleet.push("gpu-02", busy=1.0, load_1m=6.0)
    assert plan(fleet, "gpu-01").selection.advanced.label == "resnet101"
    assert plan(fleet, "gpu-02").selection.advanced.label == "resnet18"


def test_latency_objective_takes_the_fastest_whatever_the_load(fleet: Fleet) -> None:
    """Why the load experiment ranks by accuracy: a uniform slowdown keeps the argmin."""
    policy = Policy(400, 10, "points", "latency")
    for live in ({"busy": 0.0}, {"busy": 1.0, "load_1m": 6.0}):
        fleet.push("gpu-02", **live)
        assert plan(fleet, policy=policy).selection.advanced.label == "resnet18"


def test_no_telemetry_or_an_offline_device_is_refused(fleet: Fleet) -> None:
    with pytest.raises(NoTelemetry, match="gpu-09 has sent no telemetry"):
        read_status(fleet.telemetry, "gpu-09")
    fleet.push("gpu-02", busy=0.0)
    fleet.clock.tick(60)
    with pytest.raises(NoTelemetry, match="gpu-02 is offline"):
        read_status(fleet.telemetry, "gpu-02")
