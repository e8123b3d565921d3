"""Memory collector: kB -> bytes, used = total - available, swap used = total - free."""

from __future__ import annotations

import pytest

from agent.collectors.memory import MemoryCollector
from tests.unit.agent.helpers import FIXTURES, tree


def _values(samples):
    return {s.name: s.value for s in samples}


def test_pi_memory_and_swap_in_bytes(make_ctx):
    mem = MemoryCollector(make_ctx(proc_root=FIXTURES / "proc_rpi"))
    assert mem.applies()
    v = _values(mem.collect(5.0))
    assert v == {
        "memory_total_bytes": 8245872 * 1024,
        "memory_available_bytes": 7601340 * 1024,
        "memory_used_bytes": (8245872 - 7601340) * 1024,
        "swap_total_bytes": 524272 * 1024,
        "swap_used_bytes": (524272 - 393204) * 1024,
    }


def test_captured_meminfo_of_this_vm(make_ctx):
    v = _values(MemoryCollector(make_ctx(proc_root=FIXTURES / "proc_x86")).collect(5.0))
    assert v["memory_total_bytes"] == 24684084 * 1024
    assert 0 < v["memory_used_bytes"] < v["memory_total_bytes"]
    assert v["swap_total_bytes"] == v["swap_used_bytes"] == 0


def test_meminfo_without_memavailable_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    text = (proc / "meminfo").read_text()
    (proc / "meminfo").write_text("".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("MemAvailable")))
    with pytest.raises(ValueError, match="missing MemAvailable"):
        MemoryCollector(make_ctx(proc_root=proc)).collect(5.0)


def test_garbled_meminfo_raises(make_ctx, tmp_path):
    proc = tree(tmp_path, "proc_rpi")
    (proc / "meminfo").write_text("MemTotal: lots kB\n")
    with pytest.raises(ValueError, match="garbled"):
        MemoryCollector(make_ctx(proc_root=proc)).collect(5.0)
