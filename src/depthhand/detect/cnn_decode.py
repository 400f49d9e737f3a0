"""Input preparation and output decoding of the learned depth-only hand detector (pure numpy + OpenCV).

The detector network (:mod:`depthhand.models.detector`, run with ONNX Runtime by :mod:`depthhand.detect.cnn`) sees
a letterboxed, downscaled depth image and predicts, on a grid of stride :data:`STRIDE` (CenterNet-style, Zhou et
al. 2019, "Objects as Points"; re-implemented):

* ``heat``: (1, Hg, Wg) probability that a hand centre (the projected palm centre) lies in the cell;
* ``right``: (1, Hg, Wg) probability that the hand is a right hand;
* ``offset``: (2, Hg, Wg) sub-cell position of the centre, in cells, in [0, 1);
* ``ltrb``: (4, Hg, Wg) log distances (input pixels) from the centre to the box's left, top, right, bottom edges.

Coordinates: *input pixels* are pixels of the network input (pixel-centre convention, pixel ``i`` has centre
``i``); a full-frame pixel ``u`` maps to ``u · scale + (scale − 1) / 2`` (the convention of
:meth:`CameraIntrinsics.scaled`); grid cell ``j`` covers input pixels ``[STRIDE·j, STRIDE·(j+1))`` and a centre at
input pixel ``c`` is encoded as ``c / STRIDE = j + offset``.

Input normalisation (two channels): ``inv = clip(1 − depth_mm / far_mm, 0, 1)`` for valid pixels and 0 for
invalid ones (invalid reads as "far", the way short-range sensors drop the background), and the validity mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.numeric import median

F32 = npt.NDArray[np.float32]
STRIDE = 4
INPUT_WIDTH = 160
INPUT_HEIGHT = 120
FAR_MM = 3000.0
MIN_VALID_FRACTION = 0.25
"""A downscaled pixel is valid when at least this fraction of its source pixels is."""


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a full frame maps to the network input.

    Attributes:
        scale: Input pixels per frame pixel (same along u and v).
        width: Input width, pixels.
        height: Input height, pixels.
    """

    scale: float
    width: int
    height: int

    def to_input(self, uv: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(…, 2) frame pixels → input pixels."""
        out: npt.NDArray[np.float64] = np.asarray(uv, np.float64) * self.scale + (self.scale - 1.0) / 2.0
        return out

    def to_frame(self, uv: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(…, 2) input pixels → frame pixels (inverse of :meth:`to_input`)."""
        out: npt.NDArray[np.float64] = (np.asarray(uv, np.float64) - (self.scale - 1.0) / 2.0) / self.scale
        return out


def downscale_depth(
    depth_mm: npt.NDArray[np.floating], width: int = INPUT_WIDTH, height: int = INPUT_HEIGHT
) -> tuple[F32, Letterbox]:
    """Valid-aware area downscaling of a depth image into a ``(height, width)`` letterbox (zeros = invalid pad).

    Each output pixel is the mean of the valid source pixels it covers (invalid when fewer than
    :data:`MIN_VALID_FRACTION` are valid); the aspect ratio is kept and the right/bottom margins are padded.

    Args:
        depth_mm: (H, W) depth in mm, 0 / NaN / inf / negative = invalid.
        width: Output width, pixels.
        height: Output height, pixels.

    Returns:
        ``(depth_small_mm, letterbox)``: (height, width) float32 depth in mm (0 = invalid) and the mapping.
    """
    import cv2

    d = np.asarray(depth_mm, np.float32)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise ValueError(f"depth_mm must be a non-empty (H, W) array, got shape {d.shape}")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d > 0)
    d = np.where(ok, d, np.float32(0.0))
    h, w = d.shape
    scale = min(width / w, height / h)
    nw, nh = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    sd = cv2.resize(d, (nw, nh), interpolation=interp)
    sv = cv2.resize(ok.astype(np.float32), (nw, nh), interpolation=interp)
    small = np.where(sv >= MIN_VALID_FRACTION, sd / np.maximum(sv, 1e-6), 0.0).astype(np.float32)
    out = np.zeros((height, width), np.float32)
    out[:nh, :nw] = small
    return out, Letterbox(scale=float(scale), width=width, height=height)


