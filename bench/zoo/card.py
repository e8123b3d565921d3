"""Model cards: the static facts of each zoo model, published ones labelled as such.

Accuracy is what the named reference weights score on ImageNet-1K val (torchvision's weight
metadata): the harness runs random weights unless the user gives a file, so a card is where
accuracy comes from and every report names it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCard:
    name: str
    family: str
    input_size: int  # square crop fed to the network
    resize_size: int  # shorter side resized to this before the centre crop
    interpolation: str  # "bilinear" | "bicubic" (Pillow filter of the reference transform)
    params: int  # exact parameter count of the architecture (= torchvision's)
    published_gmacs: float  # torchvision's `_ops` metadata: conv + linear multiply-adds, G
    reference_weights: str  # which weights the accuracy belongs to
    top1: float  # percent
    top5: float  # percent
    weights_file_mb: float  # size of the reference .pth (MiB), for comparison with size_mb

    @property
    def accuracy_source(self) -> str:
        return f"model card: {self.reference_weights}"


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
