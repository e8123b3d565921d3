"""Throttle flags and energy windows use the agent's own readers; Raspberry Pi outputs and
sysfs trees are the agent's captured fixtures (no Pi here)."""

from __future__ import annotations

import pytest

from agent.collectors.base import CollectorContext
from bench.energy import EnergyMeter
from bench.throttle import ThrottleWatch
from tests.clock import Clock
from tests.unit.agent.helpers import FIXTURES, Commands, cmd, tree


def _ctx(tmp_path, **kw):
    for key in ("proc_root", "sys_root"):
        if key not in kw:
            (tmp_path / key).mkdir(exist_ok=True)
            kw[key] = tmp_path / key
    kw.setdefault("which", lambda _n: None)
    return CollectorContext(**kw)


def test_throttling_now_flags_samples_but_since_boot_bits_do_not(tmp_path):
    clock = Clock(100.0)
    outputs = {"get_throttled": cmd("get_throttled.0x50005.txt")}
    watch = ThrottleWatch(_ctx(tmp_path, which=lambda n: n, run=Commands(outputs)),
                          interval_s=1.0, clock=clock)
    assert watch.check() is True and "get_throttled=0x50005" in watch.reasons
    clock.tick(10)
    outputs["get_throttled"] = "throttled=0x50000\n"  # occurred since boot, not now
    assert watch.check() is False
    flags = watch.flagged([99.5, 105.0, 110.2], [10.0, 10.0, 10.0])
    assert flags == [True, False, False]
    assert watch.source == "vcgencmd"


def test_hot_thermal_zone_flags(tmp_path):
    sys_root = tree(tmp_path, "sys_rpi5")
    zone = next(sys_root.glob("class/thermal/thermal_zone*/temp"))
    watch = ThrottleWatch(_ctx(tmp_path, sys_root=sys_root), interval_s=0.05)
    with watch:
        pass
    assert not any(hot for _, hot in watch.checks)
    zone.write_text("85000\n")
    assert watch.check() is True
    assert any("85.0 °C" in r for r in watch.reasons)


def test_nothing_to_tell_throttling_is_said(tmp_path):
    with ThrottleWatch(_ctx(tmp_path)) as watch:
        pass
    assert watch.source == "none" and watch.flagged([1.0], [1.0]) == [False]


def test_energy_from_a_counter_is_measured_not_estimated(tmp_path):
    sys_root = tree(tmp_path, "sys_rapl")
    counter = sys_root / "class/powercap/intel-rapl-mmio:0/energy_uj"
    counter.write_text("0\n")
    meter = EnergyMeter(_ctx(tmp_path, sys_root=sys_root, proc_root=FIXTURES / "proc_x86",
                             monotonic=Clock(1000.0)))  # no carry-forward between reads
    with meter:
        meter.begin("w")
        counter.write_text("5000000\n")  # 5 J
        e = meter.end("w", inferences=10)
    assert e.per_inference_j == pytest.approx(0.5)
    assert (e.source, e.estimated) == ("rapl:counter", False)


def test_without_a_sensor_the_estimate_is_labelled(tmp_path):
    meter = EnergyMeter(_ctx(tmp_path, proc_root=FIXTURES / "proc_x86"))
    with meter:
        meter.begin("w")
        e = meter.end("w", inferences=1)
    assert e.source == "estimated:tdp-load-cubic" and e.estimated is True


def test_no_source_at_all_gives_null_energy_not_zero(tmp_path):
    meter = EnergyMeter(_ctx(tmp_path))  # no /proc/stat: not even the estimate applies
    with meter:
        meter.begin("w")
        e = meter.end("w", inferences=1)
    assert (e.per_inference_j, e.source, e.estimated) == (None, None, False)
