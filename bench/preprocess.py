"""End-to-end input path: an encoded image -> decode -> resize -> centre crop -> normalise.

The test image is generated here (smooth gradients plus noise, so JPEG has real work to do);
nothing is downloaded. The transform is torchvision's ImageNet eval preset written with
Pillow and torch: resize the shorter side to `resize_size` with the card's interpolation,
crop `input_size`, scale to [0, 1], subtract the mean and divide by the std.
"""

from __future__ import annotations

import io

import torch
from PIL import Image

from bench.zoo.card import IMAGENET_MEAN, IMAGENET_STD, ModelCard

_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def synthetic_image(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    """A camera-sized photo-like test image, encoded (JPEG quality 90, or PNG)."""
    img = Image.linear_gradient("L").resize((width, height))
    rgb = Image.merge("RGB", (img, img.rotate(90).resize((width, height)),
                              Image.effect_noise((width, height), 40)))
    out = io.BytesIO()
    rgb.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


class Preprocess:
    """Callable: encoded image bytes -> normalised (3, crop, crop) float tensor."""

    def __init__(self, card: ModelCard, input_size: int | None = None) -> None:
        self.crop = input_size or card.input_size
        self.resize = round(self.crop * card.resize_size / card.input_size)
        self.filter = _FILTERS[card.interpolation]
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __call__(self, data: bytes) -> torch.Tensor:
        return self.transform(Image.open(io.BytesIO(data)).convert("RGB"))

    def transform(self, img: Image.Image) -> torch.Tensor:
        """The stage after decoding (a server times the two apart)."""
        w, h = img.size
        scale = self.resize / min(w, h)
        img = img.resize((max(self.resize, round(w * scale)), max(self.resize, round(h * scale))),
                         self.filter)
        w, h = img.size
        left, top = (w - self.crop) // 2, (h - self.crop) // 2
        img = img.crop((left, top, left + self.crop, top + self.crop))
        pixels = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        x = pixels.view(self.crop, self.crop, 3).permute(2, 0, 1).float().div_(255.0)
        return (x - self.mean) / self.std
