"""Which pixels of a normalised pose patch are the hand: the surface it rests on is removed, then one component.

A hand resting on a table (or pressed against a wall or a torso) is one depth-continuous surface with it, so a
connected component cut only at depth steps holds the whole table. Where that component covers much of the patch's
border ring (:data:`PLANE_WHEN_BORDER`), :func:`support_plane` fits a plane robustly
(RANSAC, then least squares on its inliers) to the patch's border ring, where a hand enters its cube only through
one narrow wrist and the rest of the border is what lies behind it. Where that plane explains most of the border
(:data:`PLANE_MIN_INLIERS` of the ring pixels with depth, and those are at least :data:`PLANE_MIN_BORDER` of the
ring) and hides almost nothing (at most :data:`PLANE_MAX_BEHIND` of the patch's pixels lie behind it), every pixel
within :data:`PLANE_DROP_MM` of it or behind it is removed before :func:`hand_component` keeps the 8-connected
component nearest the patch centre (cut at neighbour steps > :data:`STEP_MM`) again.

The plane is fitted in the patch's pixel grid ``(j, i)`` on ``q = z_c² / z`` (mm): for any plane in camera space,
``1 / z`` is affine in the image pixel, and the patch pixel is affine in the image pixel, so ``q`` is exactly affine
in ``(j, i)``; distances are measured along the ray, in depth (mm), which for a tilted surface is at least the
perpendicular distance.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from depthhand.geometry.crop import BACKGROUND

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

STEP_MM = 20.0
"""Largest depth step between neighbouring pixels of one surface, mm."""
PLANE_WHEN_BORDER = 0.25
"""The support plane is looked for only when the component, cut at depth steps alone, covers at least this fraction
of the patch's border ring (a hand enters through its wrist, 5–10 % of it; a hand joined to its table, 50–100 %)."""
PLANE_INLIER_MM = 8.0
"""A border pixel whose depth lies within this of the plane's (along its ray) is explained by it, mm."""
PLANE_DROP_MM = 10.0
"""Pixels less than this in front of the support plane, or behind it, are the surface, not the hand, mm."""
PLANE_MIN_BORDER = 0.25
"""The support plane is looked for only when at least this fraction of the border ring has depth."""
PLANE_MIN_INLIERS = 0.6
"""...and used only when it explains at least this fraction of the ring pixels with depth."""
PLANE_MAX_BEHIND = 0.1
"""...and not used when more than this fraction of the patch's depth pixels lie behind it."""
PLANE_TRIES = 24
"""RANSAC hypotheses (fixed triples of border positions: the result is deterministic)."""
PLANE_MIN_AREA_PX = 60.0
"""Smallest (twice the) triangle area of a hypothesis' three border pixels, px² (rejects near-collinear triples)."""


