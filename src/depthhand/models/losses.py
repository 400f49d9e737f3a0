"""Losses of the pose networks.

CrossInfoNet (Du et al., CVPR 2019), as released: every term is TF's ``l2_loss / B`` = Σ(pred − target)² / (2B),
and

    L = 0.5 · [α · (L_hm_all + L_hm_palm + L_hm_finger) + β · (L_hand + L_palm + L_finger)],  α = 0.01, β = 1.

The L2 weight penalty (1e-5 · Σ‖W‖² / 2 on conv/linear weights) is applied by the optimiser
(:func:`depthhand.train.engine.make_optimizer`), not here.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["crossinfonet_loss", "half_sse", "voting_loss"]


def half_sse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Σ(pred − target)² / (2B) over all elements (TF ``l2_loss`` divided by the batch size B)."""
    return (pred - target).pow(2).sum() / (2 * pred.shape[0])


def crossinfonet_loss(
    outputs: dict[str, torch.Tensor],
    joints_crop: torch.Tensor,
    heatmaps: torch.Tensor,
    palm: tuple[int, ...],
    finger: tuple[int, ...],
    alpha: float = 0.01,
    beta: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The CrossInfoNet loss.

    Args:
        outputs: The model's outputs: ``joints`` (B, J, 3), ``palm`` (B, Jp, 3), ``finger`` (B, Jf, 3),
            ``hm_all`` (B, J, 24, 24), ``hm_palm`` (B, Jp, 24, 24), ``hm_finger`` (B, Jf, 24, 24).
        joints_crop: (B, J, 3) cube-normalised target joints.
        heatmaps: (B, J, 24, 24) target heat maps of all joints (palm/finger maps are the subsets).
        palm: Joint indices of the palm branch.
        finger: Joint indices of the finger branch.
        alpha: Weight of the heat-map terms.
        beta: Weight of the joint terms.

    Returns:
        ``(loss, parts)`` with the six unweighted terms in ``parts``.
    """
    p, f = list(palm), list(finger)
    parts = {
        "hm_all": half_sse(outputs["hm_all"], heatmaps),
        "hm_palm": half_sse(outputs["hm_palm"], heatmaps[:, p]),
        "hm_finger": half_sse(outputs["hm_finger"], heatmaps[:, f]),
        "hand": half_sse(outputs["joints"], joints_crop),
        "palm": half_sse(outputs["palm"], joints_crop[:, p]),
        "finger": half_sse(outputs["finger"], joints_crop[:, f]),
    }
    heat = parts["hm_all"] + parts["hm_palm"] + parts["hm_finger"]
    joint = parts["hand"] + parts["palm"] + parts["finger"]
    return 0.5 * (alpha * heat + beta * joint), parts


JOINT_LOSSES = ("smooth_l1", "euclidean")
"""Joint terms of :func:`voting_loss`."""


def voting_loss(
    outputs: dict[str, torch.Tensor],
    joints_uvd_crop: torch.Tensor,
    dense_weight: float = 0.1,
    beta: float = 0.01,
    joint_loss: str = "smooth_l1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Joint-level smooth-L1 (or Euclidean) plus a dense per-pixel offset term (JGR-P2O / AWR style).

    Args:
        outputs: ``joints`` (B, J, 3), ``offsets`` (B, J, 3, N) per-pixel offsets, ``anchors`` (B, 3, N) pixel
            positions, ``foreground`` (B, N) 1 where the pixel holds hand depth.
        joints_uvd_crop: (B, J, 3) normalised crop uvd targets.
        dense_weight: Weight of the dense offset term.
        beta: Smooth-L1 transition point, normalised units (0.01 ≈ 1.25 mm in a 250 mm cube).
        joint_loss: ``"smooth_l1"`` (per coordinate, averaged) or ``"euclidean"``: the mean per-joint distance
            ``√(Δu² + Δv² + Δd² + ε²)`` with ε = ``beta`` / 10, the evaluation metric in normalised crop units.

    Returns:
        ``(loss, parts)``.
    """
    if joint_loss == "smooth_l1":
        joint = F.smooth_l1_loss(outputs["joints"], joints_uvd_crop, beta=beta, reduction="mean")
    elif joint_loss == "euclidean":
        sq = (outputs["joints"] - joints_uvd_crop).pow(2).sum(dim=-1)
        joint = (sq + (beta / 10) ** 2).sqrt().mean()
    else:
        raise ValueError(f"joint_loss must be one of {JOINT_LOSSES}, got {joint_loss!r}")
    target_offsets = joints_uvd_crop.unsqueeze(-1) - outputs["anchors"].unsqueeze(1)  # (B, J, 3, N)
    err = F.smooth_l1_loss(outputs["offsets"], target_offsets, beta=beta, reduction="none").mean(dim=(1, 2))
    fg = outputs["foreground"]
    dense = (err * fg).sum() / fg.sum().clamp(min=1.0)
    return joint + dense_weight * dense, {"joints": joint, "dense": dense}
