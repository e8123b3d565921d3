"""CPU collector: usage from /proc/stat deltas (first call primes), cpufreq kHz -> Hz, load."""

from __future__ import annotations

import shutil

import pytest

from agent.collectors.cpu import CpuCollector
from tests.unit.agent.helpers import FIXTURES, tree


def _by(samples, name):
    return {s.labels.get("cpu", s.labels.get("period")): s.value for s in samples
            if s.name == name}


def test_first_call_primes_and_the_next_gives_usage_from_the_delta(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_x86")
    cpu = CpuCollector(make_ctx(proc_root=proc))
    assert cpu.applies()
    first = cpu.collect(1.0)
    assert _by(first, "cpu_usage_ratio") == {}  # primed: no meaningless 0
    shutil.copy(proc / "stat.next", proc / "stat")
    usage = _by(cpu.collect(2.0), "cpu_usage_ratio")
    # captured one second apart: total +201 jiffies of which 99 idle; cpu0 idle, cpu1 busy
    assert usage["total"] == pytest.approx(102 / 201)
    assert usage["0"] == 0.0
    assert usage["1"] == 1.0


def test_pi_cores_frequency_in_hertz_and_load_averages(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    cpu = CpuCollector(make_ctx(proc_root=proc, sys_root=FIXTURES / "sys_rpi5"))
    assert cpu.applies()
    first = cpu.collect(1.0)
    assert _by(first, "cpu_frequency_hertz") == {"0": 2.4e9, "1": 1.5e9, "2": 2.4e9, "3": 1.5e9}
    assert _by(first, "load_average") == {"1m": 0.42, "5m": 0.31, "15m": 0.25}
    assert {s.unit for s in first} == {"hertz", "count"}
    shutil.copy(proc / "stat.next", proc / "stat")
    usage = _by(cpu.collect(2.0), "cpu_usage_ratio")
    assert usage["total"] == pytest.approx(400 / 600)
    assert set(usage) == {"total", "0", "1", "2", "3"}


def test_no_time_between_reads_gives_no_sample(make_ctx):
    cpu = CpuCollector(make_ctx(proc_root=FIXTURES / "proc_x86"))
    assert cpu.applies()
    cpu.collect(1.0)
    assert _by(cpu.collect(1.0), "cpu_usage_ratio") == {}


def test_garbled_stat_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_x86")
    (proc / "stat").write_text("cpu  12 x 3\n")
    cpu = CpuCollector(make_ctx(proc_root=proc))
    assert cpu.applies()
    with pytest.raises(ValueError, match="garbled cpu line"):
        cpu.collect(1.0)


def test_missing_loadavg_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_x86")
    (proc / "loadavg").unlink()
    cpu = CpuCollector(make_ctx(proc_root=proc))
    assert cpu.applies()
    with pytest.raises(FileNotFoundError):
        cpu.collect(1.0)


def test_absent_procfs_does_not_apply(make_ctx):
    assert not CpuCollector(make_ctx()).applies()
