"""The agent's two loops: sample every collector once per interval, push the spool in order.

A collector that raises is isolated: the others keep running, the failure is logged once
(and again only if it recovers and breaks anew), and `agent_collector_success{collector}`
says 0 on every cycle it fails. Pushing never blocks sampling: the spool sits between them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.collectors.base import Collector
from agent.exposition import AgentMetrics
from agent.protocol import MAX_SAMPLES_PER_BATCH, PROTOCOL_VERSION, Sample
from agent.spool import Spool
from agent.transport import Outcome, Transport

log = logging.getLogger("edgefleet.agent")
_MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class AgentConfig:
    controller_url: str
    token: str
    spool_path: Path
    interval_s: float = 1.0
    push_interval_s: float = 5.0
    spool_max_samples: int = 500_000
    metrics_address: str = "0.0.0.0"  # noqa: S104 - scraped by Prometheus on the LAN
    metrics_port: int | None = 9101


class Agent:
    def __init__(self, cfg: AgentConfig, collectors: Sequence[Collector],
                 device: dict[str, Any]) -> None:
        self.cfg = cfg
        self.device = device
        self.collectors = list(collectors)
        self.spool = Spool(cfg.spool_path, cfg.spool_max_samples)
        self.transport = Transport(cfg.controller_url, cfg.token)
        self.metrics = AgentMetrics(__version__, device)
        self.stop = threading.Event()
        self.last_cycle: float | None = None
        self.last_push_ok: float | None = None
        self.last_push_error: str | None = None
        self._broken: dict[str, str] = {}

    # ---- sampling --------------------------------------------------------------------
    def sample_once(self, now: float | None = None) -> list[Sample]:
        """One cycle: every collector, isolated; the samples go to the spool and /metrics."""
        now = time.time() if now is None else now
        out: list[Sample] = []
        for c in self.collectors:
            try:
                got = c.collect(now)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._failed(c.name, exc)
                got = []
                ok = 0.0
            else:
                self._recovered(c.name)
                ok = 1.0
            out.extend(got)
            out.append(Sample("agent_collector_success", ok, "flags", now, "agent",
                              {"collector": c.name}))
        self.metrics.latest.update(out)
        if dropped := self.spool.append(out):
            log.warning("spool full: dropped the %d oldest samples", dropped)
        self.metrics.spool_samples.set(self.spool.pending_samples)
        self.metrics.dropped.set(self.spool.dropped)
        self.last_cycle = now
        return out

    def _failed(self, name: str, exc: Exception) -> None:
        self.metrics.collector_errors.labels(name).inc()
        if name not in self._broken:
            self._broken[name] = f"{type(exc).__name__}: {exc}"
            log.warning("collector %s failed (reported once until it recovers): %s",
                        name, self._broken[name])

    def _recovered(self, name: str) -> None:
        if self._broken.pop(name, None) is not None:
            log.info("collector %s recovered", name)

    # ---- pushing ---------------------------------------------------------------------
    def push_once(self) -> Outcome | None:
        """Push the oldest spooled samples; None when the spool is empty."""
        pending = self.spool.peek(MAX_SAMPLES_PER_BATCH)
        if pending is None:
            return None
        head = json.dumps({
            "protocol": PROTOCOL_VERSION,
            "device": self.device,
            "stream": self.spool.stream,
            "batch": {"first_seq": pending.first_seq, "last_seq": pending.last_seq},
            "dropped": {"total": self.spool.dropped},
        }, separators=(",", ":"))
        body = f'{head[:-1]},"samples":{pending.samples_json}}}'.encode()
        result = self.transport.push(body)
        self.metrics.pushes.labels(result.outcome.value).inc()
        if result.outcome is Outcome.STORED:
            self.spool.ack(pending)
            self.last_push_ok, self.last_push_error = time.time(), None
            self.metrics.last_push.set(self.last_push_ok)
        elif result.outcome is Outcome.REJECTED:
            self.spool.discard(pending)
            log.error("controller rejected %d samples (HTTP %s): %s; dropped them",
                      pending.count, result.status, result.detail)
        elif result.detail != self.last_push_error:
            log.warning("push failed (%s), samples stay spooled: %s",
                        result.outcome.value, result.detail)
        if result.outcome is not Outcome.STORED:
            self.last_push_error = result.detail
        self.metrics.spool_samples.set(self.spool.pending_samples)
        return result.outcome

    def _push_loop(self) -> None:
        backoff = self.cfg.push_interval_s
        while not self.stop.is_set():
            outcome = self.push_once()
            if outcome is Outcome.STORED:
                backoff = self.cfg.push_interval_s
                if self.spool.pending_samples > 0:
                    continue  # draining a backlog after an outage: no pause between pushes
                wait = self.cfg.push_interval_s
            elif outcome is None or outcome is Outcome.REJECTED:
                wait = self.cfg.push_interval_s
            else:
                wait, backoff = backoff, min(backoff * 2, _MAX_BACKOFF_S)
            self.stop.wait(wait)

    # ---- running ---------------------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while sampling keeps its pace; push trouble is reported, not fatal."""
        now = time.time()
        stale = self.last_cycle is None or now - self.last_cycle > 3 * self.cfg.interval_s + 2
        return not stale, {
            "device_id": self.device.get("id"),
            "last_cycle_age_s": (None if self.last_cycle is None
                                 else round(now - self.last_cycle, 3)),
            "last_push_age_s": (None if self.last_push_ok is None
                                else round(now - self.last_push_ok, 3)),
            "last_push_error": self.last_push_error,
            "stream": self.spool.stream,
            "last_seq": self.spool.last_seq,
            "spool_samples": self.spool.pending_samples,
            "dropped_samples": self.spool.dropped,
            "broken_collectors": dict(self._broken),
        }

    def run(self) -> None:
        """Sample at a steady pace (no drift) until `stop` is set; then close everything."""
        pusher = threading.Thread(target=self._push_loop, name="pusher", daemon=True)
        pusher.start()
        next_at = time.monotonic()
        try:
            while not self.stop.is_set():
                self.sample_once()
                next_at += self.cfg.interval_s
                delay = next_at - time.monotonic()
                if delay < 0:  # fell behind (suspend, overload): skip, don't burst
                    next_at, delay = time.monotonic(), 0
                self.stop.wait(delay)
        finally:
            self.stop.set()
            pusher.join(timeout=self.transport.timeout_s + 1)
            self.transport.close()
            for c in self.collectors:
                try:
                    c.close()
                except Exception as exc:  # noqa: BLE001 - closing must reach every collector
                    log.debug("closing %s: %s", c.name, exc)
            self.spool.close()
