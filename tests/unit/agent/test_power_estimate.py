"""Estimate: TDP × (0.1 + 0.9·u³) from /proc/stat, labelled as an estimate."""

from __future__ import annotations

import shutil

import pytest

from agent.power.estimate import METHOD, EstimateSource, default_tdp, load_power
from tests.unit.agent.helpers import tree


def test_load_model():
    assert load_power(10.0, 0.0) == pytest.approx(1.0)
    assert load_power(10.0, 1.0) == pytest.approx(10.0)
    assert load_power(10.0, 0.5) == pytest.approx(10.0 * (0.1 + 0.9 * 0.125))


def test_per_arch_default_tdp():
    assert default_tdp("arm64", 4) == 5.0
    assert default_tdp("arm", 4) == 3.0
    assert default_tdp("amd64", 16) == 64.0


def test_estimate_is_labelled_and_integrated_over_time(make_ctx, tmp_path, clock):
    proc = tree(tmp_path, "proc_rpi")
    src = EstimateSource(make_ctx(proc_root=proc, machine="aarch64"))
    assert src.applies() and src.tdp_w == 5.0
    [first] = src.read()
    assert (first.source, first.domain, first.energy_j, first.power_w) == (
        METHOD, "cpu", 0.0, None)
    assert first.source.startswith("estimated:")
    shutil.copy(proc / "stat.next", proc / "stat")  # 2/3 busy
    clock.tick(2.0)
    [r] = src.read()
    expected = 5.0 * (0.1 + 0.9 * (2 / 3) ** 3)
    assert r.power_w == pytest.approx(expected)
    assert r.energy_j == pytest.approx(expected * 2.0)


def test_configured_tdp_wins(make_ctx, tmp_path):
    src = EstimateSource(make_ctx(proc_root=tree(tmp_path, "proc_rpi"), cpu_tdp_watts=12.0))
    assert src.tdp_w == 12.0
