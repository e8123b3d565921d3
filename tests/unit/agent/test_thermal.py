"""Thermal collector: every zone and hwmon temp input, milli-°C -> °C, sensors labelled."""

from __future__ import annotations

import errno

import pytest

from agent.collectors import thermal
from agent.collectors.thermal import ThermalCollector
from tests.unit.agent.helpers import FIXTURES, tree


def _by(samples):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}


def test_pi_zone_and_hwmon_in_celsius(make_ctx):
    t = ThermalCollector(make_ctx(sys_root=FIXTURES / "sys_rpi5"))
    assert t.applies()
    samples = t.collect(3.0)
    assert _by(samples) == {
        ("thermal_zone_temperature_celsius", (("type", "cpu-thermal"), ("zone", "0"))): 48.312,
        ("hwmon_temperature_celsius", (("chip", "cpu_thermal"), ("sensor", "temp1"))): 48.312,
    }
    assert {s.unit for s in samples} == {"celsius"}
    assert {s.source for s in samples} == {"sysfs/thermal", "sysfs/hwmon"}


def test_every_zone_and_sensor_on_an_x86_box(make_ctx):
    t = ThermalCollector(make_ctx(sys_root=FIXTURES / "sys_x86"))
    assert t.applies()
    samples = t.collect(3.0)
    zones = [(s.labels["zone"], s.labels["type"], s.value) for s in samples
             if s.name == "thermal_zone_temperature_celsius"]
    assert zones == [("0", "acpitz", 27.8), ("1", "x86_pkg_temp", 45.0),
                     ("2", "x86_pkg_temp", 52.0), ("10", "iwlwifi_1", 39.0)]
    chips = {(s.labels["chip"], s.labels["sensor"]): s.value for s in samples
             if s.name == "hwmon_temperature_celsius"}
    assert chips == {("coretemp", "Package id 0"): 45.0, ("coretemp", "Core 0"): 43.0,
                     ("coretemp", "Package id 1"): 47.0, ("coretemp.1", "Core 0"): 46.0,
                     ("nvme", "Composite"): 38.85, ("acpi_fan", "temp1"): 30.0}


def test_a_sensor_without_data_right_now_is_absent_not_zero(make_ctx, monkeypatch):
    t = ThermalCollector(make_ctx(sys_root=FIXTURES / "sys_x86"))
    assert t.applies()
    real = thermal.read_int

    def sleeping_wifi(path):
        if "thermal_zone10" in path:
            raise OSError(errno.ENODATA, "No data available", path)
        return real(path)

    monkeypatch.setattr(thermal, "read_int", sleeping_wifi)
    types = [s.labels.get("type") for s in t.collect(3.0)]
    assert "iwlwifi_1" not in types and "acpitz" in types


def test_vanished_or_garbled_sensor_raises(make_ctx, tmp_path):
    sys_root = tree(tmp_path, "sys_rpi5")
    t = ThermalCollector(make_ctx(sys_root=sys_root))
    assert t.applies()
    (sys_root / "class/thermal/thermal_zone0/temp").write_text("hot\n")
    with pytest.raises(ValueError, match="not an integer"):
        t.collect(3.0)
    (sys_root / "class/thermal/thermal_zone0/temp").unlink()
    with pytest.raises(FileNotFoundError):
        t.collect(3.0)


def test_negative_temperatures_convert_too(make_ctx, tmp_path):
    sys_root = tree(tmp_path, "sys_rpi5")
    (sys_root / "class/thermal/thermal_zone0/temp").write_text("-1500\n")
    t = ThermalCollector(make_ctx(sys_root=sys_root))
    assert t.applies()
    assert t.collect(3.0)[0].value == -1.5


def test_no_sensors_does_not_apply(make_ctx):
    assert not ThermalCollector(make_ctx()).applies()
