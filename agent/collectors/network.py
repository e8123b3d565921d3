"""Per-interface rx/tx byte counters from /proc/net/dev, plus rates from their deltas.

The counters are the truth (the controller can rate() them across gaps); the rates are a
convenience for live views, computed over the monotonic time between two cycles, so the first
cycle and any counter reset (interface re-created, 32-bit wrap on 32-bit kernels) give no rate
rather than a wrong one. Rates go on the wire only once the protocol knows their unit
(`bytes_per_second` in agent.protocol.UNITS); until then only the counters are sent.
lo is skipped, and so are veth* (one per container, created and destroyed constantly).
"""

from __future__ import annotations

import os

from agent.collectors.base import CollectorContext, read_text
from agent.protocol import UNITS, Sample

RATE_UNIT = "bytes_per_second"
_SKIP_PREFIX = "veth"


def read_net_dev(path: str) -> dict[str, tuple[int, int]]:
    """(rx_bytes, tx_bytes) per interface."""
    out: dict[str, tuple[int, int]] = {}
    for line in read_text(path).splitlines()[2:]:
        iface, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 16:
            raise ValueError(f"{path}: garbled line {line.strip()[:60]!r}")
        try:
            out[iface.strip()] = (int(fields[0]), int(fields[8]))
        except ValueError:
            raise ValueError(f"{path}: garbled line {line.strip()[:60]!r}") from None
    return out


class NetworkCollector:
    """network_{receive,transmit}_bytes_total{device} and _bytes_per_second{device}."""

    name = "network"

    def __init__(self, ctx: CollectorContext) -> None:
        self._path = str(ctx.proc_root / "net/dev")
        self._clock = ctx.monotonic
        self._prev: dict[str, tuple[int, int]] = {}
        self._prev_t = 0.0
        self.rates = RATE_UNIT in UNITS

    def applies(self) -> bool:
        return os.path.exists(self._path)

    def collect(self, now: float) -> list[Sample]:
        t = self._clock()
        dt = t - self._prev_t
        cur = {k: v for k, v in read_net_dev(self._path).items()
               if k != "lo" and not k.startswith(_SKIP_PREFIX)}
        out: list[Sample] = []
        for iface, (rx, tx) in cur.items():
            labels = {"device": iface}
            out.append(Sample("network_receive_bytes_total", rx, "bytes_total", now,
                              "proc/net/dev", labels))
            out.append(Sample("network_transmit_bytes_total", tx, "bytes_total", now,
                              "proc/net/dev", labels))
            prev = self._prev.get(iface)
            if self.rates and prev is not None and dt > 0 and rx >= prev[0] and tx >= prev[1]:
                out.append(Sample("network_receive_bytes_per_second", (rx - prev[0]) / dt,
                                  RATE_UNIT, now, "proc/net/dev", labels))
                out.append(Sample("network_transmit_bytes_per_second", (tx - prev[1]) / dt,
                                  RATE_UNIT, now, "proc/net/dev", labels))
        self._prev, self._prev_t = cur, t
        return out

    def close(self) -> None:
        """Nothing held open."""
