"""The agent's collectors, one module each (node_exporter style); see base.py for the contract.

`default_collectors(ctx)` builds all of them; the daemon keeps those whose `applies()` is True.
"""

from __future__ import annotations

from agent.collectors.base import Collector, CollectorContext
from agent.collectors.cpu import CpuCollector
from agent.collectors.disk import DiskCollector
from agent.collectors.identity import HeartbeatCollector, device_info
from agent.collectors.inference import InferenceCollector
from agent.collectors.latency import LatencyCollector
from agent.collectors.memory import MemoryCollector
from agent.collectors.network import NetworkCollector
from agent.collectors.nvidia import NvidiaCollector
from agent.collectors.thermal import ThermalCollector
from agent.collectors.vcgencmd import VcgencmdCollector

__all__ = ["Collector", "CollectorContext", "default_collectors", "device_info"]


def default_collectors(ctx: CollectorContext) -> list[Collector]:
    """Every collector, heartbeat first; power sources last (see agent.power.select)."""
    # Imported here: agent.power builds on agent.collectors (a top-level import would cycle).
    from agent.power.select import power_collectors

    return [HeartbeatCollector(ctx), CpuCollector(ctx), MemoryCollector(ctx), DiskCollector(ctx),
            NetworkCollector(ctx), ThermalCollector(ctx), VcgencmdCollector(ctx),
            NvidiaCollector(ctx), LatencyCollector(ctx), InferenceCollector(ctx),
            *power_collectors(ctx)]
