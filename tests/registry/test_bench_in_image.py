"""Benchmarks inside the real runtime image with this machine's real Podman and registry.

edgefleet_image_run pulls runtime/torch by its index digest (Podman picks linux/amd64 here)
and runs one command in a throw-away container or, runner=rootfs, chrooted into the
image's files; playbooks/bench.yml runs `python3 -m bench` that way through the
controller's own ansible-runner wrapper and by hand with ansible-playbook (both must find
the shared module_utils). Emulation detection reads this machine's real /proc."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from controller.images.runtime import RUNTIME_REPO, RUNTIME_TAG
from controller.jobs.runner import RunSpec, execute
from controller.lab.inventory import SANDBOX_ENGINE_ARGS, SANDBOX_RUN_ARGS
from registry.client import RegistryClient
from tests.registry.conftest import push_runtime
from tests.registry.server import running_registry
from tests.unit._playbook_modules import LIBRARY, ROOT, load, run_module

if not shutil.which("podman"):
    pytest.skip("podman not installed (run scripts/bootstrap.sh as root)", allow_module_level=True)

TINY = ["--input-size", "32", "--warmup", "1", "--e2e-iterations", "2",
        "--throughput-batch", "0"]
image_run = load(LIBRARY / "edgefleet_image_run.py", "edgefleet_image_run")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """(image repository, index digest) of runtime/torch:1 in a fresh registry."""
    with running_registry(tmp_path_factory.mktemp("bench-registry")) as server:
        with RegistryClient(server.url) as client:
            push_runtime(client, ("amd64",))
            digest = client.get_manifest(RUNTIME_REPO, RUNTIME_TAG).digest
        yield f"{server.netloc}/{RUNTIME_REPO}", digest


def run_in_image(runtime, tmp_path, argv, **extra):
    image, digest = runtime
    args = {"image": image, "digest": digest, "argv": argv, "insecure_registry": True,
            "engine": "podman", "engine_args": SANDBOX_ENGINE_ARGS, "run_args": SANDBOX_RUN_ARGS,
            "timeout": 300, **extra}
    return run_module("edgefleet_image_run", args, tmp_path, timeout=600)


@pytest.mark.parametrize("runner", ["container", "rootfs"])
def test_a_command_runs_in_the_image_with_a_read_only_mount(runtime, podman_store, tmp_path,
                                                             runner):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("hi")
    probe = ("import pathlib, torch; print(torch.__version__, "
             "pathlib.Path('/mnt/data/hello.txt').read_text()); "
             "pathlib.Path('/mnt/data/new').write_text('x')")
    out = run_in_image(runtime, tmp_path, ["python3", "-c", probe], runner=runner,
                       mounts=[{"src": str(data), "dst": "/mnt/data"}])
    # The image's own torch read the mounted file; writing into the mount was refused.
    assert out["failed"] is True and out["rc"] == 1, out
    assert out["stdout"].startswith("2.13.0") and out["stdout"].split()[1] == "hi"
    assert "Read-only file system" in out["msg"]
    assert not (data / "new").exists()
    assert (out["platform"], out["emulated"], out["kernel_arch"]) == ("linux/amd64", False,
                                                                       "amd64")


def test_failures_are_one_line(runtime, podman_store, tmp_path):
    out = run_in_image(runtime, tmp_path, ["python3", "-m", "bench", "resnet9", "--json"])
    assert out["failed"] is True and out["stage"] == "run"
    assert out["msg"].startswith("python3 exited 2: ") and "resnet9" in out["msg"]
    missing = run_in_image(runtime, tmp_path, ["true"],
                           mounts=[{"src": str(tmp_path / "none"), "dst": "/x"}])
    assert missing["msg"] == f"mount source {tmp_path / 'none'} is not on this device"
    empty = tmp_path / "bin"
    empty.mkdir()
    args = {"image": "reg/x", "digest": "sha256:" + "a" * 64, "argv": ["true"]}
    none = run_module("edgefleet_image_run", args, tmp_path,
                      env={**os.environ, "PATH": str(empty)})
    assert none["msg"] == ("no container engine (podman or docker) on this device: "
                           "run playbooks/container_engine.yml first")
    bad = run_module("edgefleet_image_run", {**args, "digest": "latest"}, tmp_path)
    assert bad["msg"] == "digest 'latest' is not sha256:<64 hex>"


def test_emulation_is_read_from_the_kernel_not_from_uname(tmp_path):
    """qemu-user rewrites `uname -m` for the guest; /proc/sys/kernel/arch and binfmt_misc
    are the kernel's own. This machine runs arm64 binaries through qemu (bootstrap.sh)."""
    kernel = image_run.emulation("amd64")
    assert kernel == {"kernel_arch": "amd64", "emulated": False,
                      "emulation_evidence": "/proc/sys/kernel/arch"}
    assert image_run.emulation("arm64")["emulated"] is True
    # A kernel without /proc/sys/kernel/arch: binfmt_misc tells arm64 ELF goes to qemu.
    no_file = str(tmp_path / "arch")
    assert image_run.emulation("arm64", no_file)["emulated"] is True
    assert image_run.emulation("amd64", no_file)["emulated"] is False
    assert image_run.emulation("arm64", no_file, str(tmp_path))["emulated"] is False


def bench_vars(runtime, **extra):
    image, digest = runtime
    return {"edgefleet_bench_image": image, "edgefleet_bench_digest": digest,
            "edgefleet_bench_insecure": True, "edgefleet_bench_models": ["mobilenet_v2"],
            "edgefleet_bench_iterations": 3, "edgefleet_bench_threads": 1,
            "edgefleet_bench_variants": ["fp32"], "edgefleet_bench_extra_args": TINY, **extra}


def local_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"bench-local": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "edgefleet_container_engine": "podman",
        "edgefleet_container_engine_args": SANDBOX_ENGINE_ARGS,
        "edgefleet_container_run_args": SANDBOX_RUN_ARGS}}}}))
    return inventory


def test_bench_playbook_through_the_controller_runner(runtime, podman_store, tmp_path):
    spec = RunSpec(job_id="bench1", playbook=ROOT / "playbooks" / "bench.yml",
                   inventory=local_inventory(tmp_path), limit=None,
                   extra_vars=bench_vars(runtime), forks=1, timeout_s=600,
                   work_dir=tmp_path / "jobs", ansible_cfg=ROOT / "ansible.cfg",
                   fact_cache_dir=tmp_path / "facts")
    events: queue.SimpleQueue[dict] = queue.SimpleQueue()
    outcome = execute(spec, events, threading.Event())
    assert outcome.status == "successful", outcome
    results = json.loads((tmp_path / "facts" / "bench-local").read_text())[
        "edgefleet_result"]["results"]
    [row] = results
    assert (row["model"], row["variant"], row["threads"], row["latency_ms"]["n"]) == (
        "mobilenet_v2", "fp32", 1, 3)
    assert row["latency_ms"]["p50"] > 0 and row["emulated"] is False
    assert (row["platform"], row["kernel_arch"], row["image_digest"]) == (
        "linux/amd64", "amd64", runtime[1])


def test_bench_playbook_by_hand_fails_with_the_harness_s_reason(runtime, podman_store,
                                                                tmp_path):
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(bench_vars(runtime, edgefleet_bench_models=["resnet9"])))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts"), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(local_inventory(tmp_path)), "playbooks/bench.yml", "-e", f"@{extra}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert "python3 exited 2: error: unknown model 'resnet9'" in proc.stdout
