"""Protocol-valid push bodies built with agent/protocol.py's own Sample.wire()."""

from __future__ import annotations

import json
import uuid
from typing import Any

from agent.protocol import PROTOCOL_VERSION, Sample
from tests.clock import T0

DEVICE_ID = "5f1c0e6a9b2d4c7e8f0a1b2c3d4e5f60"


def body(first_seq: int = 1, count: int = 3, *, device_id: str = DEVICE_ID,
         stream: str = "a" * 32, ts: float | None = None, name: str = "cpu_usage_ratio",
         labels: dict[str, str] | None = None, dropped: int = 0, value: float = 0.25,
         hostname: str = "rpi-01") -> dict[str, Any]:
    """A batch of `count` samples with seqs first_seq.. and one second between them, ending
    at the suite's pinned T0 unless `ts` says where they start."""
    start = T0 - count if ts is None else ts
    samples = [
        Sample(name, value + i, "ratio", start + i, "procfs",
               {"cpu": "total"} if labels is None else labels).wire(first_seq + i)
        for i in range(count)
    ]
    return {
        "protocol": PROTOCOL_VERSION,
        "device": {"id": device_id, "hostname": hostname, "arch": "arm64", "os": "Debian 12",
                   "agent_version": "0.1.0", "boot_time": 1763900000.0},
        "stream": stream,
        "batch": {"first_seq": first_seq, "last_seq": first_seq + count - 1},
        "dropped": {"total": dropped},
        "samples": samples,
    }


def raw(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def new_stream() -> str:
    return uuid.uuid4().hex
