"""Pure functions for depth-blob hand localisation: metric CoM, cube refinement, arm-to-hand extremity.

Ideas from DeepPrior++ (Oberweger & Lepetit 2017, §10 of the reference): a hand is a near depth blob; its centre is
the centre of mass of the pixels inside a metric cube, re-computed a few times. Implemented from the description;
no code was taken from the (GPL) original. The extremity step (keep the part of an arm blob farthest from where the
blob enters the view) is depthhand's addition for scenes where the forearm is part of the blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import xyz_to_uvd
from depthhand.structures import CameraIntrinsics, HandBox, Handedness

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class BlobPoints:
    """Pixels of one blob, full-image coordinates.

    Attributes:
        u: (N,) pixel columns.
        v: (N,) pixel rows.
        xyz_mm: (N, 3) camera mm of each pixel.
        area_mm2: (N,) metric area each pixel covers (mm², from its depth and the sampling step).
    """

    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    xyz_mm: F64
    area_mm2: F64


def blob_points(
    depth_mm: F32, mask: BoolArray, intrinsics: CameraIntrinsics, step: int = 1, offset: tuple[int, int] = (0, 0)
) -> BlobPoints:
    """Back-project the pixels of ``mask`` from a (possibly subsampled) depth image.

    Args:
        depth_mm: (h, w) depth in mm; pixel (i, j) is full-image pixel ``(offset_v + i·step, offset_u + j·step)``.
        mask: (h, w) the blob.
        intrinsics: Full-image camera.
        step: Subsampling step of ``depth_mm``.
        offset: (u0, v0) full-image pixel of ``depth_mm[0, 0]``.

    Returns:
        The blob's pixels with camera coordinates and per-pixel metric area ``(z·step/f)²``.
    """
    vi, ui = np.nonzero(mask)
    z = depth_mm[vi, ui].astype(np.float64)
    u = ui.astype(np.int64) * step + offset[0]
    v = vi.astype(np.int64) * step + offset[1]
    x = (u - intrinsics.cx) * z / intrinsics.fx
    y = (v - intrinsics.cy) * z / intrinsics.fy
    area = (z * step) ** 2 / (intrinsics.fx * intrinsics.fy)
    return BlobPoints(u, v, np.stack([x, y, z], axis=-1), area)


def center_of_mass(xyz_mm: F64, weights: F64 | None = None) -> F64 | None:
    """Metric centre of mass of points, ``None`` when there are none.

    Args:
        xyz_mm: (N, 3) points.
        weights: (N,) optional weights (e.g. pixel areas, so near and far pixels count by surface).

    Returns:
        (3,) float64 mean, or ``None``.
    """
    if len(xyz_mm) == 0:
        return None
    if weights is None:
        return np.asarray(xyz_mm.mean(axis=0), dtype=np.float64)
    total = float(weights.sum())
    if total <= 0:
        return None
    return np.asarray((xyz_mm * weights[:, None]).sum(axis=0) / total, dtype=np.float64)


def refine_in_cube(
    xyz_mm: F64, center_xyz_mm: F64, cube_mm: float, iterations: int = 3, weights: F64 | None = None
) -> F64:
    """DeepPrior++-style refinement: repeatedly take the CoM of the points inside the cube at the current centre.

    Args:
        xyz_mm: (N, 3) candidate points (e.g. a blob's pixels).
        center_xyz_mm: (3,) start centre.
        cube_mm: Cube side, mm.
        iterations: Refinement passes (stops early when the centre moves < 0.5 mm).
        weights: (N,) optional weights.

    Returns:
        (3,) the refined centre (the start centre if the cube holds no points).
    """
    center = np.asarray(center_xyz_mm, dtype=np.float64)
    half = cube_mm / 2.0
    for _ in range(iterations):
        inside = np.all(np.abs(xyz_mm - center) <= half, axis=1)
        com = center_of_mass(xyz_mm[inside], None if weights is None else weights[inside])
        if com is None:
            break
        moved = float(np.linalg.norm(com - center))
        center = com
        if moved < 0.5:
            break
    return center


def distance_to_set(points: F64, anchors: F64, max_anchors: int = 48) -> F64:
    """Euclidean distance from each point to its nearest anchor, mm.

    Args:
        points: (N, 3) points.
        anchors: (M, 3) anchors (subsampled evenly to ``max_anchors`` for speed).
        max_anchors: Anchor budget.

    Returns:
        (N,) distances; ``inf`` if there are no anchors.
    """
    if len(anchors) == 0:
        return np.full(len(points), np.inf)
    if len(anchors) > max_anchors:
        anchors = anchors[np.linspace(0, len(anchors) - 1, max_anchors).astype(np.int64)]
    p32, a32 = points.astype(np.float32), anchors.astype(np.float32)
    # |p − a|² = |p|² − 2·p·a + |a|², one matrix product instead of an (N, M, 3) temporary
    d2 = (p32**2).sum(axis=1)[:, None] - 2.0 * (p32 @ a32.T) + (a32**2).sum(axis=1)[None, :]
    out: F64 = np.sqrt(np.maximum(d2.min(axis=1), 0.0)).astype(np.float64)
    return out


def extremity_mask(
    points: F64, entry: BoolArray, hand_length_mm: float, reach_percentile: float = 98.0
) -> tuple[BoolArray, float]:
    """The part of a blob within ``hand_length_mm`` of its far end, measured from where the blob enters the view.

    An arm enters the view at the image border (or leaves the depth slice behind the hand); the hand is the part
    farthest from that entry. The blob's reach ``r`` is the ``reach_percentile`` of the points' distances to the
    entry set (robust to a few flying pixels far behind the blob); points with distance in
    ``[r − hand_length_mm, r + hand_length_mm / 4]`` are kept. A blob without entry points is kept whole.

    Args:
        points: (N, 3) blob points, mm.
        entry: (N,) True for the blob's entry points.
        hand_length_mm: Wrist-to-fingertip length to keep, mm.
        reach_percentile: Percentile of the entry distances taken as the blob's reach.

    Returns:
        ((N,) mask of the hand part, the blob's reach from its entry in mm (0 without entry points)).
    """
    if not entry.any():
        return np.ones(len(points), dtype=bool), 0.0
    dist = distance_to_set(points, points[entry])
    reach = float(np.percentile(dist, reach_percentile))
    keep = (dist >= reach - hand_length_mm) & (dist <= reach + 0.25 * hand_length_mm)
    return np.asarray(keep, dtype=bool), reach


def far_axis_end(points: F64, fraction: float = 0.1, key: F64 | None = None) -> BoolArray:
    """Entry guess for a blob that touches nothing: one end of its principal axis.

    The entry is the end whose points have the larger mean ``key``: by default depth (an arm reaching towards a
    camera in front of the user goes back to the body); a top-down installation passes the height above the table
    (the arm rises towards the shoulder).

    Args:
        points: (N, 3) blob points, mm.
        fraction: Share of the axis length that counts as an end.
        key: (N,) value deciding which end is the entry (default ``points[:, 2]``).

    Returns:
        (N,) True for points in the entry end.
    """
    if len(points) < 3:
        return np.zeros(len(points), dtype=bool)
    key = points[:, 2] if key is None else key
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    t = centred @ vt[0]
    lo, hi = float(t.min()), float(t.max())
    band = fraction * (hi - lo)
    low_end, high_end = t <= lo + band, t >= hi - band
    if key[low_end].mean() > key[high_end].mean():
        return np.asarray(low_end, dtype=bool)
    return np.asarray(high_end, dtype=bool)


def hand_box(
    depth_mm: F32,
    pts: BlobPoints,
    keep: BoolArray,
    intrinsics: CameraIntrinsics,
    step: int,
    cube_mm: float,
    iterations: int = 3,
    score: float = 1.0,
) -> HandBox | None:
    """A :class:`HandBox` from the full-resolution pixels under a subsampled hand mask.

    The subsampled hand pixels ``pts[keep]`` are upsampled to a full-resolution mask, limited to the hand's depth
    range (± 2·step mm), and back-projected; the box is their tight pixel bounds and the centre their area-weighted
    metric CoM refined by :func:`refine_in_cube`.

    Args:
        depth_mm: (H, W) full-resolution depth, mm (NaN / 0 ignored).
        pts: The blob's subsampled pixels (from :func:`blob_points` with ``step``).
        keep: (N,) the hand part of the blob.
        intrinsics: Full-resolution camera.
        step: Subsampling step of ``pts``.
        cube_mm: Refinement cube side, mm.
        iterations: Refinement passes.
        score: Detection score to store.

    Returns:
        The box, or ``None`` when no full-resolution pixel survives.
    """
    s = step
    h, w = depth_mm.shape
    u_k, v_k = pts.u[keep], pts.v[keep]
    if len(u_k) == 0:
        return None
    u0, u1 = int(u_k.min()), min(w, int(u_k.max()) + s)
    v0, v1 = int(v_k.min()), min(h, int(v_k.max()) + s)
    small_mask = np.zeros(((v1 - v0 + s - 1) // s, (u1 - u0 + s - 1) // s), dtype=bool)
    small_mask[(v_k - v0) // s, (u_k - u0) // s] = True
    mask = np.repeat(np.repeat(small_mask, s, axis=0), s, axis=1)[: v1 - v0, : u1 - u0]
    z_hand = pts.xyz_mm[keep, 2]
    window = depth_mm[v0:v1, u0:u1]
    with np.errstate(invalid="ignore"):
        mask &= (window >= z_hand.min() - 2.0 * s) & (window <= z_hand.max() + 2.0 * s)
    full = blob_points(window, mask, intrinsics, 1, (u0, v0))
    com = center_of_mass(full.xyz_mm, full.area_mm2)
    if com is None:
        return None
    center = refine_in_cube(full.xyz_mm, com, cube_mm, iterations, full.area_mm2)
    box = np.array([full.u.min(), full.v.min(), full.u.max() + 1, full.v.max() + 1], np.float32)
    return HandBox(
        center_uvd=xyz_to_uvd(center, intrinsics).astype(np.float32),
        center_xyz_mm=center.astype(np.float32),
        box_xyxy=box,
        score=float(np.clip(score, 0.0, 1.0)),
        handedness=Handedness.UNKNOWN,
    )
