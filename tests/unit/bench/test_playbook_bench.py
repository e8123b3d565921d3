"""playbooks/bench.yml for real: ansible-runner (the controller's own runner) runs the shipped
playbook against this machine as a local-connection host (lab hosts have no torch), with a
tiny iteration count; the result comes back as the cacheable `edgefleet_result` fact."""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path

from controller.jobs.runner import RunSpec, execute

ROOT = Path(__file__).resolve().parents[3]
TINY_ARGS = ["--input-size", "32", "--warmup", "1", "--e2e-iterations", "2",
             "--throughput-batch", "0"]


def _run(tmp_path: Path, extra_vars: dict) -> tuple[str, list[dict], Path]:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"[bench]\nbench-local ansible_connection=local "
                         f"ansible_python_interpreter={sys.executable}\n")
    spec = RunSpec(job_id="bench1", playbook=ROOT / "playbooks" / "bench.yml",
                   inventory=inventory, limit=None, extra_vars=extra_vars, forks=1,
                   timeout_s=600, work_dir=tmp_path / "jobs", ansible_cfg=ROOT / "ansible.cfg",
                   fact_cache_dir=tmp_path / "facts")
    events: queue.SimpleQueue[dict] = queue.SimpleQueue()
    outcome = execute(spec, events, threading.Event())
    got = []
    while not events.empty():
        got.append(events.get())
    return outcome.status, got, tmp_path / "facts" / "bench-local"


def test_bench_playbook_returns_results_per_host(tmp_path):
    status, events, cache = _run(tmp_path, {
        "edgefleet_bench_python": sys.executable,
        "edgefleet_bench_models": ["resnet18", "mobilenet_v2"],
        "edgefleet_bench_iterations": 4,
        "edgefleet_bench_threads": 1,
        "edgefleet_bench_variants": ["fp32"],
        "edgefleet_bench_extra_args": TINY_ARGS,
    })
    assert status == "successful"
    results = json.loads(cache.read_text())["edgefleet_result"]["results"]
    assert [(r["model"], r["variant"], r["threads"]) for r in results] == [
        ("resnet18", "fp32", 1), ("mobilenet_v2", "fp32", 1)]
    assert all(r["latency_ms"]["n"] == 4 and r["weights"] == "random" for r in results)
    # The event the controller reads carries the same fact.
    facts = [(e.get("event_data", {}).get("res") or {}).get("ansible_facts") or {}
             for e in events if e.get("event") == "runner_on_ok"]
    assert any(f.get("edgefleet_result", {}).get("results") == results for f in facts)
    # The private copy of the harness is removed from the device.
    removed = [e for e in events if e.get("event") == "runner_on_ok"
               and e["event_data"].get("task") == "Remove the private directory"]
    assert removed and not Path(removed[0]["event_data"]["res"]["path"]).exists()


def test_a_bad_model_fails_the_host_with_the_harness_s_reason(tmp_path):
    status, events, cache = _run(tmp_path, {"edgefleet_bench_python": sys.executable,
                                            "edgefleet_bench_models": ["resnet9"]})
    assert status == "failed" and not cache.exists()
    failed = [e for e in events if e.get("event") == "runner_on_failed"]
    assert "unknown model 'resnet9'" in failed[0]["event_data"]["res"]["stderr"]

