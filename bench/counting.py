"""Multiply-accumulates and FLOPs, counted by torch's own FlopCounterMode.

FlopCounterMode counts convolutions and matrix products (addmm/mm/bmm/SDPA) at 2 FLOPs per
multiply-add; BatchNorm, activations and pooling are not counted. So `macs` = FLOPs / 2 is
exactly torchvision's `_ops` metadata ("GFLOPS", really GMACs of conv + linear) and `flops`
is kept beside it, named, never mixed up. The model runs on the meta device: shapes only,
no arithmetic, so counting resnet152 at 224x224 takes well under a second.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

COUNTER = f"torch.utils.flop_counter.FlopCounterMode (torch {torch.__version__}; " \
          "conv + matmul, 2 FLOPs per MAC)"


@dataclass(frozen=True)
class Compute:
    macs: int
    flops: int
    counter: str = COUNTER


def count(model: nn.Module, input_size: int, batch: int = 1) -> Compute:
    """Per-batch MACs/FLOPs of one forward pass on a (batch, 3, size, size) input."""
    meta = copy.deepcopy(model).to("meta") if _on_real_device(model) else model
    x = torch.empty(batch, 3, input_size, input_size, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta(x)
    flops = int(counter.get_total_flops())
    return Compute(macs=flops // 2, flops=flops)


def _on_real_device(model: nn.Module) -> bool:
    return any(p.device.type != "meta" for p in model.parameters())
