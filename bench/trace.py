"""`--trace FILE`: a torch profiler trace (Chrome trace format, open in chrome://tracing or
Perfetto) of a few forward passes, for a per-layer look at where the time goes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch.profiler import ProfilerActivity, profile, record_function

from bench.errors import BenchError

TRACE_STEPS = 5


def activities(device: str) -> list[ProfilerActivity]:
    acts = [ProfilerActivity.CPU]
    if device == "cuda":
        acts.append(ProfilerActivity.CUDA)
    return acts


def export_trace(step: Callable[[], object], path: Path, device: str = "cpu") -> Path:
    if not path.parent.is_dir():
        raise BenchError(f"--trace {path}: directory {path.parent} does not exist")
    with profile(activities=activities(device), record_shapes=True) as prof:
        for i in range(TRACE_STEPS):
            with record_function(f"inference#{i}"):
                step()
    prof.export_chrome_trace(str(path))
    return path
