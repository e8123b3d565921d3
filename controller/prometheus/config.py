"""The Prometheus configuration for a fleet: agents from file_sd, Prometheus itself.

deploy/prometheus/prometheus.yml is this rendered for the compose layout (a test keeps the
two identical); `edgefleet prometheus config` renders it for other layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

AGENTS_JOB = "edgefleet-agents"
SD_FILE_NAME = "edgefleet-agents.json"


def build(sd_dir: Path | str, scrape_interval: str = "15s", scrape_timeout: str = "10s",
          rules: str | None = None, alertmanager: str | None = None) -> dict[str, Any]:
    """`rules`: an alerting rules file (controller/prometheus/alerts.py renders ours);
    `alertmanager`: HOST:PORT that alerts are sent to."""
    doc: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
    }
    if rules:
        doc["rule_files"] = [rules]
    if alertmanager:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    doc["scrape_configs"] = [
        {
            "job_name": AGENTS_JOB,
            "scrape_timeout": scrape_timeout,
            "file_sd_configs": [{"files": [f"{sd_dir}/*.json"], "refresh_interval": "1m"}],
            # `instance` = the device name, not ip:port (stable across DHCP renewals).
            "relabel_configs": [{"source_labels": ["device"], "target_label": "instance"}],
        },
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
    ]
    return doc


def render(sd_dir: Path | str, scrape_interval: str = "15s", scrape_timeout: str = "10s",
           rules: str | None = None, alertmanager: str | None = None) -> str:
    return yaml.safe_dump(build(sd_dir, scrape_interval, scrape_timeout, rules, alertmanager),
                          sort_keys=False)
