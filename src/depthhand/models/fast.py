"""depthhand-fast: a light residual backbone with a dense offset-voting head.

Design (our own), after the dense-voting methods that followed CrossInfoNet — A2J (Xiong et al., ICCV 2019),
AWR (Huang et al., AAAI 2020), JGR-P2O (Fang et al., ECCV 2020): instead of flatten + FC regression, every cell
of a 24×24 grid (for a 96×96 input) predicts, per joint, a 3-D offset from its own position and a weight logit;
the joint is the softmax-weighted average of ``cell position + offset`` over the cells that see the hand.
Positions and outputs live in the normalised crop frame ("uvd_crop": u, v of the crop scaled to [−1, 1], depth
``(d − z_c)/(cube_z/2)``), which is consistent under in-plane rotation and scale; the uncrop to camera mm is
closed-form (:func:`depthhand.pose.decode.uvd_crop_to_xyz`).

Backbone: 3×3 stem (stride 2), three stages of two basic blocks (strides 2, widths 40/96/192), a small top-down
neck back to stride 4. About 1.6 M parameters and 0.147 GMAC at 96×96 (see ``tests/models``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from depthhand.models.layers import BasicBlock, ConvBN
from depthhand.models.losses import JOINT_LOSSES, voting_loss
from depthhand.models.registry import ModelCfg, register_model

__all__ = ["FastPoseNet", "cell_anchors_uv", "depthhand_fast"]

FOREGROUND_MAX = 0.99
"""Normalised depth below which a pixel counts as hand (background is exactly +1)."""
_MASKED_LOGIT = -1.0e4


def cell_anchors_uv(input_size: int, stride: int) -> torch.Tensor:
    """Normalised crop (u, v) of the centre of each ``stride × stride`` cell.

    Returns:
        (2, N) float32 with N = (input_size / stride)², row-major (v outer, u inner); ``u_n = (u − (S − 1)/2)/(S/2)``
        with ``u`` the crop pixel of the cell centre.
    """
    cells = input_size // stride
    centre_px = torch.arange(cells, dtype=torch.float32) * stride + (stride - 1) / 2
    norm = (centre_px - (input_size - 1) / 2) / (input_size / 2)
    vv, uu = torch.meshgrid(norm, norm, indexing="ij")
    return torch.stack([uu.reshape(-1), vv.reshape(-1)])


class FastPoseNet(nn.Module):
    """Light backbone + dense offset voting.

    Args:
        cfg: Model configuration.
        num_joints: J.
        widths: Channels of the three stages.
        neck: Channels of the stride-4 voting features.
        joint_loss: Joint term of the training loss (:data:`depthhand.models.losses.JOINT_LOSSES`); training only.
    """

    stride = 4
    anchors_uv: torch.Tensor

    def __init__(
        self,
        cfg: ModelCfg,
        num_joints: int,
        widths: tuple[int, int, int] = (40, 96, 192),
        neck: int = 64,
        joint_loss: str = "smooth_l1",
    ) -> None:
        super().__init__()
        if cfg.input_size % 16:
            raise ValueError(f"depthhand_fast needs an input size divisible by 16, got {cfg.input_size}")
        if joint_loss not in JOINT_LOSSES:
            raise ValueError(f"joint_loss must be one of {JOINT_LOSSES}, got {joint_loss!r}")
        self.cfg = cfg
        self.joint_loss = joint_loss
        self.num_joints = num_joints
        w1, w2, w3 = widths
        self.stem = ConvBN(1, 24, 3, stride=2)
        self.layer1 = nn.Sequential(BasicBlock(24, w1, 2), BasicBlock(w1, w1))
        self.layer2 = nn.Sequential(BasicBlock(w1, w2, 2), BasicBlock(w2, w2))
        self.layer3 = nn.Sequential(BasicBlock(w2, w3, 2), BasicBlock(w3, w3))
        self.lat3, self.lat2, self.lat1 = ConvBN(w3, neck, 1), ConvBN(w2, neck, 1), ConvBN(w1, neck, 1)
        self.smooth2 = ConvBN(neck, neck, 3)
        self.smooth1 = ConvBN(neck, neck, 3)
        self.head = nn.Conv2d(neck, 4 * num_joints, 1)
        nn.init.normal_(self.head.weight, std=1e-3)
        if self.head.bias is not None:
            nn.init.zeros_(self.head.bias)
        self.register_buffer("anchors_uv", cell_anchors_uv(cfg.input_size, self.stride), persistent=False)

    def forward_features(self, patch: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) → (B, neck, S/4, S/4) voting features."""
        c1 = self.layer1(self.stem(patch))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        p2 = self.smooth2(self.lat2(c2) + F.interpolate(self.lat3(c3), size=c2.shape[-2:], mode="nearest"))
        out: torch.Tensor = self.smooth1(self.lat1(c1) + F.interpolate(p2, size=c1.shape[-2:], mode="nearest"))
        return out

    def forward_head(self, feats: torch.Tensor, patch: torch.Tensor) -> dict[str, torch.Tensor]:
        """Dense offsets and weights → joints (B, J, 3) in uvd_crop."""
        batch, joints = feats.shape[0], self.num_joints
        raw = self.head(feats).flatten(2)  # (B, 4J, N)
        offsets = raw[:, : 3 * joints].reshape(batch, joints, 3, -1)
        logits = raw[:, 3 * joints :]
        nearest = -F.max_pool2d(-patch, self.stride, self.stride).flatten(2)  # (B, 1, N) nearest depth per cell
        foreground = nearest < FOREGROUND_MAX
        logits = torch.where(foreground, logits, torch.full_like(logits, _MASKED_LOGIT))
        weights = torch.softmax(logits, dim=-1)  # (B, J, N)
        anchors = torch.cat([self.anchors_uv.unsqueeze(0).expand(batch, -1, -1), nearest], dim=1)  # (B, 3, N)
        votes = anchors.unsqueeze(1) + offsets  # (B, J, 3, N)
        joints_uvd = (votes * weights.unsqueeze(2)).sum(-1)
        return {
            "joints": joints_uvd,
            "offsets": offsets,
            "anchors": anchors,
            "weights": weights,
            "foreground": foreground.squeeze(1).to(patch.dtype),
        }

    def forward(self, patch: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 1, S, S) normalised depth → dict; ``joints`` (B, J, 3) is the prediction (uvd_crop)."""
        return self.forward_head(self.forward_features(patch), patch)

    def loss(
        self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Voting loss; ``targets`` needs ``joints_uvd_crop``."""
        return voting_loss(outputs, targets["joints_uvd_crop"], joint_loss=self.joint_loss)


@register_model("depthhand_fast")
def depthhand_fast(
    joint_set: str = "canonical21", input_size: int = 96, cube_mm: float = 250.0, joint_loss: str = "smooth_l1"
) -> FastPoseNet:
    """depthhand-fast for any joint set (default: the canonical 21-joint hand); ``joint_loss`` as FastPoseNet's."""
    from depthhand.skeleton import get_joint_set

    js = get_joint_set(joint_set)
    cfg = ModelCfg("depthhand_fast", js.name, input_size, cube_mm, output_space="uvd_crop", heatmaps=False)
    return FastPoseNet(cfg, js.num_joints, joint_loss=joint_loss)
