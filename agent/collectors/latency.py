"""Round-trip time to the controller, as the time a TCP connect takes (one SYN/SYN-ACK).

No ICMP (needs privileges) and no HTTP request (that would measure the controller's handler,
not the network). The controller being unreachable is data, not a collector failure: a probe
sends `controller_up` 1 or 0, and `controller_rtt_seconds` only when the connect worked.
Probes run every PROBE_INTERVAL_S; after a failure the next ones back off (2, 4, ... 60 s;
cycles in between send nothing), so a controller that drops SYNs does not stall every 1 Hz
cycle for the connect timeout.
The address is resolved once and again only after a failure, keeping DNS off the hot path.
"""

from __future__ import annotations

import socket

from agent.collectors.base import CollectorContext, clip
from agent.protocol import Sample

MAX_BACKOFF_S = 60.0
# One probe every few seconds is plenty for a network-health series, and keeps a fleet of
# agents from opening a connection per device per second on the controller.
PROBE_INTERVAL_S = 5.0


class LatencyCollector:
    """controller_rtt_seconds, controller_up (0/1), labelled {target}."""

    name = "latency"

    def __init__(self, ctx: CollectorContext) -> None:
        self._host = ctx.controller_host
        self._port = ctx.controller_port
        self._timeout = ctx.latency_timeout_s
        self._clock = ctx.monotonic
        self._addr: tuple[int, tuple] | None = None
        self._backoff_s = 0.0
        self._next_probe = 0.0

    def applies(self) -> bool:
        return bool(self._host) and self._port is not None

    def _resolve(self) -> tuple[int, tuple]:
        if self._addr is None:
            family, _, _, _, sockaddr = socket.getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM)[0]
            self._addr = (family, sockaddr)
        return self._addr

    def _connect_s(self) -> float | None:
        """Seconds one TCP connect took, or None when it failed (refused, timeout, DNS)."""
        try:
            family, sockaddr = self._resolve()
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(self._timeout)
                start = self._clock()
                sock.connect(sockaddr)
                return self._clock() - start
        except OSError:
            self._addr = None
            return None

    def collect(self, now: float) -> list[Sample]:
        if self._clock() < self._next_probe:
            return []
        rtt = self._connect_s()
        if rtt is None:
            self._backoff_s = min(MAX_BACKOFF_S, max(2.0, self._backoff_s * 2))
            self._next_probe = self._clock() + self._backoff_s
        else:
            self._backoff_s = 0.0
            self._next_probe = self._clock() + PROBE_INTERVAL_S
        labels = {"target": clip(f"{self._host}:{self._port}")}
        up = Sample("controller_up", 0.0 if rtt is None else 1.0, "flags", now, "tcp_connect",
                    labels)
        if rtt is None:
            return [up]
        return [up, Sample("controller_rtt_seconds", rtt, "seconds", now, "tcp_connect", labels)]

    def close(self) -> None:
        """Nothing held open between cycles."""
