"""ResNet 18/34/50/101/152, torchvision's v1.5 layout (stride 2 on the 3x3 conv of the first
bottleneck of a stage, not on the 1x1), so parameter names, counts and MACs equal
torchvision.models.resnet* and its IMAGENET1K_V1 state_dicts load unchanged."""

from __future__ import annotations

import torch
from torch import nn

from bench.zoo.card import ModelCard
from bench.zoo.layers import init_weights


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def _conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)  # v1.5: the stride sits here
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int],
                 num_classes: int = 1000) -> None:
        super().__init__()
        self._cin = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(block, 64, layers[0], 1)
        self.layer2 = self._stage(block, 128, layers[1], 2)
        self.layer3 = self._stage(block, 256, layers[2], 2)
        self.layer4 = self._stage(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_weights(self)

    def _stage(self, block: type[BasicBlock | Bottleneck], width: int, blocks: int,
               stride: int) -> nn.Sequential:
        out = width * block.expansion
        downsample = None
        if stride != 1 or self._cin != out:
            downsample = nn.Sequential(_conv1x1(self._cin, out, stride), nn.BatchNorm2d(out))
        layers = [block(self._cin, width, stride, downsample)]
        self._cin = out
        layers += [block(out, width, 1, None) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


_LAYOUT = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
    "resnet152": (Bottleneck, [3, 8, 36, 3]),
}


def build(name: str) -> ResNet:
    block, layers = _LAYOUT[name]
    return ResNet(block, layers)


def _card(name: str, weights: str, params: int, gmacs: float, top1: float, top5: float,
          file_mb: float) -> ModelCard:
    return ModelCard(name, "resnet", 224, 256, "bilinear", params, gmacs,
                     f"torchvision {weights}.IMAGENET1K_V1", top1, top5, file_mb)


CARDS = {
    c.name: c
    for c in (
        _card("resnet18", "ResNet18_Weights", 11_689_512, 1.814, 69.758, 89.078, 44.661),
        _card("resnet34", "ResNet34_Weights", 21_797_672, 3.664, 73.314, 91.420, 83.275),
        _card("resnet50", "ResNet50_Weights", 25_557_032, 4.089, 76.130, 92.862, 97.781),
        _card("resnet101", "ResNet101_Weights", 44_549_160, 7.801, 77.374, 93.546, 170.511),
        _card("resnet152", "ResNet152_Weights", 60_192_808, 11.514, 78.312, 94.046, 230.434),
    )
}
