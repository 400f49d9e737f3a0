"""CrossInfoNet: multi-task information sharing for depth-based hand pose estimation.

Du, Lin, Shen, Wang — "CrossInfoNet: Multi-Task Information Sharing Based Hand Pose Estimation", CVPR 2019.
Re-implemented in PyTorch from the paper and the architecture description in
``shared/reference/crossinfonet.md`` (§3): a thin ResNet-50 layout (3-4-6-3 bottlenecks, widths 64/128/256/256)
with a 256-channel FPN, a 24×24 heat-map head, palm and finger branches joined by the cross-connection
(palm sees ``T − F0``, finger sees ``T − P0``), two FC 1024 layers per branch and three linear + BN outputs.
No code was copied from the original (TensorFlow 1, GPL loaders).

Output ``joints`` is ``(xyz − centre)/(cube/2)`` in camera mm ("xyz_crop").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from depthhand.models.layers import Bottleneck, ConvBN, LinearBN, init_xavier
from depthhand.models.losses import crossinfonet_loss
from depthhand.models.registry import ModelCfg, register_model

__all__ = ["CrossInfoNet", "crossinfonet_icvl16", "crossinfonet_msra21", "crossinfonet_nyu14"]


def _stage(c_in: int, c_out: int, n: int) -> nn.Sequential:
    """``n`` bottlenecks of width ``c_out`` (mid ``c_out / 4``); the last unit has stride 2."""
    units = [Bottleneck(c_in if i == 0 else c_out, c_out, c_out // 4, stride=2 if i == n - 1 else 1) for i in range(n)]
    return nn.Sequential(*units)


class _HeatmapBranch(nn.Sequential):
    """1×1 conv 256 (+ReLU) → 3×3 conv to ``joints`` maps (linear)."""

    def __init__(self, joints: int, width: int = 256) -> None:
        super().__init__(ConvBN(width, width, 1), ConvBN(width, joints, 3, relu=False))


class _FcStack(nn.Sequential):
    """Flatten → FC 1024 → dropout → FC 1024 → dropout."""

    def __init__(self, c_in: int, width: int = 1024, dropout: float = 0.4) -> None:
        super().__init__(nn.Flatten(), LinearBN(c_in, width, dropout=dropout), LinearBN(width, width, dropout=dropout))


class CrossInfoNet(nn.Module):
    """CrossInfoNet for a joint set with palm/finger groups.

    Args:
        cfg: Model configuration (joint set, input size, cube).
        palm: Joint indices of the palm branch.
        finger: Joint indices of the finger branch.
        dropout: Drop probability after each FC 1024 (the original keeps 0.6).
    """

    def __init__(self, cfg: ModelCfg, palm: tuple[int, ...], finger: tuple[int, ...], dropout: float = 0.4) -> None:
        super().__init__()
        if cfg.input_size % 32:
            raise ValueError(f"CrossInfoNet needs an input size divisible by 32, got {cfg.input_size}")
        self.cfg = cfg
        self.palm, self.finger = tuple(palm), tuple(finger)
        self.num_joints = len(self.palm) + len(self.finger)
        width = 256
        self.stem = ConvBN(1, 32, 5, stride=2)
        self.c1, self.c2 = _stage(32, 64, 3), _stage(64, 128, 4)
        self.c3, self.c4 = _stage(128, 256, 6), _stage(256, 256, 3)
        self.lateral = nn.ModuleList(ConvBN(c, width, 1) for c in (64, 128, 256, 256))
        self.top_down = nn.ModuleList(ConvBN(width, width, 1, relu=False) for _ in range(3))
        self.hm_all = nn.Sequential(Bottleneck(width, width, 128), ConvBN(width, self.num_joints, 3, relu=False))
        self.palm_trunk = Bottleneck(width, width, 128)
        self.finger_trunk = Bottleneck(width, width, 128)
        self.hm_palm = _HeatmapBranch(len(self.palm))
        self.hm_finger = _HeatmapBranch(len(self.finger))
        self.palm_refine = Bottleneck(2 * width, width, 128)
        self.finger_refine = Bottleneck(2 * width, width, 128)
        flat = width * (cfg.input_size // 16) ** 2
        self.palm_fc = _FcStack(flat, dropout=dropout)
        self.finger_fc = _FcStack(flat, dropout=dropout)
        self.out_palm = LinearBN(1024, 3 * len(self.palm), relu=False)
        self.out_finger = LinearBN(1024, 3 * len(self.finger), relu=False)
        self.out_hand = LinearBN(2048, 3 * self.num_joints, relu=False)
        init_xavier(self)

    def forward_features(self, patch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone + FPN: (B, 1, S, S) → P1 (B, 256, S/4, S/4) and P2 (B, 256, S/8, S/8)."""
        x = F.max_pool2d(self.stem(patch), 3, stride=1, padding=1)
        feats = []
        for stage in (self.c1, self.c2, self.c3, self.c4):
            x = stage(x)
            feats.append(x)
        p = self.lateral[3](feats[3])
        pyramid = [p]
        for k in (2, 1, 0):
            up = F.interpolate(p, size=feats[k].shape[-2:], mode="bilinear", align_corners=False)
            p = self.lateral[k](feats[k]) + self.top_down[k](up)
            pyramid.append(p)
        return pyramid[3], pyramid[2]

    def forward_head(self, p1: torch.Tensor, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """Heat maps, cross-connected palm/finger branches and the three regressions."""
        hm_size = p1.shape[-2:]
        p0, f0 = self.palm_trunk(t), self.finger_trunk(t)
        hm_palm = F.interpolate(self.hm_palm(p0), size=hm_size, mode="bilinear", align_corners=False)
        hm_finger = F.interpolate(self.hm_finger(f0), size=hm_size, mode="bilinear", align_corners=False)
        palm_in = torch.cat([p0, t - f0], dim=1)
        finger_in = torch.cat([f0, t - p0], dim=1)
        feat_palm = self.palm_fc(F.max_pool2d(self.palm_refine(palm_in), 2, 2))
        feat_finger = self.finger_fc(F.max_pool2d(self.finger_refine(finger_in), 2, 2))
        batch = p1.shape[0]
        hand = self.out_hand(torch.cat([feat_palm, feat_finger], dim=1))
        return {
            "joints": hand.view(batch, self.num_joints, 3),
            "hand": hand,
            "palm": self.out_palm(feat_palm).view(batch, len(self.palm), 3),
            "finger": self.out_finger(feat_finger).view(batch, len(self.finger), 3),
            "hm_all": self.hm_all(p1),
            "hm_palm": hm_palm,
            "hm_finger": hm_finger,
        }

    def forward(self, patch: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 1, S, S) normalised depth → dict of outputs; ``joints`` (B, J, 3) is the prediction (xyz_crop)."""
        p1, p2 = self.forward_features(patch)
        return self.forward_head(p1, p2)

    def loss(
        self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The paper's loss (α = 0.01, β = 1); ``targets`` needs ``joints_crop`` and ``heatmaps``."""
        return crossinfonet_loss(outputs, targets["joints_crop"], targets["heatmaps"], self.palm, self.finger)


def _create_crossinfonet(name: str, joint_set: str, cube_mm: float, input_size: int = 96) -> CrossInfoNet:
    from depthhand.skeleton import get_joint_set

    js = get_joint_set(joint_set)
    cfg = ModelCfg(name, js.name, input_size, cube_mm, output_space="xyz_crop", heatmaps=True)
    return CrossInfoNet(cfg, js.palm, js.finger)


@register_model("crossinfonet_nyu14")
def crossinfonet_nyu14(input_size: int = 96, cube_mm: float = 250.0) -> CrossInfoNet:
    """CrossInfoNet for NYU's 14 joints (23,837,184 parameters)."""
    return _create_crossinfonet("crossinfonet_nyu14", "nyu14", cube_mm, input_size)


@register_model("crossinfonet_icvl16")
def crossinfonet_icvl16(input_size: int = 96, cube_mm: float = 250.0) -> CrossInfoNet:
    """CrossInfoNet for ICVL's 16 joints (23,864,864 parameters)."""
    return _create_crossinfonet("crossinfonet_icvl16", "icvl16", cube_mm, input_size)


@register_model("crossinfonet_msra21")
def crossinfonet_msra21(input_size: int = 96, cube_mm: float = 175.0) -> CrossInfoNet:
    """CrossInfoNet for MSRA's 21 joints (23,934,064 parameters)."""
    return _create_crossinfonet("crossinfonet_msra21", "msra21", cube_mm, input_size)
