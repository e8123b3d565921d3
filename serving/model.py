"""The served model: built from the manifest with bench/, and one prediction with its timings.

The zoo builds (or loads) the network, bench.variants prepares the variant, bench.preprocess
gives the input path. A prediction is timed in four consecutive parts on this device,
decode -> preprocess -> forward -> postprocess, so they add up to `total` exactly; on CUDA
the forward part ends after a synchronize, so it is the kernels and not their launch.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError

from bench import zoo
from bench.errors import BenchError
from bench.preprocess import Preprocess, synthetic_image
from bench.timing import synchronizer
from bench.variants import variant
from serving.manifest import Manifest

FORMATS = ("JPEG", "PNG")
# 50 MP: above any edge camera; a PNG of flat colour can claim far more in a few KiB.
MAX_PIXELS = 50_000_000
TOP_K = 5


class ImageError(ValueError):
    """The request's body is not an image this model can take (the client's fault)."""


def device_for(variant_name: str) -> str:
    """CUDA when torch sees one, except for the CPU-only dynamic int8 variant."""
    if variant_name != "int8-dynamic" and torch.cuda.is_available():
        return "cuda"
    return "cpu"


class _Stages(Preprocess):
    """bench's Preprocess with a checked decode (a server's body is untrusted input), so
    decode and transform are timed apart."""

    def decode(self, data: bytes) -> Image.Image:
        try:
            img = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise ImageError(f"body is not a {' or '.join(FORMATS)} image") from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageError(f"image header cannot be read: {exc}") from None
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"image of {w}x{h} pixels is over {MAX_PIXELS} pixels")
        try:
            return img.convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
            raise ImageError(f"{img.format} image cannot be decoded: {exc}") from None


@dataclass(frozen=True)
class Prediction:
    top: list[tuple[int, float]]  # (class index, softmax probability), best first
    latency_ms: dict[str, float]  # decode, preprocess, forward, postprocess, total

    @property
    def total_s(self) -> float:
        return self.latency_ms["total"] / 1000.0


class Model:
    """The manifest's model, built and warmed up (one prediction) by the constructor."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.device = device_for(manifest.variant)
        v = variant(manifest.variant, self.device)  # BenchError: the device cannot run it
        torch.manual_seed(manifest.seed)  # random weights are the same in every process
        base, digest = zoo.load(manifest.model, manifest.weights)
        if digest != manifest.weights_sha256:
            raise BenchError(f"weights file {manifest.weights} has sha256 {digest}, the "
                             f"manifest says {manifest.weights_sha256}")
        self._net = v.prepare(base).to(self.device)
        self._dtype = v.dtype
        self._stages = _Stages(zoo.card(manifest.model), manifest.input_size)
        self._sync = synchronizer(self.device)
        self.predict(synthetic_image())  # warm-up: lazy init and allocator growth, untimed

    def predict(self, data: bytes) -> Prediction:
        """One encoded image -> top-5 classes and the four timed parts (ImageError: bad body)."""
        clock = time.perf_counter
        t0 = clock()
        img = self._stages.decode(data)
        t1 = clock()
        x = self._stages.transform(img).unsqueeze(0).to(self.device, self._dtype)
        t2 = clock()
        with torch.inference_mode():
            logits = self._net(x)
            self._sync()
            t3 = clock()
            probs = logits.float().softmax(dim=1)[0]
            scores, classes = probs.topk(min(TOP_K, probs.numel()))
            top = list(zip(classes.tolist(), scores.tolist(), strict=True))
        t4 = clock()
        ms = {"decode": t1 - t0, "preprocess": t2 - t1, "forward": t3 - t2,
              "postprocess": t4 - t3, "total": t4 - t0}
        return Prediction(top, {k: v * 1000.0 for k, v in ms.items()})

    def body(self, p: Prediction) -> dict[str, Any]:
        """The JSON answer to one prediction (HTTP and --once alike)."""
        m = self.manifest
        return {"model": m.model, "version": m.version, "variant": m.variant,
                "top": [{"class": c, "score": s} for c, s in p.top],
                "latency_ms": {k: round(v, 4) for k, v in p.latency_ms.items()}}
