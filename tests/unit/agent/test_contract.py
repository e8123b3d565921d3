"""Every collector on every fixture device emits what the controller accepts: each cycle's
samples go through the controller's own strict parser (JSON, units, names, labels, sources)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from agent.collectors import default_collectors, device_info
from agent.collectors.thermal import ThermalCollector
from agent.protocol import PROTOCOL_VERSION
from controller.telemetry.schemas import DeviceInfo, parse_push
from tests.unit.agent.fake_pynvml import FakeGpu, FakeNvml
from tests.unit.agent.helpers import FIXTURES, Commands, cmd, tree

NOW = 1763900000.0
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
def test_controller_accepts_every_sample(make_ctx, clock, tmp_path, device):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "machine-id").write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    (etc / "os-release").write_text('PRETTY_NAME="Raspberry Pi OS"\n')
    ctx = make_ctx(etc_root=etc, **DEVICES[device])
    collectors = [c for c in default_collectors(ctx) if c.applies()]
    assert {c.name for c in collectors} == EXPECTED[device]
    samples = []
    for cycle in range(2):
        clock.tick(1.0)
        for c in collectors:
            samples += c.collect(NOW + cycle)
    for c in collectors:
        c.close()
    assert all(s.name.endswith("_total") == s.unit.endswith("_total") for s in samples)
    body = json.dumps({
        "protocol": PROTOCOL_VERSION, "device": device_info(ctx), "stream": uuid.uuid4().hex,
        "batch": {"first_seq": 1, "last_seq": len(samples)}, "dropped": {"total": 0},
        "samples": [s.wire(i) for i, s in enumerate(samples, start=1)]})
    assert len(parse_push(body.encode(), now=NOW + 2, max_skew=60).samples) == len(samples)


def test_device_info_fallbacks_still_validate(make_ctx, tmp_path):
    (tmp_path / "etc").mkdir()
    ctx = make_ctx(etc_root=tmp_path / "etc", proc_root=FIXTURES / "proc_x86",
                   device_id="lab-node-2", agent_version="0+unknown")
    info = device_info(ctx)
    assert info["os"] == "Linux"
    DeviceInfo.model_validate(info)


def test_a_broken_probe_is_logged_and_the_collector_left_out(make_ctx, tmp_path, caplog):
    sys_root = tree(tmp_path, "sys_rpi5")
    name = sys_root / "class/hwmon/hwmon0/name"
    name.unlink()
    name.mkdir()  # reading it fails like an unreadable attribute
    with caplog.at_level(logging.WARNING, logger="edgefleet.agent.collectors"):
        assert not ThermalCollector(make_ctx(sys_root=sys_root)).applies()
    assert "collector thermal left out" in caplog.text
