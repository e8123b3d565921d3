"""The wire contract between agent and controller (`POST /api/telemetry`), stdlib only.

The agent must stay light on a Raspberry Pi, so this module imports nothing beyond the
standard library; the controller validates the same shape with its own pydantic models
(controller/telemetry/schemas.py) and rejects anything else.

A push body (JSON, at most MAX_BODY_BYTES, at most MAX_SAMPLES_PER_BATCH samples):

    {
      "protocol": 1,
      "device": {"id": "<uuid from /etc/machine-id>", "hostname": "rpi-01", "arch": "arm64",
                 "os": "Debian 12", "agent_version": "0.1.0", "boot_time": 1763900000.0},
      "stream": "<uuid4 hex, new whenever the agent's spool is created>",
      "batch": {"first_seq": 1201, "last_seq": 1240},
      "dropped": {"total": 0},            # samples the spool discarded past its bound, ever
      "samples": [
        {"seq": 1201, "name": "cpu_usage_ratio", "value": 0.23, "unit": "ratio",
         "ts": 1763900123.456, "source": "procfs", "labels": {"cpu": "total"}},
        ...
      ]
    }

Sample identity is (device id, stream, seq): `seq` increases by one per sample within a
stream and batches are replayed in order, so the controller drops any sample whose seq is
at or below the highest it has stored for that stream (at-least-once delivery, stored
exactly once). A heartbeat is a batch like any other (it may hold only the
`agent_heartbeat` sample).

Answers: 200 `{"accepted": n, "duplicates": m}`; 401 bad/missing token; 403 token belongs to
another device; 413 body too large; 422 malformed (nothing of the batch is stored); 5xx:
the agent keeps the batch and retries later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
MAX_BODY_BYTES = 1_048_576
MAX_SAMPLES_PER_BATCH = 5_000
MAX_LABELS = 8
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,99}$"

# Units a sample may carry: base units only (Prometheus conventions), no percent.
UNITS = frozenset(
    {"ratio", "bytes", "bytes_total", "bytes_per_second", "celsius", "hertz", "seconds",
     "seconds_total", "joules", "joules_total", "watts", "volts", "amperes", "count",
     "count_total", "info", "timestamp_seconds", "flags"}
)


@dataclass(frozen=True)
class Sample:
    """One measurement: a name, a value in a named unit, when, and which source produced it."""

    name: str
    value: float
    unit: str
    ts: float
    source: str
    labels: dict[str, str] = field(default_factory=dict)

    def wire(self, seq: int) -> dict[str, Any]:
        return {"seq": seq, "name": self.name, "value": self.value, "unit": self.unit,
                "ts": self.ts, "source": self.source, "labels": self.labels}
