"""The fixed request set: real encoded JPEGs, the same bytes for every run and device.

Drawn with PIL from a seeded generator (no randomness PIL owns, such as effect_noise), in
camera-like sizes, so decode and resize cost what a real request costs.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from controller.experiment.errors import InvalidExperiment

SIZES = ((640, 480), (800, 600), (480, 360), (1024, 768), (320, 240))
MAX_IMAGES = 200


def request_images(n: int, seed: int = 0) -> list[bytes]:
    """`n` JPEGs (quality 90); image i depends only on (seed, i)."""
    if not 1 <= n <= MAX_IMAGES:
        raise InvalidExperiment(f"images must be 1..{MAX_IMAGES}, not {n}")
    rngs = [random.Random(seed * 1_000_003 + i) for i in range(n)]  # noqa: S311 - drawings
    return [_image(rng, SIZES[i % len(SIZES)]) for i, rng in enumerate(rngs)]


def _image(rng: random.Random, size: tuple[int, int]) -> bytes:
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(10, max(11, min(w, h) // 3))
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        box = (x - r, y - r, x + r, y + r)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()
