"""Runs the benchmark: for each model, each variant, batch size and thread count, one result
object (the JSON contract below, read by `edgefleet select` and the controller).

Per row, in order: prepare the variant; measure its peak memory in a fresh process
(bench.memory: RSS inside this long process depends on what ran before); warm up; time
`iterations` forward passes inside an energy window and a throttle watch; time the
end-to-end path (decode + preprocess + forward) for `e2e_iterations`; time `throughput_batch`
batches for throughput at a larger batch; optionally record a profiler trace. With `eval_dir`,
each prepared variant is scored once on that labelled directory (bench.accuracy) and its rows
carry the measured top-1/top-5 instead of the model card's. The model is
built and loaded before any clock starts (the old prototype timed SSH, hub download and
loading as "inference").
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agent.collectors.identity import oci_arch
from bench import zoo
from bench.accuracy import EvalSet, evaluate
from bench.counting import count
from bench.energy import EnergyMeter
from bench.errors import BenchError
from bench.memory import Memory, MemorySpec, measure
from bench.preprocess import Preprocess, synthetic_image
from bench.sampling import MB, CpuUse, gpu_peak_mb
from bench.stats import LatencyStats
from bench.throttle import ThrottleWatch
from bench.timing import run_timed
from bench.trace import export_trace
from bench.variants import default_variants, unsupported_reason, variant

# progress(what, done, total): the CLI draws it, the device runner ignores it.
Progress = Callable[[str, int, int], None]


@dataclass
class BenchConfig:
    models: list[str]
    iterations: int = 300
    warmup: int = 20
    batches: list[int] = field(default_factory=lambda: [1])
    threads: list[int] = field(default_factory=lambda: [min(2, os.cpu_count() or 1)])
    device: str = "cpu"
    variants: list[str] | None = None  # None: every variant the device supports
    weights: Path | None = None
    trace: Path | None = None
    e2e_iterations: int | None = None  # None: iterations // 3, at least 10
    throughput_batch: int = 8  # 0 disables the larger-batch throughput pass
    input_size: int | None = None  # override the card's (tests use 32)
    eval_dir: Path | None = None  # ImageFolder-style labelled images: measure accuracy
    eval_limit: int | None = None  # at most this many of them

    def validate(self) -> None:
        if not self.models:
            raise BenchError("name at least one model")
        for name in self.models:
            zoo.entry(name)
        if self.device not in ("cpu", "cuda"):
            raise BenchError(f"device must be cpu or cuda, not {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BenchError("--device cuda: torch sees no CUDA device here")
        if self.iterations < 1 or self.warmup < 0:
            raise BenchError("iterations must be >= 1 and warm-up >= 0")
        if any(b < 1 for b in self.batches) or any(t < 1 for t in self.threads):
            raise BenchError("batch sizes and thread counts must be >= 1")
        if self.weights is not None and len(self.models) != 1:
            raise BenchError("--weights belongs to one model: name exactly one")
        for v in self.variants or []:
            reason = unsupported_reason(v, self.device)
            if reason:
                raise BenchError(f"variant {v} on {self.device}: {reason}")
        if self.eval_limit is not None and (self.eval_dir is None or self.eval_limit < 1):
            raise BenchError("--eval-limit needs --eval-dir and must be >= 1")

    def variant_names(self) -> list[str]:
        return self.variants or default_variants(self.device)

    def rows(self) -> int:
        return len(self.models) * len(self.variant_names()) * len(self.batches) * len(self.threads)


def serialized_mb(model: nn.Module) -> float:
    """Size of the model's state_dict as torch.save writes it (what a device downloads)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell() / MB


def _context() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "arch": oci_arch(platform.machine()),
        "torch_version": torch.__version__,
    }


