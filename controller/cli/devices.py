"""`edgefleet devices [--watch S] [--json]`: the fleet as the agents report it, live."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table
from sqlalchemy.orm import Session

from controller.cli import remote, runtime
from controller.config import Settings
from controller.store import Store
from controller.telemetry import registry
from controller.telemetry.settings import TelemetrySettings

out = runtime.out


def _latest(d: dict[str, Any], name: str, **labels: str) -> float | None:
    for m in d.get("latest") or []:
        if m["name"] == name and all(m["labels"].get(k) == v for k, v in labels.items()):
            return m["value"]
    return None


def _max(d: dict[str, Any], suffix: str) -> dict[str, Any] | None:
    found = [m for m in d.get("latest") or [] if m["name"].endswith(suffix)]
    return max(found, key=lambda m: m["value"]) if found else None


def _power(d: dict[str, Any]) -> str:
    """Watts, marked when the agent could only estimate them (never passed off as measured)."""
    m = _max(d, "power_watts")
    if m is None:
        return "-"
    estimated = str(m["labels"].get("source", m.get("source", ""))).startswith("estimated")
    return f"{m['value']:.1f} W" + (" (est.)" if estimated else "")


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def table(devices: list[dict[str, Any]]) -> Table:
    t = Table(title=f"fleet · {sum(bool(d['online']) for d in devices)}/{len(devices)} online")
    for col in ("device", "status", "arch", "cpu", "mem", "temp", "power", "rtt", "seen"):
        t.add_column(col)
    for d in devices:
        total, used = _latest(d, "memory_total_bytes"), _latest(d, "memory_used_bytes")
        age = d.get("heartbeat_age_s")
        t.add_row(
            d.get("name") or d.get("id") or "?",
            "[green]online[/]" if d["online"] else f"[red]{d.get('status') or 'offline'}[/]",
            d.get("arch") or "-",
            _fmt(_latest(d, "cpu_usage_ratio", cpu="total"), "{:.0%}"),
            _fmt(used / total if used is not None and total else None, "{:.0%}"),
            _fmt((_max(d, "_celsius") or {}).get("value"), "{:.1f}°C"),
            _power(d),
            _fmt(_latest(d, "controller_rtt_seconds"), "{:.2g} s"),
            _fmt(age, "{:.0f} s ago"),
        )
    return t


def devices(
    watch: Annotated[float, typer.Option(help="Refresh every S seconds (0 = once).")] = 0,
    count: Annotated[int, typer.Option(help="Stop after this many refreshes (0 = never).")] = 0,
    controller: remote.ControllerOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every device with online/offline, arch and its latest CPU, memory, temperature, power.

    From the running controller the agents push to (--controller), else this machine's store.
    """
    with runtime.errors_as_exit():
        url = remote.check_url(controller) if controller else None
    store = None if url else Store(Settings.from_env().db_url)
    settings = TelemetrySettings.from_env()

    def read() -> list[dict[str, Any]]:
        if store is None:
            return remote.get(url, "/api/devices")
        with Session(store.engine) as s:
            return registry.list_devices(s, settings, time.time())

    try:
        with runtime.errors_as_exit():
            if as_json:
                print(json.dumps(read(), indent=2))
            elif watch <= 0:
                out.print(table(read()))
            else:
                with Live(table(read()), console=out, refresh_per_second=1) as live:
                    shown = 1
                    while count == 0 or shown < count:
                        time.sleep(watch)
                        live.update(table(read()))
                        shown += 1
    finally:
        if store is not None:
            store.dispose()
