"""Network collector: byte counters per interface (no lo/veth), rates over monotonic time."""

from __future__ import annotations

import shutil

import pytest

from agent.collectors.network import RATE_UNIT, NetworkCollector
from agent.protocol import UNITS
from tests.unit.agent.helpers import FIXTURES, tree


def _by(samples):
    return {(s.name, s.labels["device"]): s.value for s in samples}


def test_counters_per_interface_skip_loopback_and_veth(make_ctx):
    net = NetworkCollector(make_ctx(proc_root=FIXTURES / "proc_rpi"))
    assert net.applies()
    got = _by(net.collect(1.0))
    assert got == {
        ("network_receive_bytes_total", "eth0"): 48213377,
        ("network_transmit_bytes_total", "eth0"): 3180544,
        ("network_receive_bytes_total", "wlan0"): 0,
        ("network_transmit_bytes_total", "wlan0"): 0,
    }


def test_captured_net_dev_of_this_vm(make_ctx):
    got = _by(NetworkCollector(make_ctx(proc_root=FIXTURES / "proc_x86")).collect(1.0))
    assert got[("network_receive_bytes_total", "eth0")] == 424108294
    assert ("network_receive_bytes_total", "lo") not in got


def test_rates_from_deltas_once_the_protocol_has_their_unit(make_ctx, tmp_path, clock):
    proc = tree(tmp_path, "proc_rpi")
    net = NetworkCollector(make_ctx(proc_root=proc))
    net.rates = True  # what `bytes_per_second` in agent.protocol.UNITS turns on
    assert net.applies()
    first = net.collect(1.0)
    assert not [s for s in first if s.unit == RATE_UNIT]  # primed
    shutil.copy(proc / "net" / "dev.next", proc / "net" / "dev")
    clock.tick(2.0)
    rates = {k: v for k, v in _by(net.collect(3.0)).items() if k[0].endswith("per_second")}
    assert rates == {
        ("network_receive_bytes_per_second", "eth0"): pytest.approx(250000 / 2.0),
        ("network_transmit_bytes_per_second", "eth0"): pytest.approx(50000 / 2.0),
        ("network_receive_bytes_per_second", "wlan0"): 0.0,
        ("network_transmit_bytes_per_second", "wlan0"): 0.0,
    }


def test_rates_stay_off_the_wire_until_the_protocol_knows_the_unit(make_ctx):
    net = NetworkCollector(make_ctx(proc_root=FIXTURES / "proc_rpi"))
    assert net.rates == (RATE_UNIT in UNITS)


def test_counter_reset_gives_no_rate(make_ctx, tmp_path, clock):
    proc = tree(tmp_path, "proc_rpi")
    shutil.copy(proc / "net" / "dev.next", proc / "net" / "dev")
    net = NetworkCollector(make_ctx(proc_root=proc))
    net.rates = True
    net.collect(1.0)
    shutil.copy(FIXTURES / "proc_rpi" / "net" / "dev", proc / "net" / "dev")  # went down
    clock.tick(1.0)
    rates = {s.labels["device"] for s in net.collect(2.0) if s.unit == RATE_UNIT}
    assert rates == {"wlan0"}  # eth0's counters went down: no rate rather than a negative one


def test_garbled_net_dev_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "net" / "dev").write_text("h1\nh2\n  eth0: 1 2 3\n")
    with pytest.raises(ValueError, match="garbled"):
        NetworkCollector(make_ctx(proc_root=proc)).collect(1.0)
