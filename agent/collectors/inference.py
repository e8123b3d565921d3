"""Live latency and energy of deployed models, from the runtimes' `agent.inference` records.

The collector owns a UNIX datagram socket (`ctx.inference_socket`; None turns this off) and
drains it every cycle. Per model that sent records in the interval:
- inference_latency_seconds{model, quantile="0.5"|"0.9"|"0.99"}: exact percentiles of the
  interval's latencies (linear interpolation), not histogram estimates;
- inference_count_total{model}: cumulative count since the agent started;
- inference_energy_joules{model}: energy per inference over the interval. The runtime's own
  figures when every record carried one (source "runtime"); otherwise the device's energy
  over the interval (the agent's selected power sources, gross, idle included) divided by
  all inferences of all models in it, labelled with those sources (`estimated:` when the
  device has no sensor). That attribution assumes the models are what keeps the device busy.
Malformed datagrams are dropped and counted (inference_rejected_count_total, in datagrams).
"""

from __future__ import annotations

import logging
import os
import socket
from collections import defaultdict

from agent.collectors.base import CollectorContext, clip
from agent.inference import MAX_DATAGRAM, InferenceRecord, decode
from agent.protocol import Sample

log = logging.getLogger("edgefleet.agent.inference")
QUANTILES = ((0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"))
# Bounded drain per cycle: a runaway sender cannot stall the agent's loop.
MAX_RECORDS_PER_CYCLE = 100_000
# Kernel receive buffer: ~1 s of records from a fast model at 1 Hz cycles.
RCVBUF_BYTES = 4 * 1024 * 1024


def quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


class InferenceCollector:
    name = "inference"

    def __init__(self, ctx: CollectorContext) -> None:
        self._ctx = ctx
        self._path = ctx.inference_socket
        self._sock: socket.socket | None = None
        self._counts: dict[str, int] = defaultdict(int)
        self._rejected = 0
        self._power = None  # PowerMonitor, opened in applies()
        self._window_open = False

    def applies(self) -> bool:
        if self._path is None:
            return False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if self._path.exists():
            self._path.unlink()  # a stale socket from a previous agent
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        sock.bind(str(self._path))
        sock.setblocking(False)
        # Model runtimes often run as another user than the agent: anyone local may report.
        os.chmod(self._path, 0o666)  # noqa: S103 - payloads are validated and bounded
        self._sock = sock
        self._power = _power_monitor(self._ctx)
        if self._power is not None:
            self._power.begin_window(self.name)
            self._window_open = True
        return True

    def _drain(self) -> list[InferenceRecord]:
        records = []
        assert self._sock is not None
        for _ in range(MAX_RECORDS_PER_CYCLE):
            try:
                data = self._sock.recv(MAX_DATAGRAM + 1)
            except BlockingIOError:
                break
            try:
                records.extend(decode(data))
            except ValueError as exc:
                self._rejected += 1
                log.debug("inference record rejected: %s", exc)
        return records

    def _device_energy(self) -> tuple[float, str] | None:
        """Device energy since the last cycle and its sources; a new window starts."""
        if self._power is None:
            return None
        m = self._power.end_window(self.name)
        self._power.begin_window(self.name)
        return m.energy_j, m.source

    def collect(self, now: float) -> list[Sample]:
        records = self._drain()
        device = self._device_energy()
        by_model: dict[str, list[InferenceRecord]] = defaultdict(list)
        for r in records:
            by_model[r.model].append(r)
        out = []
        for model, recs in sorted(by_model.items()):
            label = {"model": clip(model)}
            self._counts[model] += len(recs)
            lat = sorted(r.latency_s for r in recs)
            for q, name in QUANTILES:
                out.append(Sample("inference_latency_seconds", quantile(lat, q), "seconds", now,
                                  "runtime", {**label, "quantile": name}))
            out.append(Sample("inference_count_total", float(self._counts[model]), "count_total",
                              now, "runtime", label))
            if all(r.energy_j is not None for r in recs):
                per = sum(r.energy_j for r in recs) / len(recs)  # type: ignore[misc]
                out.append(Sample("inference_energy_joules", per, "joules", now, "runtime",
                                  label))
            elif device is not None:
                joules, sources = device
                out.append(Sample("inference_energy_joules", joules / len(records), "joules",
                                  now, "attributed", {**label, "energy_source": clip(sources)}))
        if self._rejected:
            out.append(Sample("inference_rejected_count_total", float(self._rejected),
                              "count_total", now, "runtime"))
        return out

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            if self._path is not None and self._path.exists():
                self._path.unlink()
        if self._power is not None:
            self._power.close()


def _power_monitor(ctx: CollectorContext):
    """The device's selected power sources in a monitor, or None when there are none."""
    # Imported here: agent.power builds on agent.collectors (a top-level import would cycle).
    from agent.power.estimate import EstimateSource
    from agent.power.select import PowerSelection, measured_sources
    from agent.power.window import PowerMonitor

    sources = PowerSelection(measured_sources(ctx), EstimateSource(ctx)).chosen()
    return PowerMonitor(sources, ctx.monotonic) if sources else None
