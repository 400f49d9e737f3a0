"""The fingertip's own depth pixels: finger segmentation bounded by depth edges and the DIRECT tip statistic.

DIRECT (Xiao, Hudson, Harrison, ISS 2016; reference §2.1) decides contact from the pixels at the very end of the
finger: flood-fill the finger's pixels above the surface, bounded by edges, and average the height of the pixels
farthest along the finger. This module does that on one window of the height map
(:meth:`depthhand.interact.surface.SurfaceModel.heights`):

1. **Reliable pixels** (:func:`finger_mask`): above the surface (``z > noise_z`` and ``h > noise_floor_mm``), not on
   a depth edge, and below the hand zone (``h < hand_band_mm``). A pixel is on a depth edge when its depth's
   second difference (4-neighbour Laplacian) exceeds the largest of ``edge_mm``, ``edge_sigmas · σ`` (σ the
   surface's per-pixel noise) and ``edge_noise_mm`` (a multiple of the largest Laplacian the empty surface showed
   while the surface model learned, :attr:`~depthhand.interact.surface.SurfaceModel.laplacian_noise_mm`: the
   threshold follows the sensor). A smooth slope (a steep finger's top) has a small second difference; the mixed
   ("flying") pixels a time-of-flight sensor reports between finger and table (random depths between the two) have
   large ones. A pixel with an invalid neighbour is not tested (structured-light shadows border every finger).
   The mask may then be eroded by ``erode_px`` (default none: at 0.8–1.2 m a fingertip is only 6–11 px wide).
   In mm, the threshold suits VGA sensors: a surface's second difference grows with the pixel size squared.
2. **The finger's blob**: the 8-connected component of the reliable pixels nearest the pose's fingertip, within
   ``search_mm`` of it, blobs under ``min_blob_px`` dropped (DIRECT: fingers ≥ 10 px). Depth edges cut a finger
   lying over the palm or beside an object from them. Only the blob's pixels within ``corridor_mm`` of the pose's
   finger line count, and only those at most ``span_mm`` above its lowest: seen from above, an extended middle
   finger of the same hand can reach past the index tip, 30–50 mm higher.
3. **Tip pixels** (:func:`tip_statistic`): the ``tip_pixels`` pixels of that blob farthest along the finger (the
   direction from the pose's MCP joint to its fingertip, in the image). When they lie near the border of the
   search disk (the pose's fingertip is short of the real one) the disk is moved onto them once and they are
   taken again.

The statistic is the mean height of the tip pixels: a finger whose tip sphere touches the table shows its top at
≈ its radius plus the slope of a few pixels there (≈ 8–14 mm on the stress scenes), one hovering ``d`` mm shows
the same pixels ``d`` mm higher. The pose only says where to look, so the statistic does not depend on the pose's
height error. :class:`TipPixels` also carries the pixels' mean σ (for thresholds in σ units), the centroid of
their surface points and how far the low part of the blob runs back along the finger (a resting flat finger).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TipPixels:
    """The tip pixels of one finger in one window (window pixel coordinates).

    Attributes:
        height_mm: Mean height of the tip pixels above the surface, mm.
        sigma_mm: Mean surface noise σ of the tip pixels as a height, mm (divide by ``sqrt(n)`` for the mean's σ).
        n: Number of tip pixels.
        u: (n,) their window columns.
        v: (n,) their window rows.
        low_length_px: Extent along the finger, behind the tip pixels, of the blob's pixels lower than
            ``height_mm + rest_band_mm`` within the finger's width (a finger lying flat on the table), px.
        blob_pixels: Pixels of the blob inside the search disk.
    """

    height_mm: float
    sigma_mm: float
    n: int
    u: npt.NDArray[np.intp]
    v: npt.NDArray[np.intp]
    low_length_px: float
    blob_pixels: int


def finger_mask(
    depth_mm: F32,
    h: F32,
    zs: F32,
    valid: B,
    sigma_h_mm: F32,
    noise_z: float,
    noise_floor_mm: float,
    hand_band_mm: float,
    edge_mm: float,
    edge_sigmas: float,
    erode_px: int,
    edge_noise_mm: float = 0.0,
) -> B:
    """Reliable hand pixels of a window: above the surface, off depth edges, below the hand zone's top.

    Args:
        depth_mm: (h, w) depth of the window, mm (0 = invalid).
        h: (h, w) height above the surface, mm.
        zs: (h, w) the same in σ units.
        valid: (h, w) where the depth is valid.
        sigma_h_mm: (h, w) the surface's per-pixel noise σ, mm of depth.
        noise_z: Pixels within this many σ of the surface are surface.
        noise_floor_mm: ... and those lower than this, mm.
        hand_band_mm: Pixels higher than this are arm, mm.
        edge_mm: Smallest |Laplacian| of the depth that makes a pixel an edge pixel, mm.
        edge_sigmas: ... or this many σ of the pixel's noise, whichever is larger.
        erode_px: Erosion of the mask afterwards, px (0: none).
        edge_noise_mm: ... or this (e.g. a multiple of the empty surface's largest Laplacian,
            :attr:`depthhand.interact.surface.SurfaceModel.laplacian_noise_mm`), whichever is largest, mm.

    Returns:
        (h, w) bool mask.
    """
    import cv2

    d = np.where(valid, depth_mm, 0.0).astype(np.float32)
    k3 = np.ones((3, 3), np.uint8)
    # second difference: ≈ 0 on a smooth slope (a steep finger), large at a silhouette and at mixed pixels
    lap = np.abs(cv2.Laplacian(d, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REPLICATE))
    # only where all four neighbours are valid (an invalid neighbour, 0, says nothing about the pixel)
    v8 = valid.astype(np.uint8)
    all4 = cv2.erode(v8, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8), borderValue=1) > 0
    edge = all4 & (lap > np.maximum(max(edge_mm, edge_noise_mm), edge_sigmas * sigma_h_mm))
    mask: B = valid & (zs > noise_z) & (h > noise_floor_mm) & (h < hand_band_mm) & ~edge
    if erode_px > 0:
        mask = cv2.erode(mask.astype(np.uint8), k3, iterations=erode_px, borderValue=1).astype(bool)
    return mask


def tip_statistic(
    labels: npt.NDArray[np.int32],
    h: F32,
    sigma_h_mm: F32,
    tip_uv: tuple[float, float],
    axis_uv: tuple[float, float],
    radius_px: float,
    tip_pixels: int,
    width_px: float,
    rest_band_mm: float,
    corridor_px: float = float("inf"),
    span_mm: float = float("inf"),
) -> TipPixels | None:
    """The tip pixels of the finger whose pose fingertip is at ``tip_uv`` (see the module docstring).

    Args:
        labels: (h, w) connected components of the reliable mask (0 = none).
        h: (h, w) heights above the surface, mm.
        sigma_h_mm: (h, w) per-pixel noise σ as a height, mm.
        tip_uv: The pose's fingertip in window pixels.
        axis_uv: Unit direction of the finger in the image (towards the tip).
        radius_px: Radius of the search disk, px.
        tip_pixels: How many of the farthest pixels to average.
        width_px: Half-width of the corridor along the finger in which the low part is measured, px.
        rest_band_mm: Pixels lower than the statistic plus this count as the low part, mm.
        corridor_px: Only pixels at most this far from the finger's line (through ``tip_uv`` along ``axis_uv``), px.
        span_mm: Only pixels at most this much higher than the blob's 5th-lowest pixel in the disk, mm (a finger
            of the same hand reaching past this one in the image lies higher).

    Returns:
        The tip pixels, or ``None`` when no reliable pixel lies in the disk.
    """
    hh, ww = labels.shape
    ax, ay = axis_uv
    cu, cv = tip_uv
    for attempt in range(2):
        a0, b0 = max(int(cu - radius_px), 0), max(int(cv - radius_px), 0)
        a1, b1 = min(int(cu + radius_px) + 1, ww), min(int(cv + radius_px) + 1, hh)
        if a1 <= a0 or b1 <= b0:
            return None
        lab = labels[b0:b1, a0:a1]
        du = np.arange(a0, a1, dtype=np.float64)[None, :] - cu
        dv = np.arange(b0, b1, dtype=np.float64)[:, None] - cv
        dist2 = du * du + dv * dv
        cand = (lab > 0) & (dist2 <= radius_px * radius_px)
        if not cand.any():
            return None
        best = int(lab[cand][np.argmin(dist2[cand])])
        across = np.abs(-du * ay + dv * ax)
        vs, us = np.nonzero(cand & (lab == best) & (across <= corridor_px))
        if len(us) == 0:
            return None
        # another finger reaching past this one (seen from above) lies higher: keep the finger's own height range
        hc = h[vs + b0, us + a0]
        q = min(4, len(hc) - 1)
        own = hc <= float(np.partition(hc, q)[q]) + span_mm
        vs, us = vs[own], us[own]
        along = (us + a0 - cu) * ax + (vs + b0 - cv) * ay
        k = min(tip_pixels, len(us))
        top = np.argpartition(-along, k - 1)[:k] if len(us) > k else np.arange(len(us))
        reach = float(along[top].mean())
        if attempt == 0 and reach > radius_px - 3.0:  # the real tip lies beyond the disk: look there
            cu, cv = cu + ax * reach, cv + ay * reach
            continue
        break
    tu, tv = us[top] + a0, vs[top] + b0
    stat = float(h[tv, tu].mean())
    sig = float(sigma_h_mm[tv, tu].mean())
    # the low part of the blob behind the tip pixels, within the finger's corridor (a flat finger lies low)
    tip_u, tip_v = float(tu.mean()), float(tv.mean())
    r3 = 3.0 * radius_px  # the low part is looked for within 3 search radii of the tip (≈ 84 mm)
    c0, r0 = max(int(tip_u - r3), 0), max(int(tip_v - r3), 0)
    c1, r1 = min(int(tip_u + r3) + 1, ww), min(int(tip_v + r3) + 1, hh)
    # only the corridor behind the tip can hold the low part: its bounding box within that window (same pixels)
    back = math.sqrt(2.0) * (r3 + 2.0)  # no pixel of the window lies farther from the tip
    cu_ = (tip_u, tip_u - back * ax)
    cv_ = (tip_v, tip_v - back * ay)
    wu, wv = width_px * abs(ay), width_px * abs(ax)
    c0, c1 = max(c0, math.floor(min(cu_) - wu) - 1), min(c1, math.ceil(max(cu_) + wu) + 2)
    r0, r1 = max(r0, math.floor(min(cv_) - wv) - 1), min(r1, math.ceil(max(cv_) + wv) + 2)
    if c1 <= c0 or r1 <= r0:
        return TipPixels(stat, sig, int(k), tu, tv, 0.0, len(us))
    vs_all, us_all = np.nonzero(labels[r0:r1, c0:c1] == best)
    vs_all, us_all = vs_all + r0, us_all + c0
    along_all = (us_all - tip_u) * ax + (vs_all - tip_v) * ay
    across = np.abs(-(us_all - tip_u) * ay + (vs_all - tip_v) * ax)
    low = (across <= width_px) & (along_all <= 0) & (h[vs_all, us_all] < stat + rest_band_mm)
    low_len = float(-along_all[low].min()) if low.any() else 0.0
    return TipPixels(stat, sig, int(k), tu, tv, low_len, len(us))
