"""GPU energy through a fake pynvml (no GPU on the test machine): counter deltas in J, else
integrated power labelled as such, never a silent 0 W (codecarbon #1316)."""

from __future__ import annotations

import pytest

from agent.power.nvml import NvmlSource
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml


def test_counter_supported_gives_joules_from_mj_deltas(make_ctx, clock):
    gpu = FakeGpu("GPU-a", energy_mj=1_000_000, power_mw=250_000)
    src = NvmlSource(make_ctx(pynvml=FakeNvml([gpu])))
    assert src.applies()
    [first] = src.read()
    assert (first.energy_j, first.source, first.domain, first.labels) == (
        0.0, "nvml:counter", "gpu", {"gpu": "0"})
    gpu.energy_mj += 250_000  # 250 J in one second
    clock.tick(1.0)
    [r] = src.read()
    assert r.energy_j == pytest.approx(250.0)
    assert r.power_w == 250.0  # instantaneous board power, mW -> W


def test_counter_not_supported_integrates_power_and_says_so(make_ctx, clock):
    gpu = FakeGpu("GPU-old", energy_mj=None, power_mw=100_000)
    src = NvmlSource(make_ctx(pynvml=FakeNvml([gpu])))
    assert src.applies()
    assert src.read()[0].source == "nvml:integrated@1hz"
    gpu.power_mw = 140_000
    clock.tick(1.0)
    [r] = src.read()
    assert r.energy_j == pytest.approx(120.0)  # ½(100 + 140) W × 1 s, not 0
    assert r.power_w == 140.0


def test_gpu_with_neither_counter_nor_power_is_left_out(make_ctx):
    nvml = FakeNvml([FakeGpu("GPU-none", energy_mj=None, power_mw=None)])
    src = NvmlSource(make_ctx(pynvml=nvml))
    assert not src.applies()
    assert nvml.shutdowns == 1  # nothing kept open for nothing


def test_library_missing_does_not_apply(make_ctx):
    assert not NvmlSource(make_ctx(pynvml=FakeNvml([FakeGpu("g")], library=False))).applies()
