"""A zoo model packaged for the runtime image: the model.json its server reads, and weights.

Checked here, on the controller, before anything is pushed: the zoo must know the model,
the variant must exist, and given weights must load strictly into the architecture. A model
image without weights runs its architecture with seeded random weights (the latency is
real, the accuracy is not: the manifest says so). The schema is the one `serving` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import ControllerError

MANIFEST = "model.json"
MANIFEST_ENV = "EDGEFLEET_MODEL_MANIFEST"
SCHEMA = 1
TASK = "image-classification"  # every zoo model is an ImageNet classifier
MIN_INPUT, MAX_INPUT = 16, 1024


class BadModel(ControllerError):
    """The model, variant or weights cannot make a servable image (nothing was pushed)."""

    http_status = 422


@dataclass(frozen=True)
class ModelPackage:
    manifest: dict[str, Any]
    weights: Path | None

    def files(self) -> dict[str, bytes]:
        return {MANIFEST: json.dumps(self.manifest, indent=1, sort_keys=True).encode()}

    def env(self, model_dir: str) -> dict[str, str]:
        return {MANIFEST_ENV: f"{model_dir}/{MANIFEST}"}


def package(task: str, model: str, version: str, weights: Path | None = None,
            variant: str = "fp32", input_size: int | None = None) -> ModelPackage:
    """Validate and describe one servable model (imports torch: the `bench` extra)."""
    from bench import variants, zoo
    from bench.errors import BenchError

    if task != TASK:
        raise BadModel(f"zoo models are {TASK} models, not {task!r}")
    try:
        card = zoo.card(model)
        # Only given weights need the architecture built: to prove they load strictly.
        weights_sha = zoo.load(model, weights)[1] if weights is not None else zoo.RANDOM
    except BenchError as exc:
        raise BadModel(str(exc)) from None
    if variant not in variants.ALL:
        raise BadModel(f"unknown variant {variant!r} (choose from {', '.join(variants.ALL)})")
    size = input_size or card.input_size
    if not MIN_INPUT <= size <= MAX_INPUT:
        raise BadModel(f"input size {size} out of range [{MIN_INPUT}, {MAX_INPUT}]")
    caveat = ("the image runs random weights" if weights is None else
              "of the reference weights; measure these with edgefleet bench --eval-dir")
    source = f"{card.accuracy_source} ({caveat})"
    manifest = {
        "schema": SCHEMA, "task": task, "model": model, "version": version,
        "variant": variant, "input_size": size,
        "weights": weights.name if weights is not None else None, "seed": 0,
        "weights_sha256": weights_sha,
        "accuracy": {"top1": card.top1, "top5": card.top5, "source": source},
    }
    return ModelPackage(manifest, weights)
