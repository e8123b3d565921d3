"""The model zoo: names -> (architecture, card). Nothing is downloaded, ever.

`load(name, weights)` builds the architecture with random weights, or loads a local
state_dict file (torchvision's key names, so a user's torchvision .pth loads as is).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bench.errors import BenchError
from bench.zoo import densenet, efficientnet, mobilenet, resnet
from bench.zoo.card import ModelCard

RANDOM = "random"


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[[str], nn.Module]
    card: ModelCard
    upgrade: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None


ZOO: dict[str, ZooEntry] = {
    **{n: ZooEntry(resnet.build, c) for n, c in resnet.CARDS.items()},
    **{n: ZooEntry(mobilenet.build, c) for n, c in mobilenet.CARDS.items()},
    **{n: ZooEntry(efficientnet.build, c) for n, c in efficientnet.CARDS.items()},
    **{n: ZooEntry(densenet.build, c, densenet.upgrade_state_dict)
       for n, c in densenet.CARDS.items()},
}


def entry(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise BenchError(f"unknown model {name!r}; the zoo has: {', '.join(ZOO)}") from None


def card(name: str) -> ModelCard:
    return entry(name).card


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict, or a training checkpoint holding one under `state_dict`/`model`."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BenchError(f"weights file {path} does not exist") from None
    except Exception as exc:  # torch raises assorted types for a non-checkpoint file
        raise BenchError(f"weights file {path} is not a torch state_dict: {exc}") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise BenchError(f"weights file {path} holds no state_dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load(name: str, weights: Path | None = None) -> tuple[nn.Module, str]:
    """(model in eval mode, "random" or the weights file's sha256)."""
    e = entry(name)
    model = e.build(name)
    if weights is None:
        return model.eval(), RANDOM
    state = _read_state_dict(weights)
    if e.upgrade is not None:
        state = e.upgrade(state)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        first = str(exc).strip().splitlines()[-1].strip()
        raise BenchError(f"weights file {weights} does not fit {name}: {first}") from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing {len(result.missing_keys)} keys (e.g. {result.missing_keys[0]})")
    if result.unexpected_keys:
        problems.append(f"{len(result.unexpected_keys)} unexpected keys "
                        f"(e.g. {result.unexpected_keys[0]})")
    if problems:
        raise BenchError(f"weights file {weights} does not fit {name}: {'; '.join(problems)}")
    return model.eval(), sha256(weights)
