"""Live inference reporting: what a deployed model's runtime calls once per inference.

Pure standard library (no torch): the runtime does

    from agent.inference import InferenceReporter
    reporter = InferenceReporter("resnet18")
    with reporter.measure():
        model(x)
    # or reporter.record(latency_s, energy_j=None)

Records are batched in the process and sent as one JSON datagram over a local UNIX
datagram socket every FLUSH_INTERVAL_S or FLUSH_RECORDS records (Linux queues only
`net.unix.max_dgram_qlen`, often 10, datagrams per socket: one per inference would overflow
it between the agent's 1 Hz drains). The agent's `inference` collector turns an interval's
records into p50/p90/p99 latency, a count and energy per inference in the device's
telemetry. Sending never blocks and never raises into the model's hot path: with no agent
listening (or its queue full) the batch is dropped and its records counted in `dropped`.
Datagrams over MAX_DATAGRAM bytes or not matching the shape below are rejected by the
agent (validated at the edge, like any payload).

Wire: {"v": 1, "model": "<label-safe name>",
       "records": [[latency_s > 0, energy_j >= 0 or null (the runtime's own figure)], ...]}
"""

from __future__ import annotations

import json
import math
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SOCKET = Path("/run/edgefleet-agent/inference.sock")
WIRE_VERSION = 1
FLUSH_RECORDS = 64
FLUSH_INTERVAL_S = 0.5
MAX_DATAGRAM = 8192  # FLUSH_RECORDS records with room to spare
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
# One inference longer than an hour is a broken clock, not a measurement.
MAX_LATENCY_S = 3600.0


@dataclass(frozen=True)
class InferenceRecord:
    model: str
    latency_s: float
    energy_j: float | None = None


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    v = float(value)
    if not math.isfinite(v) or not low <= v <= high:
        raise ValueError(f"{name} {v!r} out of range [{low}, {high}]")
    return v


def validate(model: str) -> str:
    if not isinstance(model, str) or not MODEL_PATTERN.match(model):
        raise ValueError(f"model name {model!r} must match {MODEL_PATTERN.pattern}")
    return model


def _pair(latency_s: object, energy_j: object) -> tuple[float, float | None]:
    return (_number(latency_s, "latency_s", 1e-9, MAX_LATENCY_S),
            None if energy_j is None else _number(energy_j, "energy_j", 0.0, 1e6))


def encode(model: str, records: list[tuple[float, float | None]]) -> bytes:
    body = {"v": WIRE_VERSION, "model": validate(model), "records": [list(r) for r in records]}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(data: bytes) -> list[InferenceRecord]:
    """One datagram -> its records; anything malformed raises ValueError (whole datagram)."""
    if len(data) > MAX_DATAGRAM:
        raise ValueError(f"datagram of {len(data)} bytes exceeds {MAX_DATAGRAM}")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("v") != WIRE_VERSION:
        raise ValueError("not an inference batch of wire version 1")
    model = validate(body.get("model"))  # type: ignore[arg-type]
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise ValueError("records must be a non-empty list")
    out = []
    for r in records:
        if not isinstance(r, list) or len(r) != 2:
            raise ValueError("each record is [latency_s, energy_j or null]")
        out.append(InferenceRecord(model, *_pair(*r)))
    return out


class InferenceReporter:
    """Per-model sender; cheap enough to call on every inference (one sendto)."""

    def __init__(self, model: str, socket_path: Path = DEFAULT_SOCKET) -> None:
        self.model = validate(model)
        self._path = str(socket_path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._pending: list[tuple[float, float | None]] = []
        self._last_flush = time.monotonic()
        self.sent = 0
        self.dropped = 0

    def record(self, latency_s: float, energy_j: float | None = None) -> None:
        """Queue one inference's latency (and the runtime's energy figure, if it has one)."""
        self._pending.append(_pair(latency_s, energy_j))
        if (len(self._pending) >= FLUSH_RECORDS
                or time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S):
            self.flush()

    def flush(self) -> bool:
        """Send what is queued; False (records counted as dropped) when no agent takes it."""
        batch, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        if not batch:
            return True
        try:
            self._sock.sendto(encode(self.model, batch), self._path)
        except OSError:  # no agent, socket gone, or its queue is full: never stall the model
            self.dropped += len(batch)
            return False
        self.sent += len(batch)
        return True

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Times the block with perf_counter and records it (only when it did not raise)."""
        t0 = time.perf_counter()
        yield
        self.record(time.perf_counter() - t0)

    def close(self) -> None:
        self.flush()
        self._sock.close()

    def __enter__(self) -> InferenceReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
