"""RAPL: µJ counter -> J deltas, wrap at max_energy_range_uj, zone choice, permission words."""

from __future__ import annotations

import pytest

from agent.power.rapl import RaplSource
from tests.unit.agent.helpers import tree

MAX_UJ = 262143328850


@pytest.fixture
def powercap(tmp_path):
    return tree(tmp_path, "sys_rapl")


def _set(sys_root, zone, uj):
    (sys_root / "class/powercap" / zone / "energy_uj").write_text(f"{uj}\n")


def test_mmio_package_preferred_and_psys_left_out_when_a_package_exists(make_ctx, powercap):
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    [r] = rapl.read()
    assert (r.domain, r.labels, r.source, r.energy_j, r.power_w) == (
        "cpu", {"package": "0"}, "rapl:counter", 0.0, None)  # first read primes


def test_energy_from_deltas_in_joules_and_average_power(make_ctx, powercap, clock):
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    _set(powercap, "intel-rapl-mmio:0", 1_000_000)
    rapl.read()
    _set(powercap, "intel-rapl-mmio:0", 13_500_000)
    clock.tick(0.5)
    [r] = rapl.read()
    assert r.energy_j == pytest.approx(12.5)  # µJ -> J
    assert r.power_w == pytest.approx(25.0)


def test_wrap_around_adds_the_range(make_ctx, powercap, clock):
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    _set(powercap, "intel-rapl-mmio:0", MAX_UJ - 2_000_000)
    rapl.read()
    _set(powercap, "intel-rapl-mmio:0", 3_000_000)  # wrapped past max_energy_range_uj
    clock.tick(1.0)
    [r] = rapl.read()
    assert r.energy_j == pytest.approx(5.0)
    assert r.power_w == pytest.approx(5.0)


def test_psys_only_without_a_package_domain(make_ctx, powercap):
    for zone in ("intel-rapl:0", "intel-rapl-mmio:0"):
        (powercap / "class/powercap" / zone / "name").write_text("dram\n")
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    assert [(r.domain, r.labels) for r in rapl.read()] == [("psys", {})]


def _deny(monkeypatch):
    from agent.power import rapl as module

    def denied(path):
        if path.endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", path)
        return int(open(path).read())

    monkeypatch.setattr(module, "read_int", denied)


def test_root_only_energy_is_reported_in_words(make_ctx, powercap, monkeypatch):
    _deny(monkeypatch)  # energy_uj is mode 0400 root since kernel 5.10 (tests may run as root)
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert not rapl.applies()
    assert "permission denied" in rapl.problem and "only root" in rapl.problem
    assert "intel-rapl-mmio:0/energy_uj" in rapl.problem


def test_permission_lost_after_start_raises_in_words(make_ctx, powercap, monkeypatch):
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    _deny(monkeypatch)
    with pytest.raises(PermissionError, match="only root read RAPL"):
        rapl.read()


def test_garbled_counter_raises(make_ctx, powercap):
    rapl = RaplSource(make_ctx(sys_root=powercap))
    assert rapl.applies()
    _set(powercap, "intel-rapl-mmio:0", "n/a")
    with pytest.raises(ValueError, match="not an integer"):
        rapl.read()


def test_no_powercap_does_not_apply_and_says_nothing(make_ctx):
    rapl = RaplSource(make_ctx())
    assert not rapl.applies()
    assert rapl.problem is None
