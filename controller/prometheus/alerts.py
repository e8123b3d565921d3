"""Prometheus alerting rules for the fleet, over the agents' own `/metrics` (edgeagent_*).

deploy/prometheus/alerts.yml is this rendered with the defaults (a test keeps the two equal,
and `promtool test rules deploy/prometheus/alerts_test.yml` checks every alert);
`edgefleet prometheus rules` renders it with other thresholds and latency budgets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from controller.prometheus.config import AGENTS_JOB

_MODEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
TEMPERATURES = "edgeagent_(soc|thermal_zone|hwmon)_temperature_celsius"


@dataclass(frozen=True)
class Thresholds:
    """When each alert fires; `budgets_s` are per-model p90 budgets over `budget_s`."""

    down_for: str = "2m"
    hot_celsius: float = 80.0  # a Pi 4/5 starts soft throttling at 80 °C
    hot_for: str = "5m"
    throttled_for: str = "1m"
    clock_drift_s: float = 15.0  # heartbeat vs scrape time; the agent samples every 1-5 s
    clock_for: str = "10m"
    disk_free_ratio: float = 0.10
    disk_for: str = "10m"
    budget_s: float = 0.2
    budgets_s: dict[str, float] = field(default_factory=dict)
    budget_for: str = "5m"

    def __post_init__(self) -> None:
        for model, seconds in self.budgets_s.items():
            if not _MODEL.match(model):
                raise ValueError(f"latency budget for {model!r}: not a model name")
            if not 0 < seconds < 3600:
                raise ValueError(f"latency budget for {model}: {seconds} s is out of range")


def _budget_expr(t: Thresholds) -> str:
    p90 = 'edgeagent_inference_latency_seconds{quantile="0.9"%s}'
    named = "|".join(sorted(t.budgets_s))
    parts = [f'{p90 % (f", model!~{named!r}" if named else "")} > {t.budget_s:g}']
    parts += [f'{p90 % f", model={m!r}"} > {s:g}' for m, s in sorted(t.budgets_s.items())]
    return " or ".join(parts).replace("'", '"')


def _rule(name: str, expr: str, wait: str, severity: str, summary: str,
          description: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": wait, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description}}


def build(t: Thresholds | None = None) -> dict[str, Any]:
    t = t or Thresholds()
    agents = f'job="{AGENTS_JOB}"'
    return {"groups": [{"name": "edgefleet-devices", "rules": [
        _rule("EdgeDeviceDown", f"up{{{agents}}} == 0", t.down_for, "critical",
              "{{ $labels.instance }} is offline",
              "Prometheus has not scraped the agent on {{ $labels.instance }} for "
              f"{t.down_for}."),
        _rule("EdgeDeviceHot", f'max by (instance) ({{__name__=~"{TEMPERATURES}"}}) > '
              f"{t.hot_celsius:g}", t.hot_for, "warning",
              "{{ $labels.instance }} runs hot ({{ $value | printf \"%.1f\" }} °C)",
              f"Its hottest sensor has stayed above {t.hot_celsius:g} °C for {t.hot_for}."),
        _rule("EdgeDeviceThrottled", 'edgeagent_throttle_flag{scope="now"} == 1',
              t.throttled_for, "warning",
              "{{ $labels.instance }} is throttled: {{ $labels.flag }}",
              "The firmware reports {{ $labels.flag }} now (vcgencmd get_throttled): "
              "latency figures from this device are not its normal ones."),
        _rule("EdgeDeviceClockDrift",
              "abs(edgeagent_agent_heartbeat - timestamp(edgeagent_agent_heartbeat)) > "
              f"{t.clock_drift_s:g}", t.clock_for, "warning",
              "{{ $labels.instance }}'s clock is {{ $value | printf \"%.0f\" }} s off",
              "The device's clock differs from Prometheus' by more than "
              f"{t.clock_drift_s:g} s: run the timesync playbook on it."),
        _rule("EdgeDeviceDiskFilling",
              "edgeagent_filesystem_avail_bytes / edgeagent_filesystem_size_bytes < "
              f"{t.disk_free_ratio:g}", t.disk_for, "warning",
              "{{ $labels.instance }}: {{ $labels.mountpoint }} is almost full",
              f"Less than {t.disk_free_ratio:.0%} free ({{{{ $value | humanizePercentage }}}})"
              ": image pulls and the agent's spool will fail."),
        _rule("EdgeModelOverBudget", _budget_expr(t), t.budget_for, "warning",
              "{{ $labels.model }} on {{ $labels.instance }}: p90 over its budget",
              "p90 inference latency is {{ $value | humanizeDuration }}: re-run "
              "`edgefleet experiment` or `select` for this device class."),
    ]}]}


def render(t: Thresholds | None = None) -> str:
    return yaml.safe_dump(build(t), sort_keys=False, allow_unicode=True, width=100)
