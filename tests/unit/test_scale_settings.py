"""Ansible at scale: forks sized from the controller (or set), `free` only where hosts are
independent, and a fact cache that outlives each job."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import psutil
import pytest
import yaml

from controller.config import Settings
from controller.jobs.runner import fork_count

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
INDEPENDENT = ("ping", "timesync", "install_agent")


def test_forks_follow_memory_and_cpus() -> None:
    mem_mb = psutil.virtual_memory().total // 2**20
    expected = max(5, min((mem_mb - 2048) // 100, (os.cpu_count() or 1) * 25))
    assert fork_count(100_000) == min(expected, 200)
    assert fork_count(2) == 2, "never more forks than hosts"


def test_configured_forks_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFLEET_ANSIBLE_FORKS", "7")
    forks = Settings.from_env().forks
    assert forks == 7
    assert fork_count(100, forks) == 7
    assert fork_count(3, forks) == 3
    monkeypatch.setenv("EDGEFLEET_ANSIBLE_FORKS", "many")
    with pytest.raises(ValueError, match="EDGEFLEET_ANSIBLE_FORKS"):
        Settings.from_env()


@pytest.mark.parametrize("name", INDEPENDENT)
def test_independent_playbooks_use_the_free_strategy(name: str) -> None:
    plays = yaml.safe_load((PLAYBOOKS / f"{name}.yml").read_text())
    assert all(play.get("strategy") == "free" for play in plays)


def test_rolling_playbooks_stay_linear() -> None:
    """`serial` batches and max_fail_percentage need lock-step hosts: never `free` there."""
    for path in PLAYBOOKS.glob("*.yml"):
        for play in yaml.safe_load(path.read_text()):
            if "serial" in play or any(t.get("throttle") for t in play.get("tasks", [])):
                assert play.get("strategy", "linear") == "linear", path.name


def test_fact_cache_is_a_persistent_jsonfile_cache() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(PLAYBOOKS.parent / "ansible.cfg")
    assert cfg["defaults"]["gathering"] == "smart"
    assert cfg["defaults"]["fact_caching"] == "jsonfile"
    assert int(cfg["defaults"]["fact_caching_timeout"]) >= 3600
    assert Settings(home=Path("/h")).fact_cache_dir == Path("/h/facts")