@cache
def _ring(size: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The (v, u) indices of the patch's outermost ring of pixels, clockwise from the top-left corner."""
    s = size - 1
    top = [(0, u) for u in range(s)]
    right = [(v, s) for v in range(s)]
    bottom = [(s, u) for u in range(s, 0, -1)]
    left = [(v, 0) for v in range(s, 0, -1)]
    vu = np.array(top + right + bottom + left, np.intp)
    return vu[:, 0].copy(), vu[:, 1].copy()


@cache
def _triples() -> F64:
    """(PLANE_TRIES, 3) fixed positions in [0, 1) of each hypothesis' three pixels among the ring's valid ones."""
    base = np.random.default_rng(20261202).random((PLANE_TRIES, 3))
    # spread each triple around the ring (one pixel per third, jittered): fewer collinear triples on one edge
    out: F64 = (base + np.arange(3)[None, :]) / 3
    return out


@cache
def _grid(size: int) -> tuple[F32, F32, F32]:
    """(S, S) patch column and row indices, and their squared pixel distance to the patch centre."""
    i, j = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    return j, i, (j - c) ** 2 + (i - c) ** 2


def support_plane(patch: npt.ArrayLike, center_z_mm: float, half_z_mm: float) -> F64 | None:
    """The plane behind the hand, fitted to the patch's border ring, or None where no plane explains it.

    Args:
        patch: (S, S) normalised depth (``(d − z_c) / half_z``; :data:`BACKGROUND` = none).
        center_z_mm: The crop centre's depth ``z_c``, mm.
        half_z_mm: Half the cube's depth, mm.

    Returns:
        (3,) ``(a, b, c)`` with ``z_c² / z = a·j + b·i + c`` on the plane (``j`` column, ``i`` row of the patch),
        or None (module docstring).
    """
    p = np.asarray(patch, np.float32)
    rv, ru = _ring(p.shape[0])
    b = p[rv, ru]
    ok = (b < BACKGROUND) & (b > -1.0)  # −1: nearer than the cube (clipped), no depth to fit
    n = int(np.count_nonzero(ok))
    if n < PLANE_MIN_BORDER * len(b) or n < 3:
        return None
    zc2 = center_z_mm * center_z_mm
    z = center_z_mm + half_z_mm * b[ok].astype(np.float64)
    q = zc2 / z
    design = _ring_design(p.shape[0])[ok]  # (n, 3): j, i, 1
    idx = np.minimum((_triples() * n).astype(np.intp), n - 1)  # (K, 3) one hypothesis per row
    tj, ti, tq = design[idx, 0], design[idx, 1], q[idx]
    e1j, e1i, e1q = tj[:, 1] - tj[:, 0], ti[:, 1] - ti[:, 0], tq[:, 1] - tq[:, 0]
    e2j, e2i, e2q = tj[:, 2] - tj[:, 0], ti[:, 2] - ti[:, 0], tq[:, 2] - tq[:, 0]
    nz = e1j * e2i - e1i * e2j  # the normal (e1 × e2): its q part is twice the triangle's pixel area
    good = np.abs(nz) >= PLANE_MIN_AREA_PX
    if not good.any():
        return None
    coef = np.empty((3, int(np.count_nonzero(good))))
    coef[0] = -(e1i * e2q - e1q * e2i)[good] / nz[good]
    coef[1] = -(e1q * e2j - e1j * e2q)[good] / nz[good]
    coef[2] = tq[good, 0] - coef[0] * tj[good, 0] - coef[1] * ti[good, 0]
    inliers = _inliers(design @ coef, z, zc2)  # (n, K)
    counts = np.count_nonzero(inliers, axis=0)
    k = int(np.argmax(counts))
    if counts[k] < PLANE_MIN_INLIERS * n:
        return None
    d = design[inliers[:, k]]
    refined = _solve3(d.T @ d, d.T @ q[inliers[:, k]])  # least squares on the inliers
    if refined is None or np.count_nonzero(_inliers(design @ refined, z, zc2)) < PLANE_MIN_INLIERS * n:
        return None
    return refined


def _solve3(m: F64, rhs: F64) -> F64 | None:
    """The solution of the 3 × 3 system ``m x = rhs``, or None where ``m`` is singular.

    By the adjugate (``np.linalg.solve`` costs more than the arithmetic at this size).
    """
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    co = (e * i - f * h, f * g - d * i, d * h - e * g)  # the first row's cofactors
    det = a * co[0] + b * co[1] + c * co[2]
    if abs(det) <= 1e-12 * max(abs(a * e * i), 1e-300):
        return None
    inv = np.array(
        [
            [co[0], c * h - b * i, b * f - c * e],
            [co[1], a * i - c * g, c * d - a * f],
            [co[2], b * g - a * h, a * e - b * d],
        ]
    )
    out: F64 = inv @ rhs / det
    return out


@cache
def _ring_design(size: int) -> F64:
    """(4 S − 4, 3) the ring pixels' ``(j, i, 1)``."""
    rv, ru = _ring(size)
    out: F64 = np.stack([ru, rv, np.ones(len(ru))], axis=-1).astype(np.float64)
    return out


def _inliers(q_plane: F64, z_mm: F64, zc2: float) -> Bool:
    """Which observed depths ``z_mm`` (n,) lie within :data:`PLANE_INLIER_MM` of the plane's ``z_c² / q_plane``.

    ``q_plane`` is (n,) or (n, K); a plane with ``q <= 0`` at a pixel lies behind the camera there (no inlier).
    """
    zo = z_mm if q_plane.ndim == 1 else z_mm[:, None]
    # |z − z_c²/q| < tol ⟺ |z q − z_c²| < tol q for q > 0; for q <= 0 the right side is <= 0: never an inlier
    out: Bool = np.abs(zo * q_plane - zc2) < PLANE_INLIER_MM * q_plane
    return out


def remove_plane(patch: npt.ArrayLike, plane: F64, center_z_mm: float, half_z_mm: float) -> F32 | None:
    """(S, S) copy of ``patch`` with the plane's pixels (within :data:`PLANE_DROP_MM` or behind it) as background.

    None when more than :data:`PLANE_MAX_BEHIND` of the patch's depth pixels lie more than
    :data:`PLANE_INLIER_MM` behind the plane: it is no surface behind the hand (e.g. the plane through two parallel
    edges of the border at different depths, such as two walls).
    """
    p = np.asarray(patch, np.float32)
    j, i, _ = _grid(p.shape[0])
    a, b, c = (np.float32(x) for x in plane)
    q = a * j + b * i + c
    zq = (np.float32(center_z_mm) + np.float32(half_z_mm) * p) * q
    zc2 = np.float32(center_z_mm * center_z_mm)
    seen = p < BACKGROUND
    # z − tol > z_c² / q  ⟺  z q > z_c² + tol q, where q > 0 (where q <= 0 the plane is behind the camera)
    behind = np.count_nonzero((zq > zc2 + np.float32(PLANE_INLIER_MM) * q) & seen & (q > 0))
    if behind > PLANE_MAX_BEHIND * np.count_nonzero(seen):
        return None
    # z + drop >= z_c² / q  ⟺  z q + drop q >= z_c²
    out: F32 = np.where(zq + np.float32(PLANE_DROP_MM) * q >= zc2, np.float32(BACKGROUND), p)
    return out


def hand_component(patch: npt.ArrayLike, half_z_mm: float, px_mm: float) -> Bool:
    """(S, S) the 8-connected component nearest the patch centre in 3-D, after cutting every depth step.

    A pixel with a 4-neighbour more than :data:`STEP_MM` nearer or farther is cut (both pixels of a step: a hand
    on a desk stays apart from it; the outline against the background is cut too).

    Args:
        patch: (S, S) normalised depth (``(d − z_c) / half_z``; :data:`BACKGROUND` = none).
        half_z_mm: Half the cube's depth, mm.
        px_mm: Patch pixel size at the centre's depth, mm.

    Returns:
        (S, S) bool; all False when the patch holds no depth.
    """
    import cv2

    p = np.asarray(patch, np.float32)
    step = np.float32(STEP_MM / half_z_mm)
    cross = _cross()
    high = cv2.dilate(p, cross)  # the border is ignored (OpenCV's default border for morphology)
    low = cv2.erode(p, cross)
    core = (p < BACKGROUND) & (high - p <= step) & (p - low <= step)
    if not core.any():
        return core
    _, _, r2 = _grid(p.shape[0])
    d2 = r2 * np.float32(px_mm * px_mm) + np.square(p * np.float32(half_z_mm))
    seeds = core.view(np.uint8)
    _, _, seed, _ = cv2.minMaxLoc(d2, seeds)  # the core pixel nearest the centre in 3-D
    # its 8-connected component: a flood fill from it (one thread, touches only the component; OpenCV's labelling
    # of every component runs on its thread pool, whose wake-up costs more than the labelling in a live pipeline)
    filled = seeds.copy()
    cv2.floodFill(filled, None, seed, 2, flags=8)
    out: Bool = filled == 2
    return out


def hand_pixels(patch: npt.ArrayLike, center_z_mm: float, half_z_mm: float, px_mm: float) -> tuple[Bool, bool]:
    """(S, S) the hand pixels of a normalised patch (module docstring), and whether a support plane was removed.

    Args:
        patch: (S, S) normalised depth.
        center_z_mm: The crop centre's depth, mm.
        half_z_mm: Half the cube's depth, mm.
        px_mm: Patch pixel size at the centre's depth, mm.
    """
    p = np.asarray(patch, np.float32)
    mask = hand_component(p, half_z_mm, px_mm)
    rv, ru = _ring(p.shape[0])
    if np.count_nonzero(mask[rv, ru]) < PLANE_WHEN_BORDER * len(rv):  # the component holds no surface: done
        return mask, False
    plane = support_plane(p, center_z_mm, half_z_mm)
    cleaned = None if plane is None else remove_plane(p, plane, center_z_mm, half_z_mm)
    if cleaned is None:
        return mask, False
    return hand_component(cleaned, half_z_mm, px_mm), True


@cache
def _cross() -> npt.NDArray[np.uint8]:
    """The 3 × 3 cross: a pixel and its 4-neighbours (the neighbours whose depth steps cut a surface)."""
    out = np.zeros((3, 3), np.uint8)
    out[1, :] = out[:, 1] = 1
    return out


__all__ = ["hand_component", "hand_pixels", "remove_plane", "support_plane"]
