"""NVIDIA collector through a fake pynvml: there is no GPU (nor NVML) on the test machine.

Covers: units converted (percent -> ratio, mW -> W, mJ -> J), the energy counter where
supported and absent (not zero) where NotSupported, no library -> not applicable, one NVML
session shared with the GPU power source.
"""

from __future__ import annotations

import sys

import pytest

from agent.collectors.nvidia import NvidiaCollector
from agent.power.nvml import NvmlSource
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml


def _by(samples):
    return {(s.name, s.labels["gpu"]): s.value for s in samples}


def test_every_gpu_with_units_converted(make_ctx):
    nvml = FakeNvml([FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb", util_percent=100)])
    c = NvidiaCollector(make_ctx(pynvml=nvml))
    assert c.applies()
    samples = c.collect(4.0)
    got = _by(samples)
    assert got[("gpu_utilization_ratio", "0")] == 0.37
    assert got[("gpu_utilization_ratio", "1")] == 1.0
    assert got[("gpu_memory_used_bytes", "0")] == 3 * 2**30
    assert got[("gpu_memory_total_bytes", "0")] == 24 * 2**30
    assert got[("gpu_temperature_celsius", "0")] == 54
    assert got[("gpu_power_watts", "0")] == 71.25  # mW -> W
    assert got[("gpu_energy_joules_total", "0")] == 123_456.789  # mJ -> J
    assert {s.labels["uuid"] for s in samples} == {"GPU-aaaa", "GPU-bbbb"}
    assert {s.source for s in samples} == {"nvml"}


def test_not_supported_is_absent_not_zero_and_not_asked_again(make_ctx):
    gpu = FakeGpu("GPU-old", energy_mj=None, mem_used=None)
    nvml = FakeNvml([gpu])
    c = NvidiaCollector(make_ctx(pynvml=nvml))
    assert c.applies()
    names = {s.name for s in c.collect(4.0)}
    assert "gpu_energy_joules_total" not in names
    assert "gpu_memory_used_bytes" not in names
    assert {"gpu_power_watts", "gpu_temperature_celsius"} <= names
    gpu.energy_mj = 5  # a NotSupported answer is final for this GPU
    assert "gpu_energy_joules_total" not in {s.name for s in c.collect(5.0)}


def test_other_nvml_errors_raise(make_ctx):
    gpu = FakeGpu("GPU-x")
    c = NvidiaCollector(make_ctx(pynvml=FakeNvml([gpu])))
    assert c.applies()
    gpu.lost = True
    with pytest.raises(Exception, match="GPU is lost"):
        c.collect(4.0)


def test_library_missing_or_module_missing_or_no_gpu_does_not_apply(make_ctx, monkeypatch):
    assert not NvidiaCollector(make_ctx(pynvml=FakeNvml([FakeGpu("g")], library=False))).applies()
    empty = FakeNvml([])
    assert not NvidiaCollector(make_ctx(pynvml=empty)).applies()
    assert empty.shutdowns == 1
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    ctx = make_ctx()
    ctx.pynvml = None
    assert not NvidiaCollector(ctx).applies()


def test_one_nvml_session_for_collector_and_power_source(make_ctx):
    nvml = FakeNvml([FakeGpu("GPU-aaaa")])
    ctx = make_ctx(pynvml=nvml)
    collector, source = NvidiaCollector(ctx), NvmlSource(ctx)
    assert collector.applies() and source.applies()
    for t in range(5):
        collector.collect(float(t))
        source.read()
    assert nvml.inits == 1
    collector.close()
    assert nvml.shutdowns == 0  # the power source still uses it
    source.close()
    assert nvml.shutdowns == 1


def test_a_gpu_lost_at_start_is_left_out_and_the_others_reported(make_ctx, caplog):
    nvml = FakeNvml([FakeGpu("GPU-lost", lost=True), FakeGpu("GPU-ok")])
    c = NvidiaCollector(make_ctx(pynvml=nvml))
    assert c.applies()
    assert {s.labels["uuid"] for s in c.collect(4.0)} == {"GPU-ok"}
    assert "GPU 0 left out" in caplog.text
