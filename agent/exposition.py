"""`/metrics` (Prometheus text format) and `/healthz` for anything that scrapes the device.

The latest value of every sample is exposed as `edgeagent_<name>`: a counter when its unit
is a `*_total`, otherwise a gauge. The agent's own health (pushes, spool, drops, collector
errors) sits beside it, so an existing Prometheus can watch the fleet without the controller.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.protocol import Sample

PREFIX = "edgeagent_"


class Latest(Collector):
    """Latest value per (name, labels), rendered as metric families on scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], Sample]] = {}

    def update(self, samples: Iterable[Sample]) -> None:
        with self._lock:
            for s in samples:
                self._values.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = {name: list(series.values()) for name, series in self._values.items()}
        for name, samples in sorted(snapshot.items()):
            keys = sorted({k for s in samples for k in s.labels})
            first = samples[0]
            doc = f"{name} in {first.unit} (source: {first.source})"
            family: GaugeMetricFamily | CounterMetricFamily
            if first.unit.endswith("_total"):
                family = CounterMetricFamily(PREFIX + name.removesuffix("_total"), doc,
                                             labels=keys)
            else:
                family = GaugeMetricFamily(PREFIX + name, doc, labels=keys)
            for s in samples:
                family.add_metric([s.labels.get(k, "") for k in keys], float(s.value))
            yield family


class AgentMetrics:
    """The agent's own counters, in the same registry as the device's samples."""

    def __init__(self, version: str, device: dict[str, Any]) -> None:
        self.registry = CollectorRegistry()
        self.latest = Latest()
        self.registry.register(self.latest)
        Info(PREFIX + "build", "Agent version and device identity", registry=self.registry).info(
            {"version": version, "arch": str(device.get("arch")),
             "device_id": str(device.get("id"))}
        )
        self.pushes = Counter(PREFIX + "pushes", "Pushes to the controller by outcome",
                              ["outcome"], registry=self.registry)
        self.collector_errors = Counter(PREFIX + "collector_errors",
                                        "Failed collection attempts", ["collector"],
                                        registry=self.registry)
        self.spool_samples = Gauge(PREFIX + "spool_samples",
                                   "Samples waiting in the spool", registry=self.registry)
        self.dropped = Gauge(PREFIX + "spool_dropped_samples",
                             "Samples the bounded spool discarded (oldest first), ever",
                             registry=self.registry)
        self.last_push = Gauge(PREFIX + "last_push_timestamp_seconds",
                               "When the controller last acknowledged a push",
                               registry=self.registry)


def serve(address: str, port: int, metrics: AgentMetrics,
          health: Callable[[], tuple[bool, dict[str, Any]]]) -> ThreadingHTTPServer:
    """Start the scrape endpoint in a daemon thread; `health()` returns (healthy, details)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
            elif self.path == "/healthz":
                ok, details = health()
                body = json.dumps({"status": "ok" if ok else "unhealthy", **details}).encode()
                self._send(200 if ok else 503, "application/json", body)
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Scrapes every few seconds would flood the journal."""

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    # A long poll: the loop only wakes to check for shutdown, which this daemon thread
    # never needs (the default 0.5 s would wake the agent twice a second for nothing).
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 60},
                     name="metrics", daemon=True).start()
    return server
