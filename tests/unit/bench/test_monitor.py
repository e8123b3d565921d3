"""ResourceMonitor around a tiny training loop: phases, epochs, energy and the operator
breakdown whose attributed energy adds up to the profiled share of the phase's energy."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench.monitor import J_PER_KWH, ResourceMonitor


def test_phases_epochs_and_operator_attribution():
    with ResourceMonitor(carbon_intensity_g_per_kwh=400.0, top_operators=50) as mon:
        with mon.phase("build"):
            model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(8 * 14 * 14, 10))
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(2):
            with mon.phase("train"):
                for _ in range(3):
                    loss = model(torch.randn(4, 3, 16, 16)).square().mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            mon.on_epoch_end(epoch, loss=loss.item())
        with mon.phase("infer"), torch.inference_mode():
            model(torch.randn(1, 3, 16, 16))
    report = mon.report()
    assert set(report["phases"]) == {"build", "train", "infer"}
    assert [e["epoch"] for e in report["epochs"]] == [0, 1]
    train = report["phases"]["train"]
    assert train["entered"] == 2 and train["duration_s"] > 0
    assert train["peak_memory_mb"] >= train["avg_memory_mb"] > 0
    assert report["energy_source"]  # measured or the labelled estimate, never silent
    assert train["energy_kwh"] == pytest.approx(train["energy_j"] / J_PER_KWH)
    assert train["carbon_g"] == pytest.approx(train["energy_kwh"] * 400.0)
    ops = train["operators"]
    names = {o["operator"] for o in ops["top"]}
    assert {"aten::convolution_backward", "aten::addmm"} & names
    assert "self CPU time" in ops["method"]
    assert sum(o["share"] for o in ops["top"]) == pytest.approx(1.0, abs=0.01)
    assert sum(o["energy_j"] for o in ops["top"]) == pytest.approx(train["energy_j"], rel=0.01)
    assert sum(e["duration_s"] for e in report["epochs"]) <= report["total_s"]


def test_without_carbon_intensity_carbon_is_left_empty():
    with ResourceMonitor(operators=False) as mon, mon.phase("infer"):
        torch.ones(10).sum()
    infer = mon.report()["phases"]["infer"]
    assert infer["carbon_g"] is None and "operators" not in infer


def test_operators_beyond_the_top_are_one_row_so_shares_add_up():
    with ResourceMonitor(top_operators=2) as mon, mon.phase("train"):
        model = nn.Linear(8, 4)
        loss = model(torch.randn(2, 8)).relu().square().mean()
        loss.backward()
    ops = mon.report()["phases"]["train"]["operators"]["top"]
    assert len(ops) == 3 and ops[2]["operator"].startswith("(other ")
    assert ops[0]["self_cpu_ms"] >= ops[1]["self_cpu_ms"]
    assert sum(o["share"] for o in ops) == pytest.approx(1.0, abs=0.001)
