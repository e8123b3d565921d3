"""deploy_model.yml and container_engine.yml keep the playbook result contract and the rules."""

from __future__ import annotations

import os

import pytest
import yaml

from controller.jobs.summaries import line as summary
from tests.unit._playbook_modules import run_module
from tests.unit.test_playbook_contract import PLAYBOOKS, _tasks

NAMES = ("deploy_model", "container_engine")


@pytest.mark.parametrize("name", NAMES)
def test_result_fact_is_set_last_and_play_targets_all(name):
    tasks = _tasks(name)
    setters = [i for i, t in enumerate(tasks)
               if "edgefleet_result" in (t.get("ansible.builtin.set_fact") or {})]
    assert len(setters) == 1
    assert tasks[setters[0]]["ansible.builtin.set_fact"]["cacheable"] is True
    for later in tasks[setters[0] + 1:]:
        assert "ansible.builtin.fail" in later and "when" in later
    play = yaml.safe_load((PLAYBOOKS / f"{name}.yml").read_text())[0]
    assert play["hosts"] == "{{ edgefleet_targets | default('all') }}"
    assert play["gather_facts"] is False


def test_deploy_rolls_out_in_batches_with_a_threshold_and_pins_a_digest():
    play = yaml.safe_load((PLAYBOOKS / "deploy_model.yml").read_text())[0]
    assert "edgefleet_deploy_serial" in play["serial"]
    assert "edgefleet_deploy_max_fail_percentage" in play["max_fail_percentage"]
    deploy = next(t["edgefleet_deploy"] for t in play["tasks"] if "edgefleet_deploy" in t)
    assert deploy["digest"] == "{{ edgefleet_deploy_digest }}"
    assert deploy["health_image"].endswith("health.jpg")


def test_container_engine_uses_os_packages_and_never_writes_engine_config():
    text = (PLAYBOOKS / "container_engine.yml").read_text()
    for forbidden in ("curl", "wget", "get_url", "| sh", "apt_repository", "template",
                      "ansible.builtin.copy", "lineinfile", "blockinfile"):
        assert forbidden not in text
    modules = {k for t in _tasks("container_engine") for k in t if k.startswith("ansible.")}
    assert modules == {"ansible.builtin.stat", "ansible.builtin.apt", "ansible.builtin.command",
                       "ansible.builtin.set_fact"}


def test_summaries_of_deploy_results():
    ok = {"status": "deployed", "digest": "sha256:" + "a" * 64, "platform": "linux/arm64",
          "port": 8500, "prediction": {"top": [{"class": 281, "score": 0.4321}],
                                       "latency_ms": {"total": 41.6}}}
    assert summary("deploy_model", {"result": ok}) == (
        "deployed sha256:aaaaaaaaaaaa · linux/arm64 :8500 · predicted class 281 (0.43) in 42 ms")
    back = {"status": "rolled_back", "digest": "sha256:" + "b" * 64, "stage": "health",
            "error": "exit 4", "rolled_back_to": "sha256:" + "a" * 64}
    assert summary("deploy_model", {"result": back}) == (
        "rolled_back sha256:bbbbbbbbbbbb at health: exit 4 · rolled back to sha256:aaaaaaaaaaaa")
    assert summary("container_engine", {"result": {"version": "podman version 4.3.1",
                                                   "installed": True}}) == (
        "podman version 4.3.1 (installed now)")


def test_a_device_engine_gets_no_sandbox_flags_unless_its_inventory_says(tmp_path, monkeypatch):
    """A real Pi's Podman must use its own store and runtime: the module adds nothing but
    what `engine_args`/`run_args` (from inventory vars) ask for. The `podman` on PATH here
    records its argv and fails the pull, so nothing else runs."""
    calls = tmp_path / "calls"
    image = tmp_path / "health.jpg"
    image.write_bytes(b"\xff\xd8")
    fake = tmp_path / "bin" / "podman"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\necho "no network here" >&2\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    args = {"name": "m", "image": "192.0.2.1:5000/models/t/m", "digest": "sha256:" + "a" * 64,
            "engine": "podman", "state_dir": str(tmp_path / "state"),
            "health_image": str(image)}
    out = run_module("edgefleet_deploy", args, tmp_path)["deploy"]
    assert (out["status"], out["stage"]) == ("failed", "engine")
    assert calls.read_text().split("\n")[0] == (
        "pull --quiet 192.0.2.1:5000/models/t/m@sha256:" + "a" * 64)
    calls.unlink()
    run_module("edgefleet_deploy", {**args, "engine_args": ["--storage-driver", "vfs"]},
               tmp_path)
    assert calls.read_text().startswith("--storage-driver vfs pull --quiet ")
