"""A device's live status from what its agent pushed (and the monitor playbook's speed test).

CPU busy is the mean of `cpu_usage_ratio{cpu=total}` over a short window (one reading is one
second of noise); memory, load average and throttling are the newest readings. Throttled
means what the bench harness flags: under-voltage, throttling or the soft temperature limit
now (vcgencmd), or any temperature sensor at 80 °C or more. Bandwidth is the downlink of the
newest `monitor` run (controller -> device: the way request images travel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.experiment.errors import NoTelemetry
from controller.selection.live import LiveState
from controller.telemetry.errors import NotFound
from controller.telemetry.service import TelemetryService

CPU_WINDOW_S = 15
HOT_C = 80.0
THROTTLE_FLAGS = ("under_voltage", "throttled", "soft_temp_limit")
TEMPERATURES = ("thermal_zone_temperature_celsius", "hwmon_temperature_celsius",
                "soc_temperature_celsius")


@dataclass(frozen=True)
class DeviceStatus:
    device: str
    arch: str | None
    heartbeat_age_s: float | None
    live: LiveState

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "arch": self.arch,
                "heartbeat_age_s": self.heartbeat_age_s, **self.live.as_dict()}


def _cpu_busy(telemetry: TelemetryService, device: str) -> float | None:
    body = telemetry.metrics(device, "cpu_usage_ratio", str(CPU_WINDOW_S), None, CPU_WINDOW_S,
                             "cpu=total")
    points = [p for s in body["series"] for p in s["points"]]  # [ts, avg, min, max, count]
    count = sum(p[4] for p in points)
    return sum(p[1] * p[4] for p in points) / count if count else None


def _throttled(latest: list[dict[str, Any]]) -> bool:
    for r in latest:
        flag = r["name"] == "throttle_flag" and r["labels"].get("scope") == "now"
        if flag and r["labels"].get("flag") in THROTTLE_FLAGS and r["value"] >= 1:
            return True
        if r["name"] in TEMPERATURES and r["value"] >= HOT_C:
            return True
    return False


def _downlink(view: dict[str, Any]) -> float | None:
    monitor = ((view.get("ansible") or {}).get("results") or {}).get("monitor") or {}
    network = (monitor.get("result") or {}).get("network") or {}
    value = network.get("downlink_mbps")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def read_status(telemetry: TelemetryService, device: str) -> DeviceStatus:
    """The device's live state; NoTelemetry when it never pushed or is offline now."""
    try:
        view = telemetry.device(device)
    except NotFound:
        raise NoTelemetry(f"{device} has sent no telemetry: install its agent") from None
    if not view["online"]:
        raise NoTelemetry(
            f"{device} is {view['status']} (last push {view['heartbeat_age_s']} s ago):"
            " its live status is unknown")
    latest = view["latest"]

    def newest(name: str, **labels: str) -> float | None:
        found = [r for r in latest if r["name"] == name
                 and all(r["labels"].get(k) == v for k, v in labels.items())]
        return max(found, key=lambda r: r["ts"])["value"] if found else None

    available = newest("memory_available_bytes")
    cores = sum(1 for r in latest
                if r["name"] == "cpu_usage_ratio" and r["labels"].get("cpu") != "total")
    live = LiveState(
        cpu_busy=_cpu_busy(telemetry, device),
        cores=cores or None,
        load_1m=newest("load_average", period="1m"),
        memory_available_mb=None if available is None else available / 2**20,
        throttled=_throttled(latest),
        downlink_mbps=_downlink(view),
    )
    return DeviceStatus(device, view["arch"], view["heartbeat_age_s"], live)
