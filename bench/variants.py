"""Size/speed variants of one model, each prepared from the fp32 original.

- fp32: the model as built.
- int8-dynamic: torch.ao.quantization.quantize_dynamic on nn.Linear (weights int8, activations
  quantised on the fly). Dynamic quantisation has no convolution kernels, so on a CNN only
  the classifier shrinks: the size column shows how little that buys here. CPU only.
- bf16: bfloat16 weights and inputs; on CPU only where oneDNN has native bf16 (AVX512-BF16 /
  AMX), elsewhere it would emulate and only mislead; on CUDA where the GPU supports it.
- fp16: half precision, CUDA only (CPU half kernels are reference code).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from bench.errors import BenchError

ALL = ("fp32", "int8-dynamic", "bf16", "fp16")


@dataclass(frozen=True)
class Variant:
    name: str
    dtype: torch.dtype  # of the input tensor
    prepare: Callable[[nn.Module], nn.Module]


def _int8_dynamic(model: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        # torch 2.13 announces the quantised tensor API's future removal on every call.
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear},
                                                      dtype=torch.qint8)


def _cast(dtype: torch.dtype) -> Callable[[nn.Module], nn.Module]:
    return lambda model: copy.deepcopy(model).to(dtype)


def unsupported_reason(name: str, device: str) -> str | None:
    """Why `name` cannot run on `device` here, or None when it can."""
    if name not in ALL:
        return f"unknown variant {name!r} (choose from {', '.join(ALL)})"
    if name == "int8-dynamic" and device != "cpu":
        return "dynamic int8 quantisation runs on CPU only"
    if name == "fp16" and device != "cuda":
        return "fp16 is benchmarked on CUDA only (CPU half kernels are not optimised)"
    if name == "bf16":
        if device == "cuda" and not torch.cuda.is_bf16_supported():
            return "this GPU has no bf16 support"
        if device == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return "this CPU has no native bf16 (AVX512-BF16/AMX)"
    return None


def default_variants(device: str) -> list[str]:
    """Every variant this device can run."""
    return [v for v in ALL if unsupported_reason(v, device) is None]


def variant(name: str, device: str) -> Variant:
    reason = unsupported_reason(name, device)
    if reason is not None:
        raise BenchError(f"variant {name} on {device}: {reason}")
    if name == "int8-dynamic":
        return Variant(name, torch.float32, _int8_dynamic)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
    return Variant(name, dtype, _cast(dtype))
