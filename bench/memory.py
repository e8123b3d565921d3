"""Peak memory of one benchmark row, measured in a fresh process.

RSS inside the long benchmark process says little about one model: the allocator keeps what
an earlier, larger model freed, so "peak minus RSS before this model" read -97 MB after
resnet152 and 2 MB for mobilenet_v2 after resnet50 (136 MB alone). Each row's figure is
therefore taken in a child started for it (`python -m bench.memory SPEC`, the same
interpreter), where nothing ran before: it imports torch, records its RSS (the baseline),
builds or loads the model, prepares the variant, frees the fp32 original (the main process
keeps it only to prepare the other variants), and runs `passes` forward passes at the row's
batch, input size and thread count under an RssSampler.

`peak_mb` is that peak minus the baseline: the peak RSS growth of a fresh process that loads
this model variant and runs it at this batch: weights, activations, kernel workspaces, and
the torch code pages its first pass faults in (~38 MB of file-backed pages on x86 CPU).
`rss_peak_mb` is the child's absolute peak (torch's own footprint included).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from bench import zoo
from bench.errors import BenchError
from bench.sampling import MB, RssSampler, rss_bytes
from bench.variants import variant

_ROOT = Path(__file__).resolve().parent.parent  # the directory holding `bench` (and `agent`)


@dataclass(frozen=True)
class MemorySpec:
    """One row's memory probe: what the child builds and runs."""

    model: str
    variant: str
    device: str
    batch: int
    threads: int
    input_size: int
    weights: str | None = None  # absolute path: the child runs in _ROOT
    passes: int = 3


@dataclass(frozen=True)
class Memory:
    peak_mb: float | None  # peak RSS growth over the fresh process's baseline; None off Linux
    rss_peak_mb: float | None  # the child's absolute peak RSS


def _trim() -> None:
    """Hand freed heap pages back (glibc), so a freed fp32 original is not counted."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)


def probe(spec: MemorySpec) -> tuple[int | None, int | None]:
    """(baseline, peak) RSS bytes in this process; meant to run in a fresh one."""
    torch.set_num_threads(spec.threads)
    if spec.device == "cuda":
        torch.zeros(1, device="cuda")  # the CUDA context is torch's, not the model's
    gc.collect()
    _trim()  # both sides of the subtraction trimmed alike
    baseline = rss_bytes()
    base, _ = zoo.load(spec.model, Path(spec.weights) if spec.weights else None)
    v = variant(spec.variant, spec.device)
    model = v.prepare(base).to(spec.device)
    del base
    gc.collect()
    _trim()
    size = spec.input_size
    with torch.inference_mode(), RssSampler() as rss:
        x = torch.randn(spec.batch, 3, size, size).to(spec.device, v.dtype)
        for _ in range(spec.passes):
            model(x)
        if spec.device == "cuda":
            torch.cuda.synchronize()
    return baseline, rss.peak_bytes


def measure(spec: MemorySpec) -> Memory:
    """Run `probe` in a fresh interpreter; a failing child is a BenchError."""
    if rss_bytes() is None:  # no /proc: the child could not read RSS either
        return Memory(None, None)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "bench.memory", json.dumps(asdict(spec))],
                          cwd=_ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"memory probe of {spec.model} {spec.variant} b{spec.batch} "
                         f"failed (exit {proc.returncode}): {tail}")
    baseline, peak = json.loads(proc.stdout.strip().splitlines()[-1])
    if baseline is None or peak is None:
        return Memory(None, None)
    # peak >= baseline by construction (the model is resident while sampled); max() only
    # keeps a page of noise on a tiny model from breaking the contract (>= 0).
    return Memory(round(max(peak - baseline, 0) / MB, 2), round(peak / MB, 2))


if __name__ == "__main__":
    try:
        print(json.dumps(probe(MemorySpec(**json.loads(sys.argv[1])))))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
