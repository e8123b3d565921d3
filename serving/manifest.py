"""The model layer's model.json: read and validated before anything is built.

The lead's `registry build` writes it; a model image that carries a wrong one must fail at
start with one line naming the field, not serve something else. The schema is exact: a
missing or unknown key is an error, so a newer schema is never half-understood.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import zoo
from bench.errors import BenchError
from bench.variants import ALL as VARIANTS

SCHEMA = 1
TASK = "image-classification"
MIN_INPUT_SIZE = 32  # below this the zoo's downsampling stages run out of pixels
MAX_MANIFEST_BYTES = 64 * 1024
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"schema", "task", "model", "version", "variant", "input_size", "weights", "seed",
         "weights_sha256", "accuracy"}
_ACCURACY_KEYS = {"top1", "top5", "source"}


class ManifestError(BenchError):
    """model.json cannot be served as it is; the message names the field."""


@dataclass(frozen=True)
class Accuracy:
    top1: float
    top5: float
    source: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    model: str
    version: str
    variant: str
    input_size: int
    weights: Path | None  # resolved next to model.json; None: random weights
    seed: int
    weights_sha256: str  # hex, or zoo.RANDOM
    accuracy: Accuracy | None

    def describe(self) -> dict[str, Any]:
        """What /healthz says about the model being served."""
        return {"model": self.model, "version": self.version, "variant": self.variant,
                "input_size": self.input_size, "weights_sha256": self.weights_sha256,
                "accuracy": None if self.accuracy is None else {
                    "top1": self.accuracy.top1, "top5": self.accuracy.top5,
                    "source": self.accuracy.source}}


def _int(body: dict[str, Any], key: str, low: int, high: int) -> int:
    v = body[key]
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ManifestError(f"{key} must be an integer in [{low}, {high}], not {v!r}")
    return v


def _percent(body: dict[str, Any], key: str) -> float:
    v = body[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not (
            math.isfinite(v) and 0.0 <= v <= 100.0):
        raise ManifestError(f"accuracy.{key} must be a percentage in [0, 100], not {v!r}")
    return float(v)


def _exact_keys(body: object, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ManifestError(f"{where} must be a JSON object")
    missing, unknown = sorted(keys - body.keys()), sorted(body.keys() - keys)
    if missing or unknown:
        raise ManifestError(f"{where}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unknown {', '.join(unknown)}"] if unknown else [])))
    return body


def _accuracy(value: object) -> Accuracy | None:
    if value is None:
        return None
    body = _exact_keys(value, _ACCURACY_KEYS, "accuracy")
    source = body["source"]
    if not isinstance(source, str) or not source.strip():
        raise ManifestError("accuracy.source must be a non-empty string")
    return Accuracy(_percent(body, "top1"), _percent(body, "top5"), source)


def _weights(path: Path, body: dict[str, Any]) -> tuple[Path | None, str]:
    name, digest = body["weights"], body["weights_sha256"]
    if name is None:
        if digest != zoo.RANDOM:
            raise ManifestError(f'weights is null, so weights_sha256 must be "{zoo.RANDOM}"')
        return None, digest
    if (not isinstance(name, str) or not name or name in (".", "..")
            or "/" in name or "\\" in name):
        raise ManifestError(f"weights must be a file name next to model.json, not {name!r}")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ManifestError("weights_sha256 must be the weights file's sha256 (64 lowercase hex)")
    return path.parent / name, digest


def parse(path: Path, body: object) -> Manifest:
    """A decoded model.json -> Manifest, or ManifestError naming the first bad field."""
    body = _exact_keys(body, _KEYS, str(path))
    if body["schema"] != SCHEMA or isinstance(body["schema"], bool):
        raise ManifestError(f"schema {body['schema']!r} is not supported (this runtime reads "
                            f"schema {SCHEMA})")
    if body["task"] != TASK:
        raise ManifestError(f"task {body['task']!r} is not served (only {TASK})")
    model = body["model"]
    if not isinstance(model, str):
        raise ManifestError(f"model must be a zoo name, not {model!r}")
    try:
        card = zoo.card(model)
    except BenchError as exc:  # the zoo's own words, naming the models it has
        raise ManifestError(str(exc)) from None
    version = body["version"]
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ManifestError(f"version must match {_VERSION.pattern}, not {version!r}")
    if body["variant"] not in VARIANTS:
        raise ManifestError(f"variant {body['variant']!r} is unknown "
                            f"(choose from {', '.join(VARIANTS)})")
    weights, digest = _weights(path, body)
    return Manifest(path=path, model=model, version=version, variant=body["variant"],
                    input_size=_int(body, "input_size", MIN_INPUT_SIZE, card.input_size),
                    weights=weights, seed=_int(body, "seed", 0, 2**63 - 1),
                    weights_sha256=digest, accuracy=_accuracy(body["accuracy"]))


def load(path: Path) -> Manifest:
    """Read and validate model.json at `path`."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest {path} is over {MAX_MANIFEST_BYTES} bytes")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"manifest {path} is not JSON: {exc}") from None
    return parse(path, body)
