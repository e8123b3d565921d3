"""EfficientNet-B0, torchvision's layout and key names (MBConv with squeeze-excitation)."""

from __future__ import annotations

import torch
from torch import nn

from bench.zoo.card import ModelCard
from bench.zoo.layers import ConvNormAct, SqueezeExcitation, init_weights, stochastic_depth

# expand ratio, kernel, stride, in, out, repeats (Tan & Le, Table 1; width = depth = 1.0)
_B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
       (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]
STOCHASTIC_DEPTH = 0.2


class MBConv(nn.Module):
    def __init__(self, expand: int, kernel: int, stride: int, cin: int, cout: int,
                 sd_prob: float) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        hidden = cin * expand
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvNormAct(cin, hidden, 1, activation=nn.SiLU))
        layers += [
            ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, activation=nn.SiLU),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            ConvNormAct(hidden, cout, 1, activation=None),
        ]
        self.block = nn.Sequential(*layers)
        self.sd_prob = sd_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = stochastic_depth(out, self.sd_prob, self.training) + x
        return out


class EfficientNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features: list[nn.Module] = [ConvNormAct(3, 32, 3, 2, activation=nn.SiLU)]
        total = sum(r for *_, r in _B0)
        block_id = 0
        for expand, kernel, stride, cin, cout, repeats in _B0:
            stage = []
            for i in range(repeats):
                sd = STOCHASTIC_DEPTH * block_id / total
                stage.append(MBConv(expand, kernel, stride if i == 0 else 1,
                                    cin if i == 0 else cout, cout, sd))
                block_id += 1
            features.append(nn.Sequential(*stage))
        features.append(ConvNormAct(320, 1280, 1, activation=nn.SiLU))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(1280, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def build(name: str) -> EfficientNet:
    return EfficientNet()


CARDS = {
    # The reference transform resizes to 256 with bicubic interpolation, then crops 224.
    "efficientnet_b0": ModelCard("efficientnet_b0", "efficientnet", 224, 256, "bicubic",
                                 5_288_548, 0.386,
                                 "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1",
                                 77.692, 93.532, 20.451),
}
