"""Pose-stage verification of hand candidates: does the fitted pose explain the depth like a hand does?

After the pose network has run on a candidate's crop, :func:`verify_signals` measures, label-free and in the
network's own normalised patch (``S × S`` pixels of ``cube / S`` mm at the centre's depth; orthographic within
the cube, which is accurate to a few per cent there):

* **Hand pixels** (:func:`depthhand.pose.hand_pixels.hand_pixels`): the surface the hand rests on or stands in
  front of (a plane fitted robustly to the patch border, where one explains most of it) is removed, then the
  8-connected patch component nearest the crop centre in 3-D is kept, cut at neighbour steps > ``STEP_MM``
  (as :func:`depthhand.evaluate.real_checks.hand_mask`, on the patch, without its re-attachment of the pixels beside
  a cut). Fingers curled in front of the palm may be cut off it, so ``on_hand`` is not 1 even for the true joints
  of a fist.
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
  30 mm) (as :func:`~depthhand.evaluate.real_checks.capsule_residuals_mm`).

:func:`plausibility` combines them into one score in [0, 1] (a logistic model whose weights,
:data:`DEFAULT_WEIGHTS`, were fitted on synthetic training scenes disjoint from every held-out set; see
``scripts/fit_verify.py`` and BENCHMARKS.md). :class:`HandVerifier` runs both for a frame's hands. Numpy and
OpenCV only (numba is an optional extra): about 0.3 ms per hand (``depthhand bench pose.verify``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from functools import cache

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.real_checks import BEHIND_MM, FRONT_MM, bone_radii_mm, human_bone_ranges_mm
from depthhand.geometry.crop import BACKGROUND
from depthhand.pose.hand_pixels import hand_component, hand_pixels
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, HandPose

F64 = npt.NDArray[np.float64]
TOLERANCE_MM = 5.0
"""Image-plane tolerance of an on-hand joint, mm."""
UNEXPLAINED_MM = 15.0
"""A hand pixel farther than this from every capsule surface is not explained by the pose."""
UNEXPLAINED_VETO = 0.6
"""A candidate whose pose leaves more than this fraction of its hand pixels unexplained is no hand (a torso, a wall:
the logistic weights, fitted where such crops are rare, would not say so; on the training split the veto drops 11
of 579 true hands, 2 of them scoring >= 0.5, none of them top-down, and 61 of 179 false ones)."""
MAX_POINTS = 64
"""Most hand pixels used for the capsule distances (an even subsample)."""
FREE_MM = 25.0
"""A point of the pose violates free space where the sensor sees this much farther."""
BONE_STEPS = np.linspace(0.0, 1.0, 5)
"""Where along each bone the free-space points lie (fractions from parent to child joint)."""


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
    mean=(0.8274, 0.017, 0.3442, 22.9152, 0.862, 76.7266, 0.0406, 0.1163, 5.9842, 0.0982),
    scale=(0.2225, 0.1222, 0.2745, 15.469, 0.234, 39.9707, 0.0438, 0.2595, 6.5751, 0.1253),
    weight=(0.0, 0.0, -1.2735, 0.0, 0.9398, 0.0, 0.0, 0.0, -0.9538, -0.5487),
    bias=1.8225,
)


def plausibility(signals: VerifySignals, weights: VerifyWeights = DEFAULT_WEIGHTS) -> float:
    """The candidate's plausibility as a hand in [0, 1].

    :class:`VerifyWeights` on the signals; 0 when more than :data:`UNEXPLAINED_VETO` of its hand pixels are
    unexplained by the pose.
    """
    if signals.unexplained > UNEXPLAINED_VETO:
        return 0.0
    z = weights.bias  # ten terms in plain Python: several times faster than the same in numpy
    for name, m, s, w in zip(SIGNAL_NAMES, weights.mean, weights.scale, weights.weight, strict=True):
        z += w * (getattr(signals, name) - m) / s
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


@cache
def _disc(radius: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    dv, du = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    keep = du**2 + dv**2 <= radius**2 + 0.5
    return dv[keep].astype(np.int64), du[keep].astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """Per-joint-set constants of :func:`verify_signals` (built once per skeleton)."""

    parent: npt.NDArray[np.intp]
    child: npt.NDArray[np.intp]
    non_tips: npt.NDArray[np.bool_]
    ranges: F64
    radii: F64
    wrist: int
    mcps: npt.NDArray[np.intp]
    along: F64
    """(B · len(BONE_STEPS), J) weights of the free-space points along the bones."""


@cache
def _skeleton(js: JointSet) -> _Skeleton:
    bones = np.asarray(js.bones, np.intp)
    names = js.names
    mcps = [i for i, n in enumerate(names) if n.endswith("_MCP") and not n.startswith("THUMB")]
    along = np.zeros((len(bones), len(BONE_STEPS), js.num_joints))
    steps = np.arange(len(BONE_STEPS))
    for k, (i, j) in enumerate(bones):
        along[k, steps, i] += 1.0 - BONE_STEPS
        along[k, steps, j] += BONE_STEPS
    return _Skeleton(
        parent=bones[:, 0].copy(),
        child=bones[:, 1].copy(),
        non_tips=np.array([not n.endswith("TIP") for n in names], bool),
        ranges=human_bone_ranges_mm(js),
        radii=bone_radii_mm(js),
        wrist=names.index("WRIST") if "WRIST" in names and mcps else -1,
        mcps=np.array(mcps, np.intp),
        along=along.reshape(-1, js.num_joints),
    )


def capsule_distances_mm(
    points_mm: F64, joints_mm: F64, parent: npt.NDArray[np.intp], child: npt.NDArray[np.intp]
) -> F64:
    """(N, B) distance of each point (N, 3) to each bone segment ``joints[parent] → joints[child]``, mm.

    The same as :func:`~depthhand.evaluate.real_checks.point_segment_distances_mm`, with (N, 3) @ (3, B) products
    in place of (N, B, 3) arrays (several times faster at N = 128, B = 20).
    """
    a = joints_mm[parent]
    ab = joints_mm[child] - a
    len2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    proj = points_mm @ ab.T - (a * ab).sum(axis=1)  # (p − a)·ab
    t = np.clip(proj / len2, 0.0, 1.0)
    # |p − a − t ab|² = |p − a|² − t (2 (p − a)·ab − t |ab|²)
    pa2 = (points_mm * points_mm).sum(axis=1)[:, None] - 2.0 * (points_mm @ a.T) + (a * a).sum(axis=1)
    d2 = pa2 - t * (2.0 * proj - t * len2)
    out: F64 = np.sqrt(np.maximum(d2, 0.0, out=d2), out=d2)
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
    cx, cy, zc = (float(x) for x in np.asarray(center_xyz_mm, np.float64).reshape(3))
    if not zc > 0:
        raise ValueError(f"center_xyz_mm must have z > 0 mm, got {center_xyz_mm!r}")
    half_z = float(cube_mm) / 2
    px_mm = float(cube_mm) / size
    # the crop's image → patch affine (make_crop's, axis-aligned): u_patch = su · u + tu, v_patch = sv · v + tv
    su, sv = size * zc / (float(cube_mm) * intrinsics.fx), size * zc / (float(cube_mm) * intrinsics.fy)
    tu = -0.5 - su * (intrinsics.fx * cx / zc + intrinsics.cx) + size / 2
    tv = -0.5 - sv * (intrinsics.fy * cy / zc + intrinsics.cy) + size / 2
    mask, _ = hand_pixels(p, zc, half_z, px_mm)
    hand = np.flatnonzero(mask)
    n_mask = len(hand)
    if n_mask == 0:
        return NO_HAND
    sk = _skeleton(pose.joint_set)
    uvd = np.asarray(pose.joints_uvd, np.float64)
    cu = uvd[:, 0] * su + tu
    cv = uvd[:, 1] * sv + tv
    finite = bool(np.isfinite(uvd).all())
    use = np.asarray(pose.visible, bool) & (True if finite else np.isfinite(uvd).all(axis=1))
    # on-hand joints and the surface under them: hand pixels within the tolerance disc of each joint's pixel
    dv, du = _disc(max(1, int(np.ceil(TOLERANCE_MM / px_mm))))
    with np.errstate(invalid="ignore"):
        iu = np.rint(cu).astype(np.int64)[:, None] + du[None, :]
        iv = np.rint(cv).astype(np.int64)[:, None] + dv[None, :]
    inside = (iu >= 0) & (iu < size) & (iv >= 0) & (iv < size)
    flat = np.where(inside, iv * size + iu, 0)
    on = inside & mask.ravel()[flat]
    joint_on = on.any(axis=1) & use
    n_use = int(np.count_nonzero(use))
    on_hand = float(np.count_nonzero(joint_on) / n_use) if n_use else 0.0
    sel = joint_on & sk.non_tips
    if sel.any():
        depth = np.where(on[sel], zc + half_z * p.ravel()[flat[sel]].astype(np.float64), np.nan)
        off = uvd[sel, 2] - _row_medians(depth)
        n_sel = len(off)
        front = float(np.count_nonzero(off < -FRONT_MM) / n_sel)
        behind = float(np.count_nonzero(off > BEHIND_MM) / n_sel)
        off.sort()
        offset = float(off[(n_sel - 1) // 2] + off[n_sel // 2]) / 2
    else:
        front, behind, offset = 1.0, 1.0, 0.0
    xyz = np.asarray(pose.joints_xyz_mm, np.float64)
    lengths = np.sqrt(np.sum((xyz[sk.child] - xyz[sk.parent]) ** 2, axis=-1))
    bones = np.count_nonzero((lengths >= sk.ranges[:, 0]) & (lengths <= sk.ranges[:, 1])) / len(lengths)
    border = (np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1]) + np.count_nonzero(mask[1:-1, 0])
              + np.count_nonzero(mask[1:-1, -1])) / (4 * size - 4)  # fmt: skip
    # the hand pixels against the pose's capsules, in the patch's orthographic frame (mm, about the centre)
    if n_mask > MAX_POINTS:
        hand = hand[np.arange(MAX_POINTS) * (n_mask - 1) // (MAX_POINTS - 1)]  # an even subsample, both ends kept
    vs, us = np.divmod(hand, size)
    c = (size - 1) / 2
    pts = np.empty((len(vs), 3))
    pts[:, 0], pts[:, 1], pts[:, 2] = (us - c) * px_mm, (vs - c) * px_mm, p.ravel()[hand] * half_z
    joints = np.empty((len(uvd), 3))
    joints[:, 0], joints[:, 1], joints[:, 2] = (cu - c) * px_mm, (cv - c) * px_mm, uvd[:, 2] - zc
    unexplained, residual = 1.0, 30.0
    if finite:
        if sk.wrist >= 0:  # the fingers' side of the wrist plane (the forearm lies on the other)
            axis = joints[sk.mcps].sum(axis=0) / len(sk.mcps) - joints[sk.wrist]
            pts = pts[pts @ axis >= joints[sk.wrist] @ axis]
        if len(pts):
            res = np.abs(np.min(capsule_distances_mm(pts, joints, sk.parent, sk.child) - sk.radii, axis=1))
            unexplained = np.count_nonzero(res > UNEXPLAINED_MM) / len(res)
            residual = float(np.minimum(res, 30.0).mean())
    # free space along the bones: the sensor sees (much) farther than the pose's points, or nothing
    samples = sk.along @ uvd
    if not finite:
        samples = samples[np.isfinite(samples).all(axis=1)]
    pu = np.rint(samples[:, 0] * su + tu).astype(np.int64)
    pv = np.rint(samples[:, 1] * sv + tv).astype(np.int64)
    ins = (pu >= 0) & (pu < size) & (pv >= 0) & (pv < size)
    seen = p[pv[ins], pu[ins]]
    violated = (seen >= BACKGROUND) | (zc + half_z * seen > samples[ins, 2] + FREE_MM)
    free = np.count_nonzero(violated) / len(seen) if len(seen) else 1.0
    return VerifySignals(
        free=float(free),
        on_hand=on_hand,
        front=float(front),
        behind=float(behind),
        offset_mm=offset,
        bones=float(bones),
        area_cm2=n_mask * px_mm * px_mm / 100.0,
        border=float(border),
        unexplained=float(unexplained),
        residual_mm=residual,
    )


def _row_medians(x: F64) -> F64:
    """Median of each row's finite values (every row has one); ``np.nanmedian`` is ten times slower here."""
    s = np.sort(x, axis=1)  # NaNs last
    n = np.isfinite(s).sum(axis=1)
    rows = np.arange(len(s))
    out: F64 = (s[rows, (n - 1) // 2] + s[rows, n // 2]) / 2
    return out


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
