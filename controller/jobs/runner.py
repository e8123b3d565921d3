"""Run one playbook through ansible-runner in a private directory that is deleted afterwards.

Why the care: ansible-runner's event handler runs in its pexpect loop, so a slow handler
makes runs time out (ansible-runner #1343); shared private dirs mix artifacts (#1143); env
files can hold secrets (#809). So: one dir per job, handlers only enqueue, no env files,
and the controller's own secrets are blanked from the environment runner records.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_runner
import psutil
import yaml

# AWX's capacity model: ~100 MB of controller memory per fork after a 2 GB reserve.
_FORK_MB = 100
_RESERVED_MB = 2048
# A fork spends most of its life waiting on SSH, so a core carries many; past this many per
# core the controller is CPU-bound and adding forks only adds context switches
# (benchmarks/scale.py measures this on the 2-core reference machine).
_FORKS_PER_CPU = 25
_MIN_FORKS = 5
_MAX_FORKS = 200
# Runner checks cancel and timeout once per pexpect wait: this bounds how late a cancel lands.
_POLL_S = 1
# Runner copies os.environ into artifacts/<ident>/command; these must not end up there.
_SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|DATABASE_URL", re.IGNORECASE)
_FINAL = ("successful", "failed", "canceled", "timeout")


def fork_count(n_hosts: int, configured: int | None = None) -> int:
    """Forks for a run: one per host, bounded by the controller's memory and CPUs
    (or by EDGEFLEET_ANSIBLE_FORKS when the operator sets it)."""
    if configured is not None:
        return max(1, min(n_hosts, configured))
    mem_mb = psutil.virtual_memory().total // (1024 * 1024)
    by_memory = (mem_mb - _RESERVED_MB) // _FORK_MB
    by_cpu = (os.cpu_count() or 1) * _FORKS_PER_CPU
    return max(1, min(n_hosts, max(_MIN_FORKS, min(by_memory, by_cpu)), _MAX_FORKS))


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to launch one ansible-playbook run."""

    job_id: str
    playbook: Path
    inventory: Path
    limit: str | None
    extra_vars: dict[str, Any]
    forks: int
    timeout_s: int
    work_dir: Path
    ansible_cfg: Path | None
    fact_cache_dir: Path


@dataclass(frozen=True)
class RunOutcome:
    status: str  # successful | failed | canceled | timeout
    rc: int | None
    error: str | None = None


def private_dir(work_dir: Path, job_id: str) -> Path:
    """The job's private runner directory (env/settings, artifacts); removed after the run."""
    return work_dir / job_id


class _UnsafeDumper(yaml.SafeDumper):
    """Every string value tagged `!unsafe`: Ansible never templates it, wherever a playbook
    puts it (two values side by side could otherwise assemble a `{{ ... }}`)."""


def _unsafe_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", data)


def _plain_keys(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    """Keys stay plain strings (variable names, already validated): only values are data."""
    pairs = [(dumper.represent_scalar("tag:yaml.org,2002:str", str(k)), dumper.represent_data(v))
             for k, v in data.items()]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs)


_UnsafeDumper.add_representer(str, _unsafe_str)
_UnsafeDumper.add_representer(dict, _plain_keys)


def unsafe_extravars(variables: dict[str, Any]) -> str:
    """Extra vars as YAML for `-e @file`, every string marked unsafe."""
    return yaml.dump(variables, Dumper=_UnsafeDumper, sort_keys=False, allow_unicode=True)


def _envvars(spec: RunSpec) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {key: "" for key in os.environ if _SECRET_ENV.search(key)}
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_NOCOLOR="1",
    )
    if spec.ansible_cfg is not None and spec.ansible_cfg.exists():
        env["ANSIBLE_CONFIG"] = str(spec.ansible_cfg)
    return env


def execute(
    spec: RunSpec,
    events: queue.SimpleQueue[dict[str, Any]],
    cancel: threading.Event,
) -> RunOutcome:
    """Run to completion; every runner event is put on `events` without blocking the run."""
    private = private_dir(spec.work_dir, spec.job_id)
    private.mkdir(parents=True, mode=0o700, exist_ok=False)
    # With suppress_env_files, runner ignores its `settings` argument unless env/settings
    # exists (it resets them to {} when the file is missing), so write that file: no secrets.
    (private / "env").mkdir(mode=0o700)
    (private / "env" / "settings").write_text(json.dumps({"pexpect_timeout": _POLL_S}))
    spec.fact_cache_dir.mkdir(parents=True, exist_ok=True)
    extravars_file = None
    if spec.extra_vars:
        extravars_file = private / "extravars.yml"  # removed with the private dir
        extravars_file.write_text(unsafe_extravars(spec.extra_vars))

    def on_event(event: dict[str, Any]) -> bool:
        events.put(event)
        return True

    try:
        thread, runner = ansible_runner.run_async(
            private_data_dir=str(private),
            ident=spec.job_id,
            playbook=str(spec.playbook),
            inventory=str(spec.inventory),
            limit=spec.limit,
            extravars=str(extravars_file) if extravars_file else None,
            forks=spec.forks,
            envvars=_envvars(spec),
            timeout=spec.timeout_s,
            suppress_env_files=True,
            # Runner points ANSIBLE_CACHE_PLUGIN_CONNECTION at artifact_dir/<fact_cache>, which
            # we delete; an absolute path here keeps the cache outside the job dir instead.
            fact_cache=str(spec.fact_cache_dir.resolve()),
            quiet=True,
            event_handler=on_event,
            cancel_callback=cancel.is_set,
        )
        thread.join()
    except Exception as exc:  # noqa: BLE001 - any runner crash must still finalise the job
        return RunOutcome("failed", None, f"ansible-runner failed to start: {exc}")
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if runner.status not in _FINAL:
        # run() raised inside its thread (e.g. a callback error): the status never settled.
        return RunOutcome("failed", runner.rc, f"ansible-runner stopped while {runner.status}")
    return RunOutcome(runner.status, runner.rc)
