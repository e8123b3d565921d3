"""Ingest counters, served on the controller's `/metrics` (Prometheus text format).

Refused, timed-out and aborted uploads are counted here instead of being logged: an attacker
(or a fleet of misconfigured agents) can cause thousands a second, and a traceback or even
a line each would flood the log. One registry per app, not prometheus_client's global one,
so every app (tests start many in one process) counts its own.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Every outcome is exported from the start (at 0), so a rate() over it is never absent.
OUTCOMES = ("stored", "unauthorized", "forbidden", "too_large", "timeout", "aborted",
            "invalid", "label_limit", "series_limit", "unavailable", "error")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class IngestMetrics:
    """`edgefleet_telemetry_pushes_total{outcome}`: one count per `POST /api/telemetry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        pushes = Counter(
            "edgefleet_telemetry_pushes",
            "Pushes to POST /api/telemetry by outcome: stored, or why not (timeout: the body "
            "did not arrive in time; aborted: the client went away mid-body; *_limit: over a "
            "cardinality limit).",
            ["outcome"], registry=self.registry,
        )
        # Children resolved once: labels() takes a lock and a dict lookup per call.
        self._pushes = {outcome: pushes.labels(outcome) for outcome in OUTCOMES}

    def count(self, outcome: str) -> None:
        self._pushes.get(outcome, self._pushes["error"]).inc()

    def value(self, outcome: str) -> float:
        """The current count (for tests and benchmarks reading it back)."""
        return self.registry.get_sample_value("edgefleet_telemetry_pushes_total",
                                              {"outcome": outcome}) or 0.0

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
