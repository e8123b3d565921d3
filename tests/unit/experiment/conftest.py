"""A real store with real stored results and real telemetry, for the experiment's tests.

Results: the ResNet fp32 rows of the committed benchmarks/results file (measured on this
kind of machine by the bench harness), through the benchmark repository. Telemetry: agent
protocol pushes through the real writer, at the suite's pinned clock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.protocol import PROTOCOL_VERSION, Sample
from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import parse_results
from controller.carbon import CarbonIntensity, CarbonSettings
from controller.config import Settings
from controller.store import Host, Store
from controller.telemetry import tokens
from controller.telemetry.schemas import parse_push
from controller.telemetry.service import TelemetryService
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.writer import GroupWriter, Push, PushResult
from tests.clock import T0, Clock

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results"
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


@dataclass
class Fleet:
    store: Store
    clock: Clock
    telemetry: TelemetryService
    benchmarks: BenchmarkRepository

    def results(self, device: str) -> list:
        return self.benchmarks.by_device(device)[device]

    def push(self, device: str, *, busy: float, load_1m: float = 0.0, cores: int = 2,
             available_mb: float = 4096.0, throttled: bool = False) -> None:
        """Ten seconds of an agent's samples, ending now."""
        token = tokens.create(self.store, device, rotate=True)
        samples = []
        for i in range(10):
            ts = self.clock() - 10 + i
            samples.append(Sample("cpu_usage_ratio", busy, "ratio", ts, "proc/stat",
                                  {"cpu": "total"}))
            samples += [Sample("cpu_usage_ratio", busy, "ratio", ts, "proc/stat",
                               {"cpu": str(c)}) for c in range(cores)]
        now = self.clock() - 1
        samples += [
            Sample("load_average", load_1m, "count", now, "proc/loadavg", {"period": "1m"}),
            Sample("memory_available_bytes", available_mb * 2**20, "bytes", now,
                   "proc/meminfo"),
            Sample("throttle_flag", float(throttled), "flags", now, "vcgencmd",
                   {"flag": "throttled", "scope": "now"}),
        ]
        body = {
            "protocol": PROTOCOL_VERSION,
            "device": {"id": uuid.uuid5(uuid.NAMESPACE_DNS, device).hex, "hostname": device,
                       "arch": "amd64", "os": "Debian 12", "agent_version": "0.1.0",
                       "boot_time": T0 - 86400},
            "stream": uuid.uuid4().hex,
            "batch": {"first_seq": 1, "last_seq": len(samples)},
            "dropped": {"total": 0},
            "samples": [s.wire(i + 1) for i, s in enumerate(samples)],
        }
        parsed = parse_push(json.dumps(body).encode(), now=self.clock(), max_skew=300)
        [outcome] = GroupWriter(self.store.engine).write(
            [Push(tokens.hash_token(token), parsed, "192.0.2.1", self.clock())])
        assert isinstance(outcome, PushResult), outcome

    def speed_test(self, device: str, downlink_mbps: float) -> None:
        """The host view as a finished monitor job leaves it."""
        with self.store.session() as s:
            s.merge(Host(name=device, address="192.0.2.10", groups=["gpu"], facts={},
                         results={"monitor": {"job_id": "j1", "status": "ok", "msg": None,
                                              "at": None, "result": {"network": {
                                                  "uplink_mbps": downlink_mbps,
                                                  "downlink_mbps": downlink_mbps}}}}))


@pytest.fixture
def fleet(settings: Settings) -> Iterator[Fleet]:
    store = Store(settings.db_url)
    clock = Clock()
    repo = BenchmarkRepository(store, CarbonIntensity(CarbonSettings(token=None)))
    rows = json.loads((RESULTS / "amd64-cpu-2threads-batch1.json").read_text())
    resnets = [r for r in rows if r["model"] in RESNETS and r["variant"] == "fp32"]
    for device in ("gpu-01", "gpu-02"):
        repo.add(device, parse_results(resnets, "results"), None)
    yield Fleet(store, clock, TelemetryService(TelemetrySettings(), store, clock), repo)
    store.dispose()
