"""The controller's store: jobs, their events, per-host results, the host view, telemetry and
benchmark results."""

from controller.store.benchmarks import BenchmarkResult  # registers the benchmark table
from controller.store.db import Store
from controller.store.models import Host, HostLock, Job, JobEvent, JobHost
from controller.store.telemetry import Device, DeviceToken  # registers the telemetry tables

__all__ = [
    "BenchmarkResult",
    "Device",
    "DeviceToken",
    "Host",
    "HostLock",
    "Job",
    "JobEvent",
    "JobHost",
    "Store",
]
