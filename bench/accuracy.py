"""Measured accuracy: top-1 and top-5 of the exact variant being benchmarked, on a labelled
image directory (`--eval-dir`), so a row's accuracy can come from these weights, not a card.

The directory is ImageFolder-style (torchvision's layout, the one imagenet-mini ships): one
sub-directory per class, class index = position among the sorted class names (sorted ImageNet
wnids are ImageNet's indices), JPEG/PNG files inside. Scores are over the K classes the
directory names: outputs K.. of a 1000-way head are ignored, so a 4-class set is a 4-way
problem (chance 25 %, and top-5 is 100 % by definition when K <= 5) and the full 1000-class
set gives the usual ImageNet figures. Every image goes through bench.preprocess.Preprocess at
the row's input size and is cast to the variant's dtype, as on the e2e path, so what is scored
is what is timed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from bench.errors import BenchError
from bench.preprocess import Preprocess

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
EVAL_BATCH = 32  # images per forward pass: accuracy does not depend on the row's batch


@dataclass(frozen=True)
class EvalSet:
    """The labelled images of one directory, listed (not decoded) up front so bad input is
    refused before minutes of timing."""

    root: Path
    classes: tuple[str, ...]
    samples: tuple[tuple[Path, int], ...]  # (file, class index)

    @classmethod
    def scan(cls, root: Path, limit: int | None = None) -> EvalSet:
        """List `root`; with `limit`, the first `limit` images taking one per class in turn
        (sorted classes, sorted files), so a capped run is deterministic and still covers
        every class instead of only the first ones."""
        if not root.is_dir():
            raise BenchError(f"--eval-dir {root}: no such directory")
        classes = sorted(p.name for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith("."))
        if not classes:
            raise BenchError(f"--eval-dir {root}: no labels (expected one sub-directory "
                             f"of images per class)")
        per_class = []
        for label, name in enumerate(classes):
            files = sorted(p for p in (root / name).iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise BenchError(f"--eval-dir {root}: class {name!r} has no images "
                                 f"({', '.join(IMAGE_SUFFIXES)})")
            per_class.append([(f, label) for f in files])
        samples = [s for turn in itertools.zip_longest(*per_class) for s in turn if s]
        return cls(root, tuple(classes), tuple(samples[:limit]))

    @property
    def name(self) -> str:
        return self.root.resolve().name


@dataclass(frozen=True)
class Accuracy:
    top1: float  # percent
    top5: float  # percent
    images: int
    source: str

    def fields(self) -> dict[str, Any]:
        """The result row's accuracy fields (controller/benchmarks/schema.py)."""
        return {"accuracy_top1": self.top1, "accuracy_top5": self.top5,
                "accuracy_source": self.source, "accuracy_images": self.images}


def _decode(prep: Preprocess, path: Path) -> torch.Tensor:
    try:
        return prep(path.read_bytes())
    except UnidentifiedImageError:
        raise BenchError(f"--eval-dir image {path}: not a JPEG or PNG image") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"--eval-dir image {path}: unreadable ({reason})") from None


def evaluate(model: nn.Module, data: EvalSet, prep: Preprocess, device: str,
             dtype: torch.dtype, label: str,
             progress: Callable[[str, int, int], None]) -> Accuracy:
    """Top-1/top-5 (percent) of `model` as it is, over `data`; `label` names the model and
    variant in progress and errors."""
    k, n = len(data.classes), len(data.samples)
    hits1 = hits5 = 0
    with torch.inference_mode():
        for start in range(0, n, EVAL_BATCH):
            progress(f"eval {label}", start, n)
            chunk = data.samples[start:start + EVAL_BATCH]
            x = torch.stack([_decode(prep, path) for path, _ in chunk]).to(device, dtype)
            logits = model(x).float()
            if logits.shape[-1] < k:
                raise BenchError(f"--eval-dir {data.name} has {k} classes but {label} outputs "
                                 f"only {logits.shape[-1]}")
            labels = torch.tensor([c for _, c in chunk], device=logits.device)
            hit = logits[:, :k].topk(min(5, k), dim=1).indices == labels[:, None]
            hits1 += int(hit[:, 0].sum())
            hits5 += int(hit.any(dim=1).sum())
    progress(f"eval {label}", n, n)
    return Accuracy(round(100.0 * hits1 / n, 3), round(100.0 * hits5 / n, 3), n,
                    f"measured: {data.name}, {n} images, {k} classes")
