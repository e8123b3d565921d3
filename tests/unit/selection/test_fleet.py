"""Fleet selection: per-device choices, the latency saving rate and the results formats."""

from __future__ import annotations

import pytest

from controller.benchmarks.schema import InvalidResults, results_by_device
from controller.selection import Policy, select_fleet
from tests.unit.selection.builders import resnets, result


def test_latency_saving_rate_is_the_mean_over_devices_with_a_choice() -> None:
    data = results_by_device(resnets("fast") + resnets("slow", scale=3.0) + [
        result("resnet18", 69.758, 500.0, host="tiny")
    ], "fixture")
    report = select_fleet(data, Policy(300, 10, "points"))
    by = {d["device"]: d for d in report["devices"]}
    assert by["fast"]["advanced"]["model"] == "resnet18"
    # slow: greedy resnet152 at 602 ms; within 300 ms only resnet18 (161.7) and resnet34 (191.7)
    assert by["slow"]["advanced"]["model"] == "resnet18"
    assert by["tiny"]["advanced"] is None and "would allow resnet18" in by["tiny"]["reason"]
    expected = ((200.7 - 53.9) / 200.7 + (602.1 - 161.7) / 602.1) / 2
    assert report["latency_saving_rate"] == pytest.approx(expected)
    assert report["accuracy_drop"] == pytest.approx(78.312 - 69.758)
    assert report["devices_without_choice"] == ["tiny"]
    assert (report["acc_drop_mode"], report["acc_drop_unit"]) == ("points", "percentage points")


def test_per_device_memory_limits() -> None:
    data = results_by_device(resnets("a") + resnets("b"), "fixture")
    report = select_fleet(data, Policy(1000, 0.05, "relative"), memory_mb={"b": 300})
    by = {d["device"]: d for d in report["devices"]}
    assert by["a"]["greedy"]["model"] == "resnet152"
    assert by["b"]["greedy"]["model"] == "resnet50"


def test_results_shapes() -> None:
    rows = resnets("h1")
    assert list(results_by_device(rows, "f")) == ["h1"]
    assert list(results_by_device({"results": rows}, "f")) == ["h1"]
    per_host = results_by_device({"x": {"results": rows}, "y": {"results": rows[:1]}}, "f")
    assert {k: len(v) for k, v in per_host.items()} == {"x": 5, "y": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nope", "expected a list of results or an object keyed by host"),
        ([{"model": "m"}], "f[0].latency_ms: Field required"),
        ({"h": {"results": [result("m", 101.0, 1.0)]}}, "f: h[0].accuracy_top1"),
        ({"h": {"results": "x"}}, "f: h: expected a list"),
    ],
)
def test_bad_results_name_the_offending_item(data: object, message: str) -> None:
    with pytest.raises(InvalidResults) as info:
        results_by_device(data, "f")
    assert message in str(info.value)


def test_variant_filter_and_unmeasured_variant_accuracy_is_flagged() -> None:
    rows = resnets("a") + [
        result("resnet152", 78.312, 20.0, variant="int8-dynamic", host="a",
               accuracy_source="torchvision IMAGENET1K_V1 card")
    ]
    report = select_fleet(results_by_device(rows, "f"), Policy(1000, 0.05))
    [dev] = report["devices"]
    assert dev["advanced"]["label"] == "resnet152[int8-dynamic]"
    assert any("not measured for int8-dynamic" in w for w in dev["warnings"])
    only_fp32 = select_fleet(results_by_device(rows, "f"), Policy(1000, 0.05), variants=["fp32"])
    assert only_fp32["devices"][0]["advanced"]["label"] == "resnet50"
    assert only_fp32["variants"] == ["fp32"]
