"""The NVML paths on a real GPU, where there is one (skipped here: no GPU, no pynvml)."""

from __future__ import annotations

import pytest

from agent.collectors.base import CollectorContext
from agent.collectors.nvidia import NvidiaCollector
from agent.power.nvml import NvmlSource

pynvml = pytest.importorskip("pynvml")


@pytest.fixture
def ctx() -> CollectorContext:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        pytest.skip(f"no usable NVIDIA driver: {exc}")
    pynvml.nvmlShutdown()
    return CollectorContext()


def test_real_gpus_report_in_base_units(ctx):
    collector, source = NvidiaCollector(ctx), NvmlSource(ctx)
    assert collector.applies()
    try:
        samples = collector.collect(1.0)
        util = [s.value for s in samples if s.name == "gpu_utilization_ratio"]
        assert util and all(0.0 <= u <= 1.0 for u in util)
        power = [s.value for s in samples if s.name == "gpu_power_watts"]
        assert all(1.0 < w < 2000.0 for w in power)  # watts, not milliwatts
        if source.applies():
            first = source.read()
            assert {r.source for r in first} <= {"nvml:counter", "nvml:integrated@1hz"}
    finally:
        collector.close()
        source.close()
