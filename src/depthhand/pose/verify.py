"""Pose-stage verification of hand candidates: does the fitted pose explain the depth like a hand does?

After the pose network has run on a candidate's crop, :func:`verify_signals` measures, label-free and in the
network's own normalised patch (``S × S`` pixels of ``cube / S`` mm at the centre's depth; orthographic within
the cube, which is accurate to a few per cent there):

* **Hand pixels**: the 8-connected patch component nearest the crop centre in 3-D, cut at neighbour steps
  > :data:`STEP_MM` (as :func:`depthhand.evaluate.real_checks.hand_mask`, on the patch, without its re-attachment of
  the pixels beside a cut). Fingers curled in front of the palm may be cut off it, so ``on_hand`` is not 1 even for
  the true joints of a fist.
* ``on_hand``: fraction of the joints inside the image that lie within :data:`TOLERANCE_MM` of a hand pixel.
* ``front`` / ``behind``: fraction of the on-hand joints other than the fingertips that lie more than
  :data:`~depthhand.evaluate.real_checks.FRONT_MM` in front of / :data:`~depthhand.evaluate.real_checks.BEHIND_MM`
  behind the observed surface (joint centres inside a finger lie 5–15 mm behind it); ``offset_mm`` is their
  median offset (+ = behind).
* ``bones``: fraction of bone lengths in the human range (:func:`~depthhand.evaluate.real_checks.human_bone_ranges_mm`).
* ``area_cm2``, ``border``: the hand pixels' area at the centre's depth, and the fraction of the patch's border
  pixels they cover (a hand enters its cube through one narrow wrist; a torso, a wall or a desk fills it).
* ``unexplained``, ``residual_mm``: of the hand pixels on the fingers' side of the wrist plane, the fraction
  farther than :data:`UNEXPLAINED_MM` from every bone capsule's surface, and their mean capsule distance (capped at
  30 mm) (:func:`~depthhand.evaluate.real_checks.capsule_residuals_mm`).

:func:`plausibility` combines them into one score in [0, 1] (a logistic model whose weights,
:data:`DEFAULT_WEIGHTS`, were fitted on synthetic training scenes disjoint from every held-out set; see
``scripts/fit_verify.py`` and BENCHMARKS.md). :class:`HandVerifier` runs both for a frame's hands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from functools import cache

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.real_checks import (
    BEHIND_MM,
    FRONT_MM,
    bone_lengths_mm,
    bone_radii_mm,
    capsule_residuals_mm,
    hand_side_points,
    human_bone_ranges_mm,
)
from depthhand.geometry.crop import BACKGROUND, make_crop
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, HandPose

F64 = npt.NDArray[np.float64]
STEP_MM = 20.0
"""Largest depth step between neighbouring pixels of one surface, mm."""
TOLERANCE_MM = 5.0
"""Image-plane tolerance of an on-hand joint, mm."""
UNEXPLAINED_MM = 15.0
"""A hand pixel farther than this from every capsule surface is not explained by the pose."""
UNEXPLAINED_VETO = 0.6
"""A candidate whose pose leaves more than this fraction of its hand pixels unexplained is no hand (a torso, a wall:
the logistic weights, fitted where such crops are rare, would not say so; on the training split the veto drops 20
of 579 true hands, 9 of them scoring >= 0.5, and 75 of 179 false ones)."""
MAX_POINTS = 128
FREE_MM = 25.0
"""A point of the pose violates free space where the sensor sees this much farther."""
BONE_STEPS = np.linspace(0.0, 1.0, 5)
"""Where along each bone the free-space points lie (fractions from parent to child joint)."""
"""Most hand pixels used for the capsule distances (an even subsample)."""


@dataclass(frozen=True, slots=True)
class VerifySignals:
    """The label-free signals of one hand candidate (module docstring).

    Attributes:
        on_hand: Fraction of in-image joints on hand pixels.
        front: Fraction of on-hand non-tip joints > 10 mm in front of the surface.
        behind: Fraction of on-hand non-tip joints > 30 mm behind the surface.
        offset_mm: Median surface offset of the on-hand non-tip joints, mm (+ = behind; 0 when there is none).
        bones: Fraction of bones in the human range.
        area_cm2: Hand-pixel area at the centre's depth, cm².
        border: Fraction of the patch's border pixels that are hand pixels.
        unexplained: Fraction of fingers'-side hand pixels > 15 mm from every capsule surface.
        residual_mm: Their mean capsule distance, capped at 30 mm.
        free: Fraction of points along the bones (inside the image) where the sensor sees more than
            :data:`FREE_MM` farther, or nothing: the pose floats where there is free space.
    """

    on_hand: float
    front: float
    behind: float
    offset_mm: float
    bones: float
    area_cm2: float
    border: float
    unexplained: float
    residual_mm: float
    free: float

    def vector(self) -> F64:
        """(10,) the signals in field order."""
        return np.array(astuple(self), np.float64)


SIGNAL_NAMES = tuple(f.name for f in fields(VerifySignals))
"""Names of :class:`VerifySignals`' fields, in :meth:`VerifySignals.vector` order."""
NO_HAND = VerifySignals(0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 30.0, 1.0)
"""The signals of a candidate with no hand pixels at all."""


