"""Power source selection: measured sources first, the estimate only when none applies,
the source named on every sample, a failing source isolated in its own collector."""

from __future__ import annotations

import logging

import pytest

from agent.power.select import PowerCollector, power_collectors
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml
from tests.unit.agent.helpers import FIXTURES, Commands, cmd, tree


def _active(ctx):
    return [c for c in power_collectors(ctx) if c.applies()]


def test_candidates_in_order_of_preference(make_ctx):
    names = [c.name for c in power_collectors(make_ctx())]
    assert names == ["power_ina3221", "power_pmic", "power_rapl", "power_nvml", "power_estimate"]


def test_gpu_box_uses_rapl_for_cpu_and_nvml_for_gpu_no_estimate(make_ctx, tmp_path):
    ctx = make_ctx(sys_root=tree(tmp_path, "sys_rapl"), proc_root=FIXTURES / "proc_x86",
                   pynvml=FakeNvml([FakeGpu("GPU-a")]))
    active = _active(ctx)
    assert [c.name for c in active] == ["power_rapl", "power_nvml"]
    samples = [s for c in active for s in c.collect(1.0)]
    assert {(s.labels["domain"], s.labels["source"]) for s in samples} == {
        ("cpu", "rapl:counter"), ("gpu", "nvml:counter")}
    assert all(s.source == s.labels["source"] for s in samples)


def test_jetson_uses_ina3221(make_ctx):
    active = _active(make_ctx(sys_root=FIXTURES / "sys_jetson_orin",
                              proc_root=FIXTURES / "proc_rpi", machine="aarch64"))
    assert [c.name for c in active] == ["power_ina3221"]


def test_pi5_uses_the_pmic(make_ctx):
    ctx = make_ctx(sys_root=FIXTURES / "sys_rpi5", proc_root=FIXTURES / "proc_rpi",
                   machine="aarch64", which=lambda n: n,
                   run=Commands({"pmic_read_adc": cmd("pmic_read_adc.pi5.txt")}))
    assert [c.name for c in _active(ctx)] == ["power_pmic"]


def test_pi4_has_nothing_measurable_so_the_estimate_labelled_as_such(make_ctx, tmp_path,
                                                                     clock):
    proc = tree(tmp_path, "proc_rpi")
    ctx = make_ctx(sys_root=FIXTURES / "sys_rpi5", proc_root=proc, machine="aarch64",
                   which=lambda n: n,
                   run=Commands({"pmic_read_adc": cmd("pmic_read_adc.pi4.txt")}))
    [estimate] = _active(ctx)
    assert estimate.name == "power_estimate"
    first = estimate.collect(1.0)
    assert [(s.name, s.value) for s in first] == [("energy_joules_total", 0.0)]  # no power yet
    (proc / "stat").write_text((proc / "stat.next").read_text())
    clock.tick(1.0)
    samples = estimate.collect(2.0)
    assert {s.name for s in samples} == {"energy_joules_total", "power_watts"}
    assert all(s.source == "estimated:tdp-load-cubic" for s in samples)
    assert all(s.labels == {"domain": "cpu", "source": "estimated:tdp-load-cubic"}
               for s in samples)
    assert next(s for s in samples if s.name == "power_watts").value > 0


def test_unreadable_rapl_falls_back_and_is_logged_once(make_ctx, tmp_path, monkeypatch,
                                                       caplog):
    from agent.power import rapl as module

    def denied(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(module, "read_int", denied)
    ctx = make_ctx(sys_root=tree(tmp_path, "sys_rapl"), proc_root=FIXTURES / "proc_x86")
    collectors = power_collectors(ctx)
    with caplog.at_level(logging.WARNING, logger="edgefleet.agent.power"):
        active = [c for c in collectors if c.applies()]
    assert [c.name for c in active] == ["power_estimate"]
    assert len(caplog.records) == 1 and "only root" in caplog.text


def test_a_failing_source_raises_from_its_own_collector_only(make_ctx, tmp_path):
    sys_root = tree(tmp_path, "sys_rapl")
    gpu = FakeGpu("GPU-a")
    ctx = make_ctx(sys_root=sys_root, proc_root=FIXTURES / "proc_x86",
                   pynvml=FakeNvml([gpu]))
    rapl, nvml = _active(ctx)
    gpu.lost = True
    with pytest.raises(Exception, match="GPU is lost"):
        nvml.collect(1.0)
    assert rapl.collect(1.0)


def test_samples_carry_energy_always_and_power_when_known(make_ctx, tmp_path):
    ctx = make_ctx(sys_root=FIXTURES / "sys_jetson_nano")
    [ina] = _active(ctx)
    assert isinstance(ina, PowerCollector)
    samples = ina.collect(1.0)
    module = [s for s in samples if s.labels["domain"] == "module"]
    assert {(s.name, s.unit) for s in module} == {("energy_joules_total", "joules_total"),
                                                  ("power_watts", "watts")}
    assert module[0].labels == {"domain": "module", "source": "ina3221:integrated@1hz",
                                "rail": "POM_5V_IN"}
