"""Label-free checks of hand poses on real depth frames: what a user checks by eye, as numbers.

Pure functions of a depth image, its camera and a pose (the benchmark that runs them over real sequences is
:mod:`depthhand.evaluate.real_sequence`, wrapped by ``depthhand bench real.*``). The definitions:

* **Hand pixels** (:func:`hand_mask`): inside the crop window (the crop cube's cross-section at the detected centre's
  depth, as the pose stage crops), the valid pixels whose depth lies within half the cube of the centre's depth
  (this removes the background: body, desk and walls farther than that); neighbouring pixels whose depths differ by
  more than ``max_step_mm`` are cut apart (depth discontinuities: a hand in front of the body), and the hand is the
  8-connected component nearest in 3-D to the detected centre. Pixels beside a cut join it again where they lie
  within ``max_step_mm`` of a pixel of it. The forearm, where it is in the cube, is part of the component.
* **On-hand joint** (:func:`joints_on_hand`): the joint's projected pixel ``rint(u, v)`` lies within
  ``tolerance_mm`` (converted to pixels at the joint's depth, ``tolerance_mm · fx / d``) of a hand pixel.
* **Surface offset** (:func:`surface_offsets_mm`): the joint's depth minus the median observed depth of the hand
  pixels within that tolerance of its pixel (at least 1.5 px): positive = the joint lies behind the surface, as a
  joint centre inside a finger (about 5–15 mm for finger joints) does; NaN for joints off the hand.
* **Bone lengths** (:func:`bone_lengths_mm`, :func:`human_bone_ranges_mm`): the skeleton's bones against the range of
  the synthetic hand model (:mod:`depthhand.synth.hand_model`, anthropometric): the default hand's lengths times the
  overall scale range of :func:`~depthhand.synth.hand_model.sample_shape` (0.7, a child's hand, to 1.2, a large
  adult's), widened by its largest per-bone jitter (15 %). Constancy along a track: the coefficient of variation
  (std / mean) of each bone over the frames (:func:`bone_cv`).
* **Jitter** (:func:`joint_displacements_mm`): each joint's frame-to-frame displacement, mm; the *articulation*
  variant first aligns the previous frame's palm onto the current one rigidly (Kabsch), leaving the motion of the
  joints relative to the palm.
* **Capsule residual** (:func:`capsule_residuals_mm`): for each observed hand point (hand pixels back-projected, on
  the fingers' side of the plane through the wrist normal to the wrist → MCP-centre axis, so the forearm is left
  out), the distance to the surface of the nearest bone capsule, ``|min_b (dist(p, bone_b) − r_b)|``, the radii from
  the default hand model (:func:`bone_radii_mm`). A label-free data-to-model distance until the model-fitting stage
  exists (its own E_d2m will replace it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.rest_hand import REST_JOINTS_MM, REST_RADII_MM
from depthhand.geometry.camera import uvd_to_xyz
from depthhand.geometry.crop import crop_bounds
from depthhand.skeleton import JointSet, joint_mapping
from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

SCALE_RANGE = (0.7, 1.2)
"""Overall hand scale range of the synthetic generator (``sample_shape``'s default)."""
BONE_JITTER = 0.15
"""Largest per-bone deviation the generator adds on top of the scale (palm width ±15 %, lengths ±9 %)."""
FRONT_MM = 10.0
"""A joint more than this far in front of the observed surface is implausible."""
BEHIND_MM = 30.0
"""A joint more than this far behind the observed surface is reported (deeper than any finger's radius)."""


@dataclass(frozen=True, slots=True, eq=False)
class HandMask:
    """The hand pixels of one detection.

    Attributes:
        mask: (H, W) bool, True on hand pixels.
        window_xyxy: (4,) int pixel window searched: columns u0 ≤ u < u1, rows v0 ≤ v < v1.
        seed_uv: (2,) int pixel the component grew from; (−1, −1) when the window held no candidate pixel.
    """

    mask: Bool
    window_xyxy: npt.NDArray[np.int64]
    seed_uv: npt.NDArray[np.int64]

    @property
    def pixels(self) -> int:
        """Number of hand pixels."""
        return int(self.mask.sum())


def hand_mask(
    depth_mm: npt.ArrayLike,
    intrinsics: CameraIntrinsics,
    center_uvd: npt.ArrayLike,
    cube_mm: float = 250.0,
    max_step_mm: float = 20.0,
) -> HandMask:
    """The connected depth component around a detected hand centre, within the crop cube (module docstring).

    Args:
        depth_mm: (H, W) depth, mm, 0 = invalid.
        intrinsics: The camera.
        center_uvd: (3,) detected hand centre: u, v pixels, depth mm.
        cube_mm: Side of the crop cube, mm (the pose model's).
        max_step_mm: Largest depth step between neighbouring pixels of one surface, mm.

    Returns:
        The mask (empty when the centre is not finite or no pixel qualifies).
    """
    depth = np.asarray(depth_mm, np.float64)
    h, w = depth.shape
    c = np.asarray(center_uvd, np.float64)
    empty = HandMask(np.zeros((h, w), bool), np.zeros(4, np.int64), np.full(2, -1, np.int64))
    if c.shape != (3,) or not np.isfinite(c).all() or c[2] <= 0:
        return empty
    centre_xyz = uvd_to_xyz(c, intrinsics)
    b = crop_bounds(centre_xyz, cube_mm, intrinsics)
    u0, v0 = max(0, int(np.ceil(b[0]))), max(0, int(np.ceil(b[1])))
    u1, v1 = min(w, int(np.floor(b[2])) + 1), min(h, int(np.floor(b[3])) + 1)
    window = np.array([u0, v0, u1, v1], np.int64)
    if u1 <= u0 or v1 <= v0:
        return HandMask(empty.mask, window, empty.seed_uv)
    sub = depth[v0:v1, u0:u1]
    inside = (sub > 0) & (np.abs(sub - c[2]) <= cube_mm / 2)
    edge = np.zeros_like(inside)
    for axis in (0, 1):
        a = [slice(None)] * 2
        z = [slice(None)] * 2
        a[axis], z[axis] = slice(1, None), slice(None, -1)
        jump = (np.abs(sub[tuple(a)] - sub[tuple(z)]) > max_step_mm) & inside[tuple(a)] & inside[tuple(z)]
        edge[tuple(a)] |= jump
        edge[tuple(z)] |= jump
    core = inside & ~edge
    vs, us = np.nonzero(core)
    if vs.size == 0:
        return HandMask(empty.mask, window, empty.seed_uv)
    import cv2

    _, labels = cv2.connectedComponents(core.astype(np.uint8), connectivity=8)
    pts = uvd_to_xyz(np.stack([us + u0, vs + v0, sub[vs, us]], axis=-1).astype(np.float64), intrinsics)
    k = int(np.argmin(np.sum((pts - centre_xyz) ** 2, axis=-1)))
    comp = labels == labels[vs[k], us[k]]
    # re-attach the pixels beside a cut that continue the component's surface
    for axis in (0, 1):
        for shift in (1, -1):
            nb = np.roll(comp, shift, axis=axis)
            nd = np.roll(sub, shift, axis=axis)
            ok = nb & edge & inside & (np.abs(sub - nd) <= max_step_mm)
            if axis == 0:
                ok[0 if shift == 1 else -1, :] = False
            else:
                ok[:, 0 if shift == 1 else -1] = False
            comp = comp | ok
    mask = np.zeros((h, w), bool)
    mask[v0:v1, u0:u1] = comp
    return HandMask(mask, window, np.array([us[k] + u0, vs[k] + v0], np.int64))


def _tolerance_px(joints_uvd: F64, intrinsics: CameraIntrinsics, tolerance_mm: float) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = tolerance_mm * intrinsics.fx / joints_uvd[:, 2]
    return out


def _joint_pixels(joints_uvd: npt.ArrayLike, shape: tuple[int, int]) -> tuple[F64, npt.NDArray[np.int64], Bool]:
    j = np.asarray(joints_uvd, np.float64).reshape(-1, 3)
    ok = np.isfinite(j).all(axis=1) & (j[:, 2] > 0)
    px = np.zeros((len(j), 2), np.int64)
    px[ok] = np.rint(j[ok, :2]).astype(np.int64)
    ok &= (px[:, 0] >= 0) & (px[:, 0] < shape[1]) & (px[:, 1] >= 0) & (px[:, 1] < shape[0])
    return j, px, ok


def joints_on_hand(
    joints_uvd: npt.ArrayLike, mask: Bool, intrinsics: CameraIntrinsics, tolerance_mm: float = 5.0
) -> Bool:
    """Which projected joints land on hand pixels (within ``tolerance_mm`` of one, at the joint's depth).

    Args:
        joints_uvd: (J, 3) joints: u, v pixels, depth mm.
        mask: (H, W) hand pixels (:attr:`HandMask.mask`).
        intrinsics: The camera.
        tolerance_mm: Image-plane tolerance, mm.

    Returns:
        (J,) bool; False for joints that are not finite, not in front of the camera or outside the image.
    """
    j, px, ok = _joint_pixels(joints_uvd, mask.shape)
    out = np.zeros(len(j), bool)
    if not mask.any() or not ok.any():
        return out
    import cv2

    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    tol = _tolerance_px(j, intrinsics, tolerance_mm)
    out[ok] = dist[px[ok, 1], px[ok, 0]] <= tol[ok]
    return out


def surface_offsets_mm(
    joints_uvd: npt.ArrayLike,
    depth_mm: npt.ArrayLike,
    mask: Bool,
    intrinsics: CameraIntrinsics,
    tolerance_mm: float = 5.0,
) -> F64:
    """Each joint's depth minus the observed hand surface's depth around its pixel (positive = behind), mm.

    Args:
        joints_uvd: (J, 3) joints: u, v pixels, depth mm.
        depth_mm: (H, W) depth, mm.
        mask: (H, W) hand pixels.
        intrinsics: The camera.
        tolerance_mm: Radius around the joint's pixel over which the surface depth is the median, mm (≥ 1.5 px).

    Returns:
        (J,) float64 mm; NaN where no hand pixel lies within the radius.
    """
    depth = np.asarray(depth_mm, np.float64)
    j, px, ok = _joint_pixels(joints_uvd, mask.shape)
    out = np.full(len(j), np.nan)
    radius = np.maximum(_tolerance_px(j, intrinsics, tolerance_mm), 1.5)
    h, w = mask.shape
    for i in np.flatnonzero(ok):
        r = int(np.ceil(radius[i]))
        u, v = px[i]
        ua, ub, va, vb = max(0, u - r), min(w, u + r + 1), max(0, v - r), min(h, v + r + 1)
        vv, uu = np.mgrid[va:vb, ua:ub]
        near = mask[va:vb, ua:ub] & ((uu - u) ** 2 + (vv - v) ** 2 <= radius[i] ** 2)
        if near.any():
            out[i] = j[i, 2] - float(np.median(depth[va:vb, ua:ub][near]))
    return out


def joint_groups(joint_set: JointSet) -> dict[str, tuple[int, ...]]:
    """Joint indices by kind, from the joint names.

    Returns:
        ``wrist`` (wrist, palm), ``knuckles`` (finger MCPs, thumb CMC), ``fingers`` (PIPs, DIPs, thumb MCP and IP,
        other mid-finger joints) and ``tips``; groups without a joint are left out.
    """
    groups: dict[str, list[int]] = {"wrist": [], "knuckles": [], "fingers": [], "tips": []}
    for i, name in enumerate(joint_set.names):
        if name.startswith(("WRIST", "PALM")):
            groups["wrist"].append(i)
        elif name.endswith("TIP"):
            groups["tips"].append(i)
        elif name.endswith("_CMC") or (name.endswith("_MCP") and not name.startswith("THUMB")):
            groups["knuckles"].append(i)
        else:
            groups["fingers"].append(i)
    return {k: tuple(v) for k, v in groups.items() if v}


def bone_lengths_mm(joints_xyz_mm: npt.ArrayLike, joint_set: JointSet) -> F64:
    """(..., J, 3) joints → (..., B) lengths of ``joint_set.bones``, mm."""
    j = np.asarray(joints_xyz_mm, np.float64)
    bones = np.asarray(joint_set.bones, np.int64)
    out: F64 = np.linalg.norm(j[..., bones[:, 1], :] - j[..., bones[:, 0], :], axis=-1)
    return out


@cache
def _model_joints_and_radii(name: str) -> tuple[F64, F64]:
    """The default synthetic hand at rest in ``name``'s joint set: (J, 3) joints mm and (J,) flesh radii mm."""
    m = joint_mapping("canonical21", name)
    return m.apply(np.array(REST_JOINTS_MM)), m.matrix @ np.array(REST_RADII_MM)


def human_bone_ranges_mm(joint_set: JointSet) -> F64:
    """(B, 2) plausible (min, max) length of each bone of ``joint_set``, mm (module docstring)."""
    joints, _ = _model_joints_and_radii(joint_set.name)
    rest = bone_lengths_mm(joints, joint_set)
    lo, hi = SCALE_RANGE
    return np.stack([rest * lo * (1 - BONE_JITTER), rest * hi * (1 + BONE_JITTER)], axis=-1)


def bone_radii_mm(joint_set: JointSet) -> F64:
    """(B,) capsule radius of each bone: the mean of the default hand model's flesh radii at its two joints, mm."""
    _, radii = _model_joints_and_radii(joint_set.name)
    bones = np.asarray(joint_set.bones, np.int64)
    out: F64 = (radii[bones[:, 0]] + radii[bones[:, 1]]) / 2
    return out


def bone_cv(lengths_mm: npt.ArrayLike) -> F64:
    """(T, B) bone lengths over a track → (B,) coefficient of variation (population std / mean).

    NaN lengths (frames without the hand) are skipped; a bone with fewer than two finite lengths gets NaN.
    """
    x = np.asarray(lengths_mm, np.float64)
    n = np.isfinite(x).sum(axis=0)
    out = np.full(x.shape[1], np.nan)
    ok = n >= 2
    if ok.any():
        out[ok] = np.nanstd(x[:, ok], axis=0) / np.nanmean(x[:, ok], axis=0)
    return out


def _kabsch(src: F64, dst: F64) -> tuple[F64, F64]:
    """Rotation R and translation t minimising ‖R·src + t − dst‖ over (N, 3) point pairs."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, cd - rot @ cs


def joint_displacements_mm(track_xyz_mm: npt.ArrayLike, align: tuple[int, ...] | None = None) -> F64:
    """Frame-to-frame displacement of every joint along a track, mm.

    Args:
        track_xyz_mm: (T, J, 3) joints per frame (a frame of NaNs where the hand was not found).
        align: Joint indices (e.g. ``joint_set.palm``) whose rigid motion is removed first: each previous frame is
            moved onto the next by the Kabsch fit of these joints. None: raw displacement.

    Returns:
        (T − 1, J) float64; NaN where either frame is missing.
    """
    x = np.asarray(track_xyz_mm, np.float64)
    prev, nxt = x[:-1].copy(), x[1:]
    if align is not None:
        idx = list(align)
        for t in range(len(prev)):
            if np.isfinite(prev[t, idx]).all() and np.isfinite(nxt[t, idx]).all():
                rot, shift = _kabsch(prev[t, idx], nxt[t, idx])
                prev[t] = prev[t] @ rot.T + shift
    out: F64 = np.linalg.norm(nxt - prev, axis=-1)
    return out


def point_segment_distances_mm(points: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike) -> F64:
    """(N, 3) points, (B, 3) segment ends → (N, B) Euclidean distance from each point to each segment, mm."""
    p = np.asarray(points, np.float64)[:, None, :]
    a_ = np.asarray(a, np.float64)[None]
    ab = np.asarray(b, np.float64)[None] - a_
    denom = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    t = np.clip(np.sum((p - a_) * ab, axis=-1) / denom, 0.0, 1.0)
    out: F64 = np.linalg.norm(p - (a_ + t[..., None] * ab), axis=-1)
    return out


def hand_side_points(points_xyz_mm: npt.ArrayLike, joints_xyz_mm: npt.ArrayLike, joint_set: JointSet) -> Bool:
    """(N,) which points lie on the fingers' side of the wrist plane (the forearm lies on the other).

    The plane passes through the wrist, normal to the wrist → mean finger MCP axis. Every point counts when the joint
    set has no ``WRIST`` or no finger MCPs.
    """
    p = np.asarray(points_xyz_mm, np.float64)
    j = np.asarray(joints_xyz_mm, np.float64)
    names = joint_set.names
    mcps = [i for i, n in enumerate(names) if n.endswith("_MCP") and not n.startswith("THUMB")]
    if "WRIST" not in names or not mcps:
        return np.ones(len(p), bool)
    wrist = j[names.index("WRIST")]
    axis = j[mcps].mean(axis=0) - wrist
    side: Bool = (p - wrist) @ axis >= 0
    return side


def capsule_residuals_mm(
    points_xyz_mm: npt.ArrayLike,
    joints_xyz_mm: npt.ArrayLike,
    joint_set: JointSet,
    radii_mm: npt.ArrayLike | None = None,
) -> F64:
    """Distance of each observed point to the surface of the nearest bone capsule, ``|min_b (d_b − r_b)|``, mm.

    Args:
        points_xyz_mm: (N, 3) observed hand points, camera mm.
        joints_xyz_mm: (J, 3) the pose's joints, camera mm.
        joint_set: The pose's skeleton (its bones are the capsules' axes).
        radii_mm: (B,) capsule radii; default :func:`bone_radii_mm`.

    Returns:
        (N,) float64 mm.
    """
    j = np.asarray(joints_xyz_mm, np.float64)
    bones = np.asarray(joint_set.bones, np.int64)
    r = bone_radii_mm(joint_set) if radii_mm is None else np.asarray(radii_mm, np.float64)
    d = point_segment_distances_mm(points_xyz_mm, j[bones[:, 0]], j[bones[:, 1]])
    out: F64 = np.abs(np.min(d - r[None, :], axis=1))
    return out


def summarise_offsets(offsets_mm: npt.ArrayLike) -> dict[str, float]:
    """Distribution of surface offsets (any shape, mm; NaNs skipped).

    Returns:
        ``n``, ``median_mm``, ``p10_mm``, ``p90_mm``, ``front_10mm`` (fraction more than :data:`FRONT_MM` in front:
        implausible), ``behind_30mm`` (fraction more than :data:`BEHIND_MM` behind) and ``within_0_20mm``.
    """
    x = np.asarray(offsets_mm, np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        nan = float("nan")
        return {"n": 0, "median_mm": nan, "p10_mm": nan, "p90_mm": nan, "front_10mm": nan, "behind_30mm": nan,
                "within_0_20mm": nan}  # fmt: skip
    return {
        "n": int(x.size),
        "median_mm": float(np.median(x)),
        "p10_mm": float(np.percentile(x, 10)),
        "p90_mm": float(np.percentile(x, 90)),
        "front_10mm": float(np.mean(x < -FRONT_MM)),
        "behind_30mm": float(np.mean(x > BEHIND_MM)),
        "within_0_20mm": float(np.mean((x >= 0) & (x <= 20))),
    }