def normalize_depth(depth_small_mm: F32, far_mm: float = FAR_MM) -> F32:
    """(H, W) depth in mm → (2, H, W) float32 network input (inverted clipped depth, validity mask).

    Example:
        >>> normalize_depth(np.array([[0.0, 1500.0]], np.float32), far_mm=3000.0)[:, 0].tolist()
        [[0.0, 0.5], [0.0, 1.0]]
    """
    d = np.asarray(depth_small_mm, np.float32)
    valid = d > 0
    inv = np.where(valid, np.clip(1.0 - d / np.float32(far_mm), 0.0, 1.0), 0.0)
    return np.stack([inv, valid]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Peak:
    """One decoded detection in input pixels.

    Attributes:
        center_uv: (2,) hand centre, input pixels.
        box_xyxy: (4,) box, input pixels.
        score: Heat-map probability at the peak.
        right_prob: Probability that the hand is a right hand.
    """

    center_uv: npt.NDArray[np.float64]
    box_xyxy: npt.NDArray[np.float64]
    score: float
    right_prob: float


def local_maxima(heat: F32, threshold: float) -> npt.NDArray[np.int64]:
    """(N, 2) (row, col) of cells that are ≥ ``threshold`` and the maximum of their 3×3 neighbourhood.

    Ties (plateaus) keep only the first cell in row-major order. A finite map takes one 3×3 dilation (OpenCV), then
    the tie rule on the few cells that equal their neighbourhood's maximum; the result is the same as comparing every
    cell with its eight neighbours, which a map with NaNs still does.
    """
    h = np.asarray(heat, np.float32)
    if h.ndim != 2:
        raise ValueError(f"heat must be (Hg, Wg), got shape {h.shape}")
    if h.size and np.isfinite(h).all():
        return _local_maxima_dilated(h, threshold)
    hg, wg = h.shape
    padded = np.full((hg + 2, wg + 2), -np.inf, np.float32)
    padded[1:-1, 1:-1] = h
    is_max = h >= threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neigh = padded[1 + dy : 1 + dy + hg, 1 + dx : 1 + dx + wg]
            # strictly greater than earlier neighbours, ≥ later ones: one winner per plateau
            is_max &= (h > neigh) if (dy, dx) < (0, 0) else (h >= neigh)
    rc: npt.NDArray[np.int64] = np.argwhere(is_max).astype(np.int64)
    return rc


def _local_maxima_dilated(h: F32, threshold: float) -> npt.NDArray[np.int64]:
    """:func:`local_maxima` of a finite map (the same cells, found another way).

    The cells ≥ the threshold that equal their 3×3 maximum, less the plateau cells with an equal neighbour before
    them in row-major order (those are not strictly greater than it).
    """
    import cv2

    hg, wg = h.shape
    neighbourhood = cv2.dilate(h, _KERNEL_3X3)  # the border counts as -inf
    rc = np.argwhere((h >= threshold) & (h == neighbourhood))
    keep = []
    for r, c in rc.tolist():
        v = h[r, c]
        earlier = ((r - 1, c - 1), (r - 1, c), (r - 1, c + 1), (r, c - 1))
        keep.append(not any(0 <= y < hg and 0 <= x < wg and h[y, x] == v for y, x in earlier))
    out: npt.NDArray[np.int64] = rc[np.asarray(keep, bool)].astype(np.int64).reshape(-1, 2)
    return out


_KERNEL_3X3 = np.ones((3, 3), np.uint8)


def _nan_to_num(values: npt.NDArray[np.floating], nan: float = 0.0) -> npt.NDArray[np.floating]:
    """``np.nan_to_num(values, nan=nan)``, skipped (the same array back) when every value is finite."""
    if np.isfinite(values).all():
        return values
    out: npt.NDArray[np.floating] = np.nan_to_num(values, nan=nan)
    return out


def decode_outputs(
    heat: F32,
    right: F32,
    offset: F32,
    ltrb: F32,
    threshold: float = 0.3,
    max_hands: int = 4,
    nms_center_frac: float = 0.5,
    stride: int = STRIDE,
) -> list[Peak]:
    """Peaks of the heat map → at most ``max_hands`` detections, best first.

    A peak is dropped when its centre lies within ``nms_center_frac`` × (the smaller side of a stronger
    detection's box) of that detection's centre (two peaks on one hand).

    Args:
        heat: (Hg, Wg) centre probability.
        right: (Hg, Wg) right-hand probability.
        offset: (2, Hg, Wg) sub-cell centre (x, y), cells.
        ltrb: (4, Hg, Wg) log distances to the box edges, input pixels.
        threshold: Minimum heat probability.
        max_hands: Maximum number of detections.
        nms_center_frac: Centre-distance suppression radius relative to box size.
        stride: Input pixels per grid cell.

    Returns:
        List of :class:`Peak` sorted by score (descending).
    """
    heat = np.asarray(heat, np.float32)
    if heat.ndim != 2 or np.shape(offset) != (2, *heat.shape) or np.shape(ltrb) != (4, *heat.shape):
        raise ValueError(
            f"decode_outputs expects heat (Hg, Wg), offset (2, Hg, Wg), ltrb (4, Hg, Wg); got "
            f"{heat.shape}, {np.shape(offset)}, {np.shape(ltrb)}"
        )
    if max_hands < 1:
        return []
    heat = _nan_to_num(heat, nan=0.0)
    rc = local_maxima(heat, threshold)
    if len(rc) == 0:
        return []
    rc = rc[np.argsort(-heat[rc[:, 0], rc[:, 1]], kind="stable")]
    r, c = rc[:, 0], rc[:, 1]
    # Every candidate at once, with the per-peak formulas: (2, K) offsets, (K,) centres, (4, K) edge distances.
    off = np.clip(_nan_to_num(np.asarray(offset)[:, r, c], nan=0.5), 0.0, 1.0)
    cus, cvs = (c + off[0]) * stride, (r + off[1]) * stride
    dist = np.exp(np.clip(_nan_to_num(np.asarray(ltrb)[:, r, c]), -3.0, 8.0))
    boxes = np.stack([cus - dist[0], cvs - dist[1], cus + dist[2], cvs + dist[3]], axis=1).astype(np.float64)
    scores = heat[r, c]
    rights = _nan_to_num(np.asarray(right)[r, c], nan=0.5)
    peaks: list[Peak] = []
    for k in range(len(rc)):
        cu, cv = cus[k], cvs[k]
        dup = False
        for p in peaks:
            side = min(p.box_xyxy[2] - p.box_xyxy[0], p.box_xyxy[3] - p.box_xyxy[1])
            if np.hypot(cu - p.center_uv[0], cv - p.center_uv[1]) < nms_center_frac * side:
                dup = True
                break
        if dup:
            continue
        peaks.append(Peak(np.array([cu, cv]), boxes[k], float(scores[k]), float(rights[k])))
        if len(peaks) >= max_hands:
            break
    return peaks


def encode_center(center_uv: npt.ArrayLike, stride: int = STRIDE) -> tuple[int, int, float, float]:
    """Input-pixel centre → (row, col, offset_x, offset_y); the inverse of the centre part of decoding."""
    cu, cv = (float(x) / stride for x in np.asarray(center_uv, np.float64))
    col, row = int(np.floor(cu)), int(np.floor(cv))
    return row, col, cu - col, cv - row


def surface_depth(
    depth_mm: npt.NDArray[np.floating],
    center_uv: npt.ArrayLike,
    radius_px: int,
    layer_mm: float = 60.0,
    near_mm: float | None = None,
    far_mm: float | None = None,
) -> float:
    """Depth of the nearest plausible surface layer around a frame pixel (0.0 when there is no valid pixel).

    Takes the valid pixels in the ``(2r+1)²`` window, finds the near layer (the 10th percentile, robust to single
    flying pixels) and returns the median of the pixels within ``layer_mm`` of it. The percentile (numpy's
    ``linear`` method) and the median are computed with ``np.partition`` (no ``np.percentile``, which imports
    ``numpy.ma`` and costs several times more on a window of a few hundred pixels).

    Args:
        depth_mm: (H, W) frame depth, mm, 0 = invalid.
        center_uv: (2,) frame pixel (u, v).
        radius_px: Half window size, pixels.
        layer_mm: Depth extent of the near layer, mm.
        near_mm: If given, pixels nearer than this are invalid too (compared in the frame's dtype).
        far_mm: If given, pixels farther than this are invalid too.
    """
    h, w = depth_mm.shape
    u, v = (round(float(x)) for x in np.asarray(center_uv, np.float64))
    r = max(1, int(radius_px))
    u0, u1, v0, v1 = max(0, u - r), min(w, u + r + 1), max(0, v - r), min(h, v + r + 1)
    if u0 >= u1 or v0 >= v1:
        return 0.0
    win = depth_mm[v0:v1, u0:u1]
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(win) & (win > 0)
        if near_mm is not None:
            keep &= win >= near_mm
        if far_mm is not None:
            keep &= win <= far_mm
    vals = np.asarray(win[keep], np.float64)
    if vals.size == 0:
        return 0.0
    near = _percentile_linear(vals, 0.1)
    return median(vals[vals <= near + layer_mm])


def _percentile_linear(vals: npt.NDArray[np.float64], q: float) -> float:
    """``np.percentile(vals, 100 q)`` (method ``linear``) with the same float64 operations; ``vals`` non-empty."""
    n = vals.size
    virtual = (n - 1) * q
    lo = min(int(np.floor(virtual)), n - 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(vals, (lo, hi))
    a, b = float(part[lo]), float(part[hi])
    gamma = virtual - lo
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
