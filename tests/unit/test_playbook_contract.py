"""The result contract between playbooks and the controller, checked on the shipped YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.jobs.summaries import line as summary

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
NAMES = ("ping", "upgrade", "timesync", "monitor", "install_agent", "bench")


def _tasks(name: str) -> list[dict]:
    plays = yaml.safe_load((PLAYBOOKS / f"{name}.yml").read_text())
    assert len(plays) == 1
    return plays[0]["tasks"]


@pytest.mark.parametrize("name", NAMES)
def test_result_fact_is_set_last(name):
    """The controller reads edgefleet_result from the set_fact's runner_on_ok event; only a
    conditional `fail` that reports on that result may follow it."""
    tasks = _tasks(name)
    setters = [
        i
        for i, t in enumerate(tasks)
        if "edgefleet_result" in (t.get("ansible.builtin.set_fact") or {})
    ]
    assert len(setters) == 1
    for later in tasks[setters[0] + 1 :]:
        assert "ansible.builtin.fail" in later and "when" in later


@pytest.mark.parametrize("name", NAMES)
def test_plays_target_all_or_an_override_and_gather_explicitly(name):
    play = yaml.safe_load((PLAYBOOKS / f"{name}.yml").read_text())[0]
    assert play["hosts"] == "{{ edgefleet_targets | default('all') }}"
    assert play["gather_facts"] is False


def test_upgrade_rolls_in_batches_with_an_abort_threshold():
    play = yaml.safe_load((PLAYBOOKS / "upgrade.yml").read_text())[0]
    assert "edgefleet_upgrade_serial" in play["serial"]
    assert "max_fail_percentage" in play


def test_timesync_never_installs_ntp_or_upgrades():
    text = (PLAYBOOKS / "timesync.yml").read_text()
    for task in _tasks("timesync"):
        for sub in task.get("block", [task]):
            apt = sub.get("ansible.builtin.apt")
            if apt:
                assert apt.get("name") == "chrony" and "upgrade" not in apt
    assert "name: ntp\n" not in text


def test_summaries_read_the_shapes_the_playbooks_produce():
    ping = {
        "hostname": "rpi-01",
        "os": {"distribution": "Debian", "version": "12.15", "family": "Debian"},
        "kernel": "6.1.0-rpi7-rpi-v8",
        "machine": "aarch64",
        "arch": "arm64",
        "python": {"version": "3.11.2", "executable": "/usr/bin/python3"},
    }
    assert summary("ping", {"result": ping}) == (
        "Debian 12.15 · kernel 6.1.0-rpi7-rpi-v8 · arm64 (aarch64) · python 3.11.2"
    )
    upgrade = {
        "upgraded": [{"name": "edgefleet-demo", "from": "1.0", "to": "1.1"}],
        "installed": [],
        "removed": [],
        "held": ["nvidia-driver-535"],
        "reboot_required": True,
        "rebooted": False,
    }
    assert summary("upgrade", {"result": upgrade}) == (
        "1 upgraded: edgefleet-demo 1.0→1.1 · 1 held · reboot required (not allowed)"
    )
    assert summary("upgrade", {"result": {**upgrade, "rebooted": True}}).endswith("rebooted")
    timesync = {
        "service": "chrony",
        "servers": ["10.213.0.1"],
        "source": "10.213.0.1",
        "stratum": 9,
        "offset_s": 5.673e-06,
        "synchronized": True,
        "clock_control": "disabled",
        "controller_skew": {"server": "10.213.0.1", "skew_s": 1.1e-05, "rtt_s": 7e-05},
    }
    assert summary("timesync", {"result": timesync}) == (
        "chrony → 10.213.0.1 · offset +0.006 ms · stratum 9 · synchronised · "
        "clock control disabled · skew vs controller +0.011 ms"
    )
    monitor = {
        "temperature": {"zones": [{"celsius": 48.686}, {"celsius": None}], "vcgencmd": None},
        "cpu": {"cores": 4, "load": [0.5, 0.4, 0.3]},
        "memory": {"used_pct": 41.2},
        "network": None,
        "gpu": {"status": "none", "devices": []},
    }
    assert summary("monitor", {"result": monitor}) == (
        "temp 48.7°C · 4 cores load 0.5 · mem 41.2% · speed n/a · gpu none"
    )