@dataclass(frozen=True, slots=True)
class VerifyWeights:
    """A logistic combination of the signals: ``sigmoid(bias + Σ w_i (x_i − mean_i) / scale_i)``.

    Attributes:
        mean: (10,) signal means of the training set, :data:`SIGNAL_NAMES` order.
        scale: (10,) signal standard deviations there.
        weight: (10,) weights of the standardised signals.
        bias: Intercept.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weight: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        n = len(SIGNAL_NAMES)
        if not len(self.mean) == len(self.scale) == len(self.weight) == n:
            raise ValueError(f"VerifyWeights needs {n} means, scales and weights ({', '.join(SIGNAL_NAMES)})")
        if min(self.scale) <= 0:
            raise ValueError(f"VerifyWeights.scale must be positive, got {self.scale}")


# Fitted by scripts/fit_verify.py (signs constrained: its SIGNS) on 764 candidates of 660 training frames
# (hard-scene seed 5150, 40 per case; standard top-down / frontal scenes from default_rng(5151) / (5152), 150
# each); BENCHMARKS.md has the figures.
DEFAULT_WEIGHTS = VerifyWeights(
    mean=(0.8276, 0.0126, 0.3416, 22.925, 0.8627, 89.8062, 0.0635, 0.1384, 6.6021, 0.0994),
    scale=(0.2226, 0.1048, 0.2722, 15.3144, 0.2334, 78.0264, 0.1253, 0.2853, 7.3836, 0.1281),
    weight=(0.0, -0.2116, -1.3259, 0.0, 1.0002, 0.0, 0.0, 0.0, -1.0303, -0.5845),
    bias=1.9274,
)


def plausibility(signals: VerifySignals, weights: VerifyWeights = DEFAULT_WEIGHTS) -> float:
    """The candidate's plausibility as a hand in [0, 1].

    :class:`VerifyWeights` on the signals; 0 when more than :data:`UNEXPLAINED_VETO` of its hand pixels are
    unexplained by the pose.
    """
    if signals.unexplained > UNEXPLAINED_VETO:
        return 0.0
    x = (signals.vector() - np.asarray(weights.mean)) / np.asarray(weights.scale)
    z = float(weights.bias + np.dot(np.asarray(weights.weight), x))
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))


@cache
def _disc(radius: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    dv, du = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    keep = du**2 + dv**2 <= radius**2 + 0.5
    return dv[keep].astype(np.int64), du[keep].astype(np.int64)


@cache
def _non_tips(joint_set: JointSet) -> npt.NDArray[np.bool_]:
    return np.array([not n.endswith("TIP") for n in joint_set.names], bool)


def hand_component(patch: npt.ArrayLike, half_z_mm: float, px_mm: float) -> npt.NDArray[np.bool_]:
    """(S, S) the hand pixels of a normalised patch: the component nearest its centre (module docstring).

    Args:
        patch: (S, S) normalised depth (``(d − z_c) / half_z``; :data:`~depthhand.geometry.crop.BACKGROUND` = none).
        half_z_mm: Half the cube's depth, mm.
        px_mm: Patch pixel size at the centre's depth, mm.

    Returns:
        (S, S) bool; all False when the patch holds no depth.
    """
    import cv2

    p = np.asarray(patch, np.float32)
    fg = p < BACKGROUND
    step = STEP_MM / half_z_mm
    core = fg.copy()
    jump_v = np.abs(p[1:] - p[:-1]) > step  # both pixels of a step are cut: a hand on a desk stays apart from it
    jump_u = np.abs(p[:, 1:] - p[:, :-1]) > step
    core[1:] &= ~jump_v
    core[:-1] &= ~jump_v
    core[:, 1:] &= ~jump_u
    core[:, :-1] &= ~jump_u
    if not core.any():
        return core
    _, labels = cv2.connectedComponents(core.view(np.uint8), connectivity=8)
    vs, us = np.nonzero(core)
    c = (p.shape[0] - 1) / 2
    d2 = ((us - c) * px_mm) ** 2 + ((vs - c) * px_mm) ** 2 + (p[vs, us] * half_z_mm) ** 2
    k = int(np.argmin(d2))
    out: npt.NDArray[np.bool_] = labels == labels[vs[k], us[k]]
    return out


def verify_signals(
    patch: npt.ArrayLike,
    pose: HandPose,
    center_xyz_mm: npt.ArrayLike,
    cube_mm: float,
    intrinsics: CameraIntrinsics,
) -> VerifySignals:
    """The signals of one candidate from its pose patch and fitted pose.

    Args:
        patch: (S, S) (or (1, S, S)) normalised depth patch the pose network saw.
        pose: The pose the network fitted (camera mm and image uvd).
        center_xyz_mm: (3,) the crop's centre (the candidate's detected centre), camera mm.
        cube_mm: The crop cube's side, mm.
        intrinsics: The frame's camera.

    Returns:
        The signals (:data:`NO_HAND` when the patch holds no hand pixels).
    """
    raw = np.asarray(patch, np.float32)
    p = raw.reshape(raw.shape[-2], raw.shape[-1])
    size = p.shape[0]
    crop = make_crop(center_xyz_mm, cube_mm, intrinsics, size)
    half_z = float(crop.cube_mm[2]) / 2
    zc = float(crop.center_xyz_mm[2])
    px_mm = float(crop.cube_mm[0]) / size
    mask = hand_component(p, half_z, px_mm)
    n_mask = int(mask.sum())
    if n_mask == 0:
        return NO_HAND
    js = pose.joint_set
    uvd = np.asarray(pose.joints_uvd, np.float64)
    a = crop.image_to_crop
    cu = uvd[:, 0] * a[0, 0] + a[0, 2]
    cv = uvd[:, 1] * a[1, 1] + a[1, 2]
    use = np.asarray(pose.visible, bool) & np.isfinite(uvd).all(axis=1)
    # on-hand joints and the surface under them: hand pixels within the tolerance disc of each joint's pixel
    r = max(1, int(np.ceil(TOLERANCE_MM / px_mm)))
    dv, du = _disc(r)
    iu = np.rint(cu).astype(np.int64)[:, None] + du[None, :]
    iv = np.rint(cv).astype(np.int64)[:, None] + dv[None, :]
    inside = (iu >= 0) & (iu < size) & (iv >= 0) & (iv < size)
    on = np.zeros(iu.shape, bool)
    on[inside] = mask[iv[inside], iu[inside]]
    depth = np.full(iu.shape, np.nan)
    depth[on] = zc + half_z * p[iv[on], iu[on]]
    joint_on = on.any(axis=1) & use
    n_use = int(use.sum())
    on_hand = float(joint_on.sum() / n_use) if n_use else 0.0
    sel = joint_on & _non_tips(js)
    if sel.any():
        surface = _row_medians(depth[sel])
        off = uvd[sel, 2] - surface
        front, behind, offset = float(np.mean(off < -FRONT_MM)), float(np.mean(off > BEHIND_MM)), float(np.median(off))
    else:
        front, behind, offset = 1.0, 1.0, 0.0
    lengths = bone_lengths_mm(pose.joints_xyz_mm, js)
    ranges = _bone_ranges(js)
    bones = float(np.mean((lengths >= ranges[:, 0]) & (lengths <= ranges[:, 1])))
    border = np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])
    # the hand pixels against the pose's capsules, in the patch's orthographic frame (mm, about the centre)
    vs, us = np.nonzero(mask)
    if len(vs) > MAX_POINTS:
        pick = np.linspace(0, len(vs) - 1, MAX_POINTS).astype(np.int64)
        vs, us = vs[pick], us[pick]
    c = (size - 1) / 2
    pts = np.stack([(us - c) * px_mm, (vs - c) * px_mm, p[vs, us] * half_z], axis=-1).astype(np.float64)
    joints = np.stack([(cu - c) * px_mm, (cv - c) * px_mm, uvd[:, 2] - zc], axis=-1)
    unexplained, residual = 1.0, 30.0
    if np.isfinite(joints).all():
        pts = pts[hand_side_points(pts, joints, js)]
        if len(pts):
            res = capsule_residuals_mm(pts, joints, js, _bone_radii(js))
            unexplained = float(np.mean(res > UNEXPLAINED_MM))
            residual = float(np.mean(np.minimum(res, 30.0)))
    bones_ij = np.asarray(js.bones, np.int64)
    t = BONE_STEPS[None, :, None]
    samples = (uvd[bones_ij[:, 0], None, :] * (1 - t) + uvd[bones_ij[:, 1], None, :] * t).reshape(-1, 3)
    samples = samples[np.isfinite(samples).all(axis=1)]
    su = np.rint(samples[:, 0] * a[0, 0] + a[0, 2]).astype(np.int64)
    sv = np.rint(samples[:, 1] * a[1, 1] + a[1, 2]).astype(np.int64)
    ins = (su >= 0) & (su < size) & (sv >= 0) & (sv < size)
    seen = p[sv[ins], su[ins]]
    violated = (seen >= BACKGROUND) | (zc + half_z * seen > samples[ins, 2] + FREE_MM)
    free = float(violated.mean()) if ins.any() else 1.0
    return VerifySignals(
        free=free,
        on_hand=on_hand,
        front=front,
        behind=behind,
        offset_mm=offset,
        bones=bones,
        area_cm2=n_mask * px_mm * px_mm / 100.0,
        border=float(border.mean()),
        unexplained=unexplained,
        residual_mm=residual,
    )


def _row_medians(x: F64) -> F64:
    """Median of each row's finite values (every row has one); ``np.nanmedian`` is ten times slower here."""
    s = np.sort(x, axis=1)  # NaNs last
    n = np.isfinite(s).sum(axis=1)
    rows = np.arange(len(s))
    out: F64 = (s[rows, (n - 1) // 2] + s[rows, n // 2]) / 2
    return out


@cache
def _bone_ranges(joint_set: JointSet) -> F64:
    return human_bone_ranges_mm(joint_set)


@cache
def _bone_radii(joint_set: JointSet) -> F64:
    return bone_radii_mm(joint_set)


class HandVerifier:
    """Plausibility of every hand of a frame (:func:`verify_signals` → :func:`plausibility`).

    Args:
        cube_mm: The pose model's crop cube side, mm.
        weights: The signals' combination.
    """

    def __init__(self, cube_mm: float, weights: VerifyWeights = DEFAULT_WEIGHTS) -> None:
        self.cube_mm = float(cube_mm)
        self.weights = weights

    def signals(
        self, patches: npt.ArrayLike, poses: Sequence[HandPose], centers_xyz_mm: npt.ArrayLike, intr: CameraIntrinsics
    ) -> list[VerifySignals]:
        """One :class:`VerifySignals` per pose; ``patches`` (N, 1, S, S), ``centers_xyz_mm`` (N, 3) crop centres."""
        pt = np.asarray(patches)
        c = np.asarray(centers_xyz_mm, np.float64).reshape(-1, 3)
        return [verify_signals(pt[i], pose, c[i], self.cube_mm, intr) for i, pose in enumerate(poses)]

    def scores(
        self, patches: npt.ArrayLike, poses: Sequence[HandPose], centers_xyz_mm: npt.ArrayLike, intr: CameraIntrinsics
    ) -> list[float]:
        """One plausibility in [0, 1] per pose (arguments as :meth:`signals`)."""
        return [plausibility(s, self.weights) for s in self.signals(patches, poses, centers_xyz_mm, intr)]


__all__ = [
    "DEFAULT_WEIGHTS",
    "NO_HAND",
    "SIGNAL_NAMES",
    "HandVerifier",
    "VerifySignals",
    "VerifyWeights",
    "hand_component",
    "plausibility",
    "verify_signals",
]
