"""Pi 5 PMIC: power = Σ V·I over rails with both, ≤ 1 Hz, a Pi 4 has none."""

from __future__ import annotations

import pytest

from agent.collectors.base import CommandError
from agent.power.pmic import PmicSource, parse_pmic
from tests.unit.agent.helpers import Commands, cmd

PI5 = cmd("pmic_read_adc.pi5.txt")


def test_rails_with_volts_and_amps_only():
    rails = parse_pmic(PI5)
    assert len(rails) == 12
    assert "EXT5V" not in rails and "BATT" not in rails  # volts only
    assert rails["VDD_CORE"] == pytest.approx(0.88 * 0.7412596)
    assert sum(rails.values()) == pytest.approx(1.6723, abs=1e-4)


def _source(make_ctx, output):
    run = Commands({"pmic_read_adc": output})
    src = PmicSource(make_ctx(which=lambda name: f"/usr/bin/{name}", run=run))
    return src, run


def test_soc_power_integrated_and_rate_limited_to_1hz(make_ctx, clock):
    src, run = _source(make_ctx, PI5)
    assert src.applies()
    [first] = src.read()
    assert (first.domain, first.source, first.energy_j) == ("soc", "pmic:integrated@1hz", 0.0)
    assert first.power_w == pytest.approx(1.6723, abs=1e-4)
    clock.tick(0.5)
    assert src.read() == []  # no second process within the second
    clock.tick(0.5)
    [second] = src.read()
    assert second.energy_j == pytest.approx(1.6723, abs=1e-4)
    assert len(run.calls) == 3  # the probe, then two reads


def test_rate_limit_is_at_least_one_second_even_if_configured_faster(make_ctx):
    run = Commands({"pmic_read_adc": PI5})
    src = PmicSource(make_ctx(which=lambda n: n, run=run, pmic_interval_s=0.1,
                              interval_s=0.1))
    assert src.source == "pmic:integrated@1hz"


def test_pi4_without_pmic_adc_does_not_apply_silently(make_ctx):
    src, _ = _source(make_ctx, cmd("pmic_read_adc.pi4.txt"))
    assert not src.applies()
    assert src.problem is None


def test_vcgencmd_failing_on_a_pi5_is_a_reported_problem(make_ctx):
    src, _ = _source(make_ctx, CommandError(
        "vcgencmd pmic_read_adc exited 255: failed to open vchiq instance"))
    assert not src.applies()
    assert "vchiq" in src.problem


def test_output_losing_its_rails_later_raises(make_ctx, clock):
    src, run = _source(make_ctx, PI5)
    assert src.applies()
    run.outputs["pmic_read_adc"] = "garbage\n"
    with pytest.raises(CommandError, match="no rail"):
        src.read()


def test_no_vcgencmd_does_not_apply(make_ctx):
    assert not PmicSource(make_ctx()).applies()
