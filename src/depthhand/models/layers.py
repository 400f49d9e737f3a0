"""Building blocks shared by the pose networks: conv + BN (+ ReLU), ResNet-v1 bottleneck, basic block, linear + BN.

Following CrossInfoNet's TF-slim layout, convolutions and linear layers carry no bias; a BatchNorm follows each
(PyTorch momentum 0.1 = TF decay 0.9, eps 1e-5).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BasicBlock", "Bottleneck", "ConvBN", "LinearBN", "init_xavier", "subsample"]


class ConvBN(nn.Sequential):
    """``k×k`` conv (no bias, symmetric zero padding ``k // 2``) → BN → optional ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, relu: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class LinearBN(nn.Sequential):
    """Linear (no bias) → BN1d → optional ReLU and dropout (drop probability ``dropout``)."""

    def __init__(self, c_in: int, c_out: int, relu: bool = True, dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out, eps=1e-5, momentum=0.1)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


def subsample(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Keep every ``stride``-th pixel (TF-slim's identity shortcut of a strided unit)."""
    return x if stride == 1 else x[:, :, ::stride, ::stride]


class Bottleneck(nn.Module):
    """ResNet-v1 bottleneck: 1×1 → 3×3 (stride) → 1×1 (linear), plus shortcut, then ReLU.

    The shortcut is a 1×1 conv + BN (stride ``stride``) when widths differ, else the subsampled identity.
    """

    def __init__(self, c_in: int, c_out: int, c_mid: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.conv1 = ConvBN(c_in, c_mid, 1)
        self.conv2 = ConvBN(c_mid, c_mid, 3, stride=stride)
        self.conv3 = ConvBN(c_mid, c_out, 1, relu=False)
        self.shortcut = ConvBN(c_in, c_out, 1, stride=stride, relu=False) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) → (B, c_out, H/s, W/s)."""
        short = subsample(x, self.stride) if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + short)


class BasicBlock(nn.Module):
    """Two 3×3 convs with BN (the second linear) plus a shortcut (1×1 conv + BN when the shape changes), ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBN(c_in, c_out, 3, stride=stride)
        self.conv2 = ConvBN(c_out, c_out, 3, relu=False)
        self.shortcut = (
            ConvBN(c_in, c_out, 1, stride=stride, relu=False) if (c_in != c_out or stride != 1) else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) → (B, c_out, H/s, W/s)."""
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


def init_xavier(module: nn.Module) -> None:
    """Xavier-uniform weights on every conv / linear layer (CrossInfoNet's released initialiser)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