class Runner:
    def __init__(self, config: BenchConfig, progress: Progress | None = None,
                 energy: EnergyMeter | None = None, throttle_ctx=None) -> None:
        config.validate()
        self.config = config
        self._progress = progress or (lambda what, done, total: None)
        self._energy = energy
        self._throttle_ctx = throttle_ctx
        self._image = synthetic_image()
        self._eval = None if config.eval_dir is None else EvalSet.scan(config.eval_dir,
                                                                         config.eval_limit)
        self._done = 0

    def run(self) -> list[dict[str, Any]]:
        own_meter = self._energy is None
        energy = self._energy or EnergyMeter()
        try:
            rows = []
            for name in self.config.models:
                rows.extend(self._model_rows(name, energy))
            return rows
        finally:
            if own_meter:
                energy.close()

    def _model_rows(self, name: str, energy: EnergyMeter) -> list[dict[str, Any]]:
        cfg = self.config
        card = zoo.card(name)
        size = cfg.input_size or card.input_size
        gc.collect()
        base, weights = zoo.load(name, cfg.weights)
        compute = count(base, size)
        params = sum(p.numel() for p in base.parameters())
        rows = []
        for vname in cfg.variant_names():
            v = variant(vname, cfg.device)
            model = v.prepare(base).to(cfg.device)
            size_mb = serialized_mb(model)
            accuracy = self._accuracy(model, v.dtype, card, size, f"{name} {vname}", weights)
            for batch in cfg.batches:
                for threads in cfg.threads:
                    self._progress(f"{name} {vname} b{batch} t{threads}", self._done, cfg.rows())
                    torch.set_num_threads(threads)
                    row = {
                        "model": name, "variant": vname, "batch": batch, "threads": threads,
                        "device": cfg.device, "input_size": size, "params": params,
                        "size_mb": round(size_mb, 3), "macs": compute.macs * batch,
                        "flops": compute.flops * batch, "flops_counter": compute.counter,
                        **accuracy, "weights": weights,
                    }
                    mem = measure(MemorySpec(
                        name, vname, cfg.device, batch, threads, size,
                        None if cfg.weights is None else str(cfg.weights.resolve())))
                    row.update(self._measure(model, v.dtype, card, size, batch, energy,
                                             f"{name}/{vname}/b{batch}/t{threads}", mem))
                    row.update(_context())
                    row["timestamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                    # Filled by the controller from the device's zone (energy x intensity of
                    # the hour); the device itself never calls a carbon API.
                    row["carbon_g"] = None
                    rows.append(row)
                    self._done += 1
            del model
        self._progress("done", self._done, cfg.rows())
        return rows

    def _accuracy(self, model: nn.Module, dtype: torch.dtype, card, size: int, label: str,
                  weights: str) -> dict[str, Any]:
        """Measured on the eval directory when there is one, else the card's figures."""
        if self._eval is None:
            return {"accuracy_top1": card.top1, "accuracy_top5": card.top5,
                    "accuracy_source": card.accuracy_source + (
                        " (random weights used for timing)" if weights == zoo.RANDOM
                        else " (accuracy not measured on the loaded weights)"),
                    "accuracy_images": None}
        torch.set_num_threads(max(self.config.threads))
        return evaluate(model, self._eval, Preprocess(card, size), self.config.device, dtype,
                        label, self._progress).fields()

    def _measure(self, model: nn.Module, dtype: torch.dtype, card, size: int, batch: int,
                 energy: EnergyMeter, key: str, mem: Memory) -> dict[str, Any]:
        cfg = self.config
        x = torch.randn(batch, 3, size, size).to(cfg.device, dtype)
        if cfg.device == "cuda":
            torch.cuda.reset_peak_memory_stats()

        def forward() -> object:
            return model(x)

        with torch.inference_mode():
            forward()  # first call outside everything: lazy init, allocator growth
            with ThrottleWatch(self._throttle_ctx) as watch, CpuUse() as cpu:
                for _ in range(cfg.warmup):
                    forward()
                energy.begin(key)
                samples = run_timed(forward, cfg.iterations, 0, cfg.device)
                e = energy.end(key, cfg.iterations)
            flags = watch.flagged(samples.starts, samples.durations_ms)
            e2e = self._e2e(model, dtype, card, size, batch)
            throughput = self._throughput(model, dtype, size, batch)
            trace = self._trace(model, x, key)
        stats = LatencyStats.of(samples.durations_ms)
        return {
            "iterations": cfg.iterations, "warmup": cfg.warmup,
            "latency_ms": stats.as_dict(),
            "e2e_latency_ms": e2e.as_dict(),
            "throughput_ips": round(batch * 1000.0 / stats.mean, 3),
            "throughput_by_batch": throughput,
            # Peak RSS growth of a fresh process that loads this model variant and runs it
            # at this batch (bench.memory); rss_peak_mb is that process's absolute peak.
            "peak_memory_mb": mem.peak_mb,
            "rss_peak_mb": mem.rss_peak_mb,
            "gpu_memory_mb": gpu_peak_mb(cfg.device),
            "cpu_util": round(cpu.percent, 1),
            "energy_j": None if e.per_inference_j is None else round(e.per_inference_j, 6),
            "energy_source": e.source,
            "energy_estimated": e.estimated,
            "throttled": any(flags),
            "throttled_samples": sum(flags),
            "throttle_source": watch.source,
            "trace": trace,
        }

    def _e2e(self, model: nn.Module, dtype: torch.dtype, card, size: int,
             batch: int) -> LatencyStats:
        """Decode + resize + crop + normalise `batch` images, then the forward pass."""
        cfg = self.config
        prep = Preprocess(card, size)
        n = cfg.e2e_iterations or max(10, cfg.iterations // 3)

        def step() -> object:
            x = torch.stack([prep(self._image) for _ in range(batch)])
            return model(x.to(cfg.device, dtype))

        return LatencyStats.of(run_timed(step, n, min(cfg.warmup, 5), cfg.device).durations_ms)

    def _throughput(self, model: nn.Module, dtype: torch.dtype, size: int,
                    batch: int) -> dict[str, float]:
        """Images/s at the row's batch and at the larger `throughput_batch`."""
        cfg = self.config
        out: dict[str, float] = {}
        big = cfg.throughput_batch
        if big > batch:
            x = torch.randn(big, 3, size, size).to(cfg.device, dtype)
            n = max(3, cfg.iterations // 20)
            s = run_timed(lambda: model(x), n, 1, cfg.device)
            out[str(big)] = round(big * n / s.wall_s, 3)
        return out

    def _trace(self, model: nn.Module, x: torch.Tensor, key: str) -> str | None:
        if self.config.trace is None:
            return None
        path = self.config.trace
        if self.config.rows() > 1:
            path = path.with_name(f"{path.stem}.{key.replace('/', '.')}{path.suffix}")
        export_trace(lambda: model(x), path, self.config.device)
        return str(path)
