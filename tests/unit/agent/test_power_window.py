"""Measurement windows (Zeus-style) over power sources."""

from __future__ import annotations

import pytest

from agent.collectors.base import CollectorContext
from agent.power.nvml import NvmlSource
from agent.power.rapl import RaplSource
from agent.power.window import PowerMonitor
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml
from tests.unit.agent.helpers import FIXTURES, tree


def _rapl(sys_root, uj):
    (sys_root / "class/powercap/intel-rapl-mmio:0/energy_uj").write_text(f"{uj}\n")


def test_window_energy_over_counters_summed_across_domains(make_ctx, tmp_path, clock):
    sys_root = tree(tmp_path, "sys_rapl")
    gpu = FakeGpu("GPU-a", energy_mj=0)
    ctx = make_ctx(sys_root=sys_root, pynvml=FakeNvml([gpu]))
    sources = [RaplSource(ctx), NvmlSource(ctx)]
    assert all(s.applies() for s in sources)
    _rapl(sys_root, 0)
    with PowerMonitor(sources, clock) as monitor:
        monitor.begin_window("infer")
        _rapl(sys_root, 30_000_000)  # 30 J CPU
        gpu.energy_mj = 120_000  # 120 J GPU
        clock.tick(2.0)
        m = monitor.end_window("infer")
    assert m.energy_j == pytest.approx(150.0)
    assert m.duration_s == 2.0
    assert m.source == "nvml:counter+rapl:counter"
    assert m.by_domain == {"cpu{package=0}": pytest.approx(30.0),
                           "gpu{gpu=0}": pytest.approx(120.0)}


def test_sub_rails_are_not_double_counted(make_ctx, clock):
    from agent.power.ina3221 import Ina3221Source

    src = Ina3221Source(make_ctx(sys_root=FIXTURES / "sys_jetson_nano"))
    assert src.applies()
    monitor = PowerMonitor([src], clock)
    monitor.begin_window("w")
    clock.tick(10.0)
    m = monitor.end_window("w")
    assert m.energy_j == pytest.approx(3.472 * 10.0)  # POM_5V_IN only
    assert list(m.by_domain) == ["module{rail=POM_5V_IN}"]


def test_no_source_is_an_error_not_zero_joules(clock):
    with pytest.raises(RuntimeError, match="no power source"):
        PowerMonitor([], clock).begin_window("w")


def test_window_names_are_checked(make_ctx, clock):
    src = RaplSource(make_ctx(sys_root=FIXTURES / "sys_rapl"))
    assert src.applies()
    monitor = PowerMonitor([src], clock)
    with pytest.raises(ValueError, match="not begun"):
        monitor.end_window("w")
    monitor.begin_window("w")
    with pytest.raises(ValueError, match="already open"):
        monitor.begin_window("w")


def test_for_device_selects_like_the_agent(make_ctx):
    ctx: CollectorContext = make_ctx(sys_root=FIXTURES / "sys_jetson_orin")
    monitor = PowerMonitor.for_device(ctx, poll_interval_s=0.01)
    try:
        monitor.begin_window("w")
        m = monitor.end_window("w")
    finally:
        monitor.close()
    assert m.source == "ina3221:integrated@1hz"


def test_rate_limited_pmic_window_is_carried_at_its_last_power_not_zero(make_ctx, clock):
    from agent.power.pmic import PmicSource
    from tests.unit.agent.helpers import Commands, cmd

    run = Commands({"pmic_read_adc": cmd("pmic_read_adc.pi5.txt")})
    src = PmicSource(make_ctx(which=lambda n: n, run=run))
    assert src.applies()
    monitor = PowerMonitor([src], clock)
    monitor.begin_window("short")
    clock.tick(0.5)  # within the 1 s rate limit: no fresh reading at the end
    m = monitor.end_window("short")
    assert m.energy_j == pytest.approx(1.6723 * 0.5, abs=1e-3)
    assert m.source == "pmic:integrated@1hz"
