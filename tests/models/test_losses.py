from __future__ import annotations

import numpy as np
import pytest
import torch

from depthhand.models.losses import crossinfonet_loss, voting_loss
from depthhand.skeleton import NYU14


def _reference_loss(out: dict[str, np.ndarray], joints: np.ndarray, hm: np.ndarray, palm, finger) -> float:
    """float64 re-computation of L = 0.5·[0.01·Σ l2_hm + Σ l2_joints], l2 = Σ d² / 2 / B."""
    b = joints.shape[0]

    def l2(a, t):
        return float(((a.astype(np.float64) - t.astype(np.float64)) ** 2).sum() / 2 / b)

    heat = l2(out["hm_all"], hm) + l2(out["hm_palm"], hm[:, palm]) + l2(out["hm_finger"], hm[:, finger])
    joint = (
        l2(out["joints"].reshape(b, -1), joints.reshape(b, -1))
        + l2(out["palm"], joints[:, palm])
        + l2(out["finger"], joints[:, finger])
    )
    return 0.5 * (0.01 * heat + 1.0 * joint)


def test_crossinfonet_loss_matches_float64_formula():
    rng = np.random.default_rng(3)
    palm, finger = list(NYU14.palm), list(NYU14.finger)
    b = 3
    out = {
        "joints": rng.normal(size=(b, 14, 3)),
        "palm": rng.normal(size=(b, 9, 3)),
        "finger": rng.normal(size=(b, 5, 3)),
        "hm_all": rng.normal(size=(b, 14, 24, 24)),
        "hm_palm": rng.normal(size=(b, 9, 24, 24)),
        "hm_finger": rng.normal(size=(b, 5, 24, 24)),
    }
    joints = rng.normal(size=(b, 14, 3))
    hm = rng.uniform(size=(b, 14, 24, 24))
    expected = _reference_loss(out, joints, hm, palm, finger)
    t = {k: torch.tensor(v, dtype=torch.float32) for k, v in out.items()}
    loss, parts = crossinfonet_loss(
        t, torch.tensor(joints, dtype=torch.float32), torch.tensor(hm, dtype=torch.float32), NYU14.palm, NYU14.finger
    )
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert set(parts) == {"hm_all", "hm_palm", "hm_finger", "hand", "palm", "finger"}


def test_crossinfonet_loss_zero_at_target():
    joints = torch.rand(2, 14, 3)
    hm = torch.rand(2, 14, 24, 24)
    p, f = list(NYU14.palm), list(NYU14.finger)
    out = {"joints": joints, "palm": joints[:, p], "finger": joints[:, f], "hm_all": hm, "hm_palm": hm[:, p],
           "hm_finger": hm[:, f]}  # fmt: skip
    loss, _ = crossinfonet_loss(out, joints, hm, NYU14.palm, NYU14.finger)
    assert float(loss) == 0.0


def test_voting_loss_zero_when_every_vote_is_exact():
    b, j, n = 2, 4, 9
    target = torch.rand(b, j, 3)
    anchors = torch.rand(b, 3, n)
    offsets = target.unsqueeze(-1) - anchors.unsqueeze(1)
    out = {"joints": target.clone(), "offsets": offsets, "anchors": anchors, "foreground": torch.ones(b, n)}
    loss, parts = voting_loss(out, target)
    assert float(loss) == pytest.approx(0.0, abs=1e-7)
    out["joints"] = target + 1.0  # far beyond the smooth-L1 knee: |d| − β/2 per element
    loss, parts = voting_loss(out, target)
    assert float(parts["joints"]) == pytest.approx(1.0 - 0.005, rel=1e-5)


def test_voting_loss_euclidean_is_the_mean_joint_distance():
    b, j, n = 3, 5, 9
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(b, j, 3, generator=gen)
    anchors = torch.rand(b, 3, n, generator=gen)
    pred = target + 0.1 * torch.randn(b, j, 3, generator=gen)
    out = {"joints": pred.clone().requires_grad_(True), "offsets": torch.zeros(b, j, 3, n), "anchors": anchors,
           "foreground": torch.ones(b, n)}  # fmt: skip
    _, parts = voting_loss(out, target, joint_loss="euclidean")
    d64 = np.linalg.norm(pred.double().numpy() - target.double().numpy(), axis=-1)
    expected = np.sqrt(d64**2 + (0.01 / 10) ** 2).mean()  # float64 re-computation, ε = β/10
    assert float(parts["joints"]) == pytest.approx(expected, rel=1e-5)
    _, smooth = voting_loss(out, target)  # the default stays per-coordinate smooth-L1
    assert float(smooth["joints"]) != pytest.approx(expected, rel=1e-2)
    # finite gradient where a joint is exactly right (the ε keeps the norm differentiable)
    exact = {**out, "joints": target.clone().requires_grad_(True)}
    loss, _ = voting_loss(exact, target, joint_loss="euclidean")
    loss.backward()
    assert torch.isfinite(exact["joints"].grad).all()
    with pytest.raises(ValueError, match="joint_loss must be one of"):
        voting_loss(out, target, joint_loss="l3")
