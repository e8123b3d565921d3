"""The seed table from plans on stored results and live telemetry, with measurements."""

from __future__ import annotations

import pytest

from controller.experiment.images import request_images
from controller.experiment.plan import plan_device
from controller.experiment.report import accuracy_kind, adaptation, row, summary
from controller.experiment.run import Measurement
from controller.experiment.status import read_status
from controller.selection import Policy
from tests.unit.experiment.conftest import Fleet

POLICY = Policy(120, 10, "points", "accuracy")


def measured(ms: float) -> Measurement:
    return Measurement(median_ms=ms, p90_ms=ms * 1.1, n=5,
                       phases_ms={"decode": 4.0, "preprocess": 1.0, "forward": ms - 6,
                                  "postprocess": 1.0},
                       warmup_ms=ms * 3, image="reg/models/x@sha256:" + "0" * 64,
                       deploy_job="job1")


def rows_for(fleet: Fleet, t: dict[str, tuple[float, float]], **live) -> list[dict]:
    out = []
    for device, (t_b, t_a) in t.items():
        fleet.push(device, **live)
        p = plan_device(read_status(fleet.telemetry, device), fleet.results(device), POLICY,
                        20_000)
        out.append(row(p, measured(t_b), measured(t_a)))
    return out


def test_rows_carry_both_choices_their_measured_times_and_saving(fleet: Fleet) -> None:
    [r] = rows_for(fleet, {"gpu-01": (200.0, 150.0)}, busy=0.0)
    assert (r["greedy"]["label"], r["advanced"]["label"]) == ("resnet152", "resnet101")
    assert (r["t_b_ms"], r["t_a_ms"]) == (200.0, 150.0)
    assert r["saving"] == pytest.approx(0.25)
    assert r["accuracy_drop"] == pytest.approx(78.312 - 77.374)  # points mode
    assert r["greedy"]["accuracy_kind"] == "model card"
    assert r["advanced"]["measured"]["phases_ms"]["decode"] == 4.0
    assert r["status"]["cpu_busy"] == 0.0 and r["error"] is None


def test_summary_is_the_mean_saving_and_the_largest_drop(fleet: Fleet) -> None:
    rows = rows_for(fleet, {"gpu-01": (200.0, 150.0), "gpu-02": (200.0, 170.0)}, busy=0.0)
    s = summary(rows, POLICY)
    assert s["saving_rate"] == pytest.approx((0.25 + 0.15) / 2)
    assert s["devices_measured"] == 2 and s["acc_drop_mode"] == "points"
    assert s["passed"]  # 20 % exactly passes
    failing = summary(rows_for(fleet, {"gpu-01": (200.0, 170.0)}, busy=0.0), POLICY)
    assert failing["saving_rate"] == pytest.approx(0.15) and not failing["passed"]


def test_a_drop_beyond_the_tolerance_fails_in_its_own_unit(fleet: Fleet) -> None:
    fleet.push("gpu-01", busy=1.0, load_1m=6.0)  # advanced: resnet18, 8.55 points below
    strict = Policy(120, 0.1, "relative", "accuracy")  # 10.9 % of greedy's: not tolerated
    p = plan_device(read_status(fleet.telemetry, "gpu-01"), fleet.results("gpu-01"), strict,
                    20_000)
    assert p.selection.advanced is None
    r = row(p, measured(200.0), None)
    assert r["saving"] is None
    s = summary([r], strict)
    assert s["devices_without_result"] == ["gpu-01"] and not s["passed"]


def test_adaptation_compares_the_loaded_device_across_phases(fleet: Fleet) -> None:
    normal = rows_for(fleet, {"gpu-02": (200.0, 150.0)}, busy=0.0)
    loaded = rows_for(fleet, {"gpu-02": (400.0, 120.0)}, busy=1.0, load_1m=6.0)
    a = adaptation(normal, loaded, "gpu-02")
    assert a["greedy"] == ["resnet152", "resnet152"] and a["greedy_unchanged"]
    assert a["advanced"] == ["resnet101", "resnet18"] and a["advanced_changed"]


def test_accuracy_kind_reads_the_bench_source() -> None:
    assert accuracy_kind("measured: /data/val, 500 images, 10 classes") == "measured"
    assert accuracy_kind("model card: torchvision ResNet18_Weights.IMAGENET1K_V1") == (
        "model card")
    assert accuracy_kind(None) == "model card"


def test_request_images_are_fixed_real_jpegs() -> None:
    a, b = request_images(6), request_images(6)
    assert a == b and len(set(a)) == 6
    assert all(x[:3] == b"\xff\xd8\xff" for x in a)
    assert request_images(6, seed=1) != a
