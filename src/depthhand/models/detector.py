"""A tiny CenterNet-style hand detector for downscaled depth images (torch; training and export only).

Idea from Zhou et al. 2019, "Objects as Points" (centre heat map + size + offset heads); re-implemented, small
enough for the CPU (about 0.13 M parameters at 160×120 input). The runtime uses the ONNX export through
:mod:`depthhand.detect.cnn`; output conventions are documented in :mod:`depthhand.detect.cnn_decode`.

Graph: stride-2 stem (16) → stride-4 stage (32, two convs) → stride-8 stage (64, three 3×3 convs with dilation
1, 2, 4 for a large receptive field) → upsample ×2, add the projected stride-4 skip → 3×3 conv (32) → 1×1 heads.
Batch norm after every conv except the heads; ReLU activations.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["HandDetectorNet", "build_detector"]

OUTPUT_NAMES = ("heat", "right", "offset", "ltrb")


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class HandDetectorNet(nn.Module):
    """Centre heat map, handedness, offset and box-edge heads on a stride-4 grid.

    Input: (B, 2, H, W) normalised depth (see :func:`depthhand.detect.cnn_decode.normalize_depth`), H and W
    multiples of 8. Outputs (grid Hg = H/4, Wg = W/4): ``heat`` (B, 1, Hg, Wg) probability, ``right`` (B, 1, Hg,
    Wg) probability, ``offset`` (B, 2, Hg, Wg) in [0, 1] cells, ``ltrb`` (B, 4, Hg, Wg) log edge distances in input
    pixels. ``forward`` returns logits for training (``probabilities=False``) or the exported form.
    """

    def __init__(self, width: int = 32, in_channels: int = 2) -> None:
        super().__init__()
        w = width
        self.stem = _conv(in_channels, w // 2, 2)
        self.s4 = nn.Sequential(_conv(w // 2, w, 2), _conv(w, w))
        self.s8 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w, 1, 2), _conv(2 * w, 2 * w, 1, 4))
        self.lateral = nn.Conv2d(w, 2 * w, 1)
        self.fuse = _conv(2 * w, w)
        c = w
        self.heat = nn.Conv2d(c, 1, 1)
        self.right = nn.Conv2d(c, 1, 1)
        self.offset = nn.Conv2d(c, 2, 1)
        self.ltrb = nn.Conv2d(c, 4, 1)
        with torch.no_grad():
            self.heat.bias.fill_(-2.19)  # type: ignore[union-attr]  # prior probability 0.1 (CenterNet)
            self.ltrb.bias.fill_(2.5)  # type: ignore[union-attr]  # e^2.5 ≈ 12 input pixels

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) → (B, w, H/4, W/4) features."""
        f4 = self.s4(self.stem(x))
        f8 = self.s8(f4)
        up = F.interpolate(f8, scale_factor=2.0, mode="nearest")
        out: torch.Tensor = self.fuse(up + self.lateral(f4))
        return out

    def forward(self, x: torch.Tensor, probabilities: bool = False) -> dict[str, torch.Tensor]:
        """Heads on the features; logits for ``heat``/``right``/``offset`` unless ``probabilities``."""
        f = self.forward_features(x)
        out = {"heat": self.heat(f), "right": self.right(f), "offset": self.offset(f), "ltrb": self.ltrb(f)}
        if probabilities:
            out = {
                "heat": torch.sigmoid(out["heat"]),
                "right": torch.sigmoid(out["right"]),
                "offset": torch.sigmoid(out["offset"]),
                "ltrb": out["ltrb"],
            }
        return out


class ExportWrapper(nn.Module):
    """Positional outputs (heat, right, offset, ltrb) as probabilities, for ONNX export."""

    def __init__(self, net: HandDetectorNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 2, H, W) → the four output maps."""
        out = self.net(x, probabilities=True)
        return out["heat"], out["right"], out["offset"], out["ltrb"]


def build_detector(width: int = 32, in_channels: int = 2) -> HandDetectorNet:
    """The detector network (``width`` = channels at stride 4; 32 gives about 0.13 M parameters).

    Example:
        >>> net = build_detector()
        >>> net(torch.zeros(1, 2, 120, 160))["heat"].shape
        torch.Size([1, 1, 30, 40])
    """
    if width < 4 or width % 2:
        raise ValueError(f"width must be an even number ≥ 4, got {width}")
    return HandDetectorNet(width=width, in_channels=in_channels)
