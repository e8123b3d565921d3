"""Jetson INA3221: mV x mA -> W per rail, input rail as the total, iio naming, integration."""

from __future__ import annotations

import pytest

from agent.power.ina3221 import Ina3221Source
from tests.unit.agent.helpers import FIXTURES, tree


def _by(readings):
    return {(r.domain, r.labels["rail"]): (r.power_w, r.in_total) for r in readings}


def test_orin_hwmon_rails_and_vdd_in_as_the_module_total(make_ctx):
    src = Ina3221Source(make_ctx(sys_root=FIXTURES / "sys_jetson_orin"))
    assert src.applies()
    got = _by(src.read())
    assert got == {
        ("module", "VDD_IN"): (pytest.approx(5.072 * 1.104), True),
        ("rail", "VDD_CPU_GPU_CV"): (pytest.approx(5.064 * 0.312), False),
        ("rail", "VDD_SOC"): (pytest.approx(5.064 * 0.376), False),
    }  # the "sum of shunt voltages" entries are not rails


def test_nano_iio_power_in_milliwatts_and_pom_5v_in_is_already_the_total(make_ctx):
    src = Ina3221Source(make_ctx(sys_root=FIXTURES / "sys_jetson_nano"))
    assert src.applies()
    got = _by(src.read())
    assert got[("module", "POM_5V_IN")] == (3.472, True)  # not 3.472 + 0.079 + 1.118
    assert got[("rail", "POM_5V_CPU")] == (1.118, False)
    assert got[("rail", "POM_5V_GPU")] == (0.079, False)


def test_agx_xavier_without_input_rail_sums_its_rails_skipping_nc(make_ctx):
    src = Ina3221Source(make_ctx(sys_root=FIXTURES / "sys_jetson_agx_xavier"))
    assert src.applies()
    got = _by(src.read())
    assert got[("module", "sum")][0] == pytest.approx(19.208 * 0.5 + 19.2 * 0.05)
    assert {rail for _, rail in got} == {"sum", "GPU", "CPU", "SOC", "CV", "VDDRQ"}


def test_power_integrated_with_the_trapezoid_rule(make_ctx, tmp_path, clock):
    sys_root = tree(tmp_path, "sys_jetson_nano")
    power = sys_root / "bus/i2c/drivers/ina3221x/6-0040/iio:device0/in_power0_input"
    src = Ina3221Source(make_ctx(sys_root=sys_root))
    assert src.applies()
    power.write_text("2000\n")
    first = src.read()[0]
    assert (first.energy_j, first.source) == (0.0, "ina3221:integrated@1hz")
    power.write_text("4000\n")
    clock.tick(2.0)
    assert src.read()[0].energy_j == pytest.approx(0.5 * (2.0 + 4.0) * 2.0)


def test_garbled_rail_raises(make_ctx, tmp_path):
    sys_root = tree(tmp_path, "sys_jetson_orin")
    src = Ina3221Source(make_ctx(sys_root=sys_root))
    assert src.applies()
    (sys_root / "class/hwmon/hwmon1/curr1_input").write_text("\n")
    with pytest.raises(ValueError, match="curr1_input"):
        src.read()


def test_not_a_jetson_does_not_apply(make_ctx):
    assert not Ina3221Source(make_ctx(sys_root=FIXTURES / "sys_x86")).applies()
