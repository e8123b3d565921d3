"""MobileNetV2 (width 1.0), torchvision's layout and key names."""

from __future__ import annotations

import torch
from torch import nn

from bench.zoo.card import ModelCard
from bench.zoo.layers import ConvNormAct, init_weights, make_divisible

# expansion t, channels c, repeats n, first stride s (Sandler et al., Table 2)
_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
            [6, 160, 3, 2], [6, 320, 1, 1]]


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = round(cin * expand)
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvNormAct(cin, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvNormAct(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        cin, last = make_divisible(32), make_divisible(1280)
        features: list[nn.Module] = [ConvNormAct(3, cin, 3, 2, activation=nn.ReLU6)]
        for t, c, n, s in _SETTING:
            cout = make_divisible(c)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvNormAct(cin, last, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def build(name: str) -> MobileNetV2:
    return MobileNetV2()


CARDS = {
    "mobilenet_v2": ModelCard("mobilenet_v2", "mobilenet", 224, 256, "bilinear", 3_504_872,
                              0.301, "torchvision MobileNet_V2_Weights.IMAGENET1K_V1",
                              71.878, 90.286, 13.555),
}
