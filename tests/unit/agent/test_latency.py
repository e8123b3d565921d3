"""Latency collector: TCP connect time to the controller; unreachable is data (up=0)."""

from __future__ import annotations

import socket
import time

from agent.collectors.latency import LatencyCollector


def test_connect_time_to_a_listening_controller(make_ctx):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        c = LatencyCollector(make_ctx(controller_host="127.0.0.1", controller_port=port,
                                      monotonic=time.monotonic))
        assert c.applies()
        by = {s.name: s for s in c.collect(8.0)}
    assert by["controller_up"].value == 1.0
    rtt = by["controller_rtt_seconds"]
    assert rtt.unit == "seconds" and 0.0 <= rtt.value < 1.0
    assert rtt.labels == {"target": f"127.0.0.1:{port}"}
    assert rtt.source == "tcp_connect"


def test_unreachable_controller_is_up_zero_without_rtt(make_ctx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        c = LatencyCollector(make_ctx(controller_host="127.0.0.1", controller_port=port))
        samples = c.collect(8.0)
    assert [(x.name, x.value, x.unit) for x in samples] == [("controller_up", 0.0, "flags")]


def test_unresolvable_name_is_up_zero(make_ctx):
    c = LatencyCollector(make_ctx(controller_host="controller.invalid", controller_port=8080))
    assert [(x.name, x.value) for x in c.collect(8.0)] == [("controller_up", 0.0)]


def test_no_controller_configured_does_not_apply(make_ctx):
    assert not LatencyCollector(make_ctx()).applies()
    assert not LatencyCollector(make_ctx(controller_host="c", controller_port=None)).applies()


def test_failed_probes_back_off_so_cycles_do_not_stall(make_ctx, clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        c = LatencyCollector(make_ctx(controller_host="127.0.0.1",
                                      controller_port=s.getsockname()[1]))
        probes = []
        for _ in range(12):
            probes.append(bool(c.collect(8.0)))
            clock.tick(1.0)
    # probe, wait 2 s, probe, wait 4 s, probe, wait 8 s ...
    assert probes == [True, False, True, False, False, False, True] + [False] * 5
