"""Controller settings, read once from the environment so CLI and server agree on paths."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from controller.telemetry.settings import TelemetrySettings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(os.environ.get("EDGEFLEET_HOME", Path.home() / ".local" / "share" / "edgefleet"))


@dataclass(frozen=True)
class Settings:
    """Where the controller keeps its state and finds its playbooks."""

    home: Path = field(default_factory=_default_home)
    database_url: str | None = None
    project_dir: Path = PROJECT_DIR
    inventory: Path | None = None
    job_timeout_s: int = 1800
    forks: int | None = None  # None: sized from memory and CPUs (controller/jobs/runner.py)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings.from_env)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from EDGEFLEET_* variables; explicit overrides win."""
        values: dict[str, object] = {}
        if url := os.environ.get("EDGEFLEET_DATABASE_URL"):
            values["database_url"] = url
        if project := os.environ.get("EDGEFLEET_PROJECT_DIR"):
            values["project_dir"] = Path(project)
        if inventory := os.environ.get("EDGEFLEET_INVENTORY"):
            values["inventory"] = Path(inventory)
        if forks := os.environ.get("EDGEFLEET_ANSIBLE_FORKS"):
            if not forks.isdigit() or not 1 <= int(forks) <= 500:
                raise ValueError(f"EDGEFLEET_ANSIBLE_FORKS={forks!r}: give a number 1..500")
            values["forks"] = int(forks)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'controller.db'}"

    @property
    def playbook_dir(self) -> Path:
        return self.project_dir / "playbooks"

    @property
    def ansible_cfg(self) -> Path:
        return self.project_dir / "ansible.cfg"

    @property
    def jobs_dir(self) -> Path:
        """Parent of the per-job private runner directories (deleted after each job)."""
        return self.home / "jobs"

    @property
    def fact_cache_dir(self) -> Path:
        """Ansible's jsonfile fact cache, kept across jobs (so `gathering = smart` pays off)."""
        return self.home / "facts"
