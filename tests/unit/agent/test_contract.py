"""Every collector on every fixture device emits samples the wire protocol accepts."""

from __future__ import annotations

import math
import re

import pytest

from agent.collectors import default_collectors
from agent.protocol import MAX_LABELS, NAME_PATTERN, UNITS
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml
from tests.unit.agent.helpers import FIXTURES, Commands, cmd

PI_COMMANDS = {"measure_temp": cmd("measure_temp.txt"),
               "get_throttled": cmd("get_throttled.0x50005.txt"),
               "pmic_read_adc": cmd("pmic_read_adc.pi5.txt")}

DEVICES = {
    "pi5": dict(proc_root=FIXTURES / "proc_rpi", sys_root=FIXTURES / "sys_rpi5",
                machine="aarch64", which=lambda n: n, run=Commands(PI_COMMANDS)),
    "jetson": dict(proc_root=FIXTURES / "proc_rpi", sys_root=FIXTURES / "sys_jetson_orin",
                   machine="aarch64"),
    "gpu_box": dict(proc_root=FIXTURES / "proc_x86", sys_root=FIXTURES / "sys_rapl",
                    pynvml=FakeNvml([FakeGpu("GPU-a"), FakeGpu("GPU-b", energy_mj=None)])),
    "x86": dict(proc_root=FIXTURES / "proc_x86", sys_root=FIXTURES / "sys_x86",
                controller_host="127.0.0.1", controller_port=9),
}
EXPECTED = {
    "pi5": {"heartbeat", "cpu", "memory", "disk", "network", "thermal", "vcgencmd",
            "power_pmic"},
    "jetson": {"heartbeat", "cpu", "memory", "disk", "network", "thermal", "power_ina3221"},
    "gpu_box": {"heartbeat", "cpu", "memory", "disk", "network", "nvidia", "power_rapl",
                "power_nvml"},
    "x86": {"heartbeat", "cpu", "memory", "disk", "network", "thermal", "latency",
            "power_estimate"},
}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_samples_fit_the_protocol(make_ctx, clock, device):
    collectors = [c for c in default_collectors(make_ctx(**DEVICES[device])) if c.applies()]
    assert {c.name for c in collectors} == EXPECTED[device]
    samples = []
    for cycle in range(2):
        clock.tick(1.0)
        for c in collectors:
            samples += c.collect(1763900000.0 + cycle)
    for c in collectors:
        c.close()
    assert samples
    for s in samples:
        assert re.match(NAME_PATTERN, s.name), s
        assert s.unit in UNITS, s
        assert s.source, s
        assert isinstance(s.value, int | float) and math.isfinite(s.value), s
        assert len(s.labels) <= MAX_LABELS, s
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in s.labels.items()), s
        assert s.name.endswith("_total") == s.unit.endswith("_total"), s
