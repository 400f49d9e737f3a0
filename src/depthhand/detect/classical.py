"""Classical hand detector: nearest depth blobs, arm-to-hand extremity, metric CoM refinement.

Algorithm (per frame, all vectorised numpy/OpenCV):

1. Keep depths in ``[near_mm, far_mm]``; subsample by ``step`` (4: 640×480 → 160×120) and median-filter (3×3)
   away isolated flying pixels.
2. Depth-slice search, nearest first (DeepPrior++ §10.1): take the nearest remaining pixel at depth ``z0``, the
   connected component of pixels in ``[z0, z0 + slice_mm]`` that contains it, and consume it. Repeat until
   ``max_hands`` hands are found or nothing remains.
3. A component is a candidate only if it covers at least ``min_area_cm2`` (metric area, so distance does not
   matter) and does not touch a larger structure found before it (a body or table behind an accepted arm).
4. Arm to hand: the component's *entry* pixels are those near the image border or at the far end of its slice
   (where the forearm continues backwards); an elongated blob that touches neither enters at the deeper end of
   its principal axis. A blob entering through more than ``max_entry_fraction`` of its area is a wall (torso,
   table edge), not an arm. The hand is the part within ``hand_length_mm`` of the far end,
   measured from the entry (see :func:`depthhand.detect.com.extremity_mask`).
5. The hand part must look like a hand: area within ``[min_area_cm2, max_area_cm2]``, extent ≤ ``max_extent_mm``.
6. At full resolution, the hand's pixels (inside the upsampled hand mask and its depth range) give the box
   (tight pixel bounds) and the centre: metric CoM, refined inside a ``cube_mm`` cube (DeepPrior++).

Not for: telling left from right (``handedness`` is UNKNOWN) or hands touching a nearer object. Fixed
installations with a known empty scene should use :class:`depthhand.detect.background.BackgroundDetector`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.detect.base import MAX_HANDS, check_range, clean_depth
from depthhand.detect.com import (
    BlobPoints,
    blob_points,
    extremity_mask,
    far_axis_end,
    hand_box,
)
from depthhand.structures import CameraIntrinsics, DepthFrame, HandBox

F32 = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ClassicalDetectorConfig:
    """Parameters of :class:`ClassicalDetector` (mm unless stated).

    Attributes:
        near_mm: Nearest depth considered.
        far_mm: Farthest depth considered.
        slice_mm: Thickness of the depth slice grown from each blob's nearest pixel.
        entry_band_mm: Pixels this close to the slice's far end mark where the arm continues.
        hand_length_mm: Wrist-to-fingertip length kept at the blob's extremity.
        min_area_cm2: Smallest metric area of a blob and of a hand, cm².
        max_area_cm2: Largest metric area of a hand, cm².
        max_blob_area_cm2: Blobs larger than this (a table, a wall) are rejected without further analysis, cm².
        max_extent_mm: Largest side of a hand's bounding box in x or y.
        max_entry_fraction: Largest share of a blob's area that may be entry pixels (a protruding arm enters
            through a narrow cross-section; a torso or table edge through a wide one).
        border_px: Pixels this close to the image border (full resolution) count as touching it.
        cube_mm: Cube side for the centre refinement.
        refine_iterations: CoM refinement passes.
        step: Subsampling step for the blob search (1, 2, 4, ...).
        max_hands: Most hands returned (≤ 4).
        max_blobs: Most blobs examined per frame (bounds the time on cluttered frames).
    """

    near_mm: float = 150.0
    far_mm: float = 1500.0
    slice_mm: float = 150.0
    entry_band_mm: float = 25.0
    hand_length_mm: float = 180.0
    min_area_cm2: float = 40.0
    max_area_cm2: float = 400.0
    max_blob_area_cm2: float = 2500.0
    max_extent_mm: float = 300.0
    max_entry_fraction: float = 0.4
    border_px: int = 12
    cube_mm: float = 250.0
    refine_iterations: int = 3
    step: int = 4
    max_hands: int = 2
    max_blobs: int = 16

    def __post_init__(self) -> None:
        check_range(self.near_mm, self.far_mm)
        if not 1 <= self.max_hands <= MAX_HANDS:
            raise ValueError(f"max_hands must be in [1, {MAX_HANDS}], got {self.max_hands}")
        if self.step < 1 or self.slice_mm <= 0 or self.hand_length_mm <= 0 or self.cube_mm <= 0:
            raise ValueError("step, slice_mm, hand_length_mm and cube_mm must be positive")
        if not 0 < self.min_area_cm2 < self.max_area_cm2:
            raise ValueError(f"need 0 < min_area_cm2 < max_area_cm2, got {self.min_area_cm2}, {self.max_area_cm2}")


class ClassicalDetector:
    """Find up to ``max_hands`` hands as near depth blobs (see the module docstring).

    Args:
        config: Parameters; defaults suit hands 0.3–1.2 m from a VGA depth camera.

    Example:
        >>> det = ClassicalDetector()
        >>> boxes = det.detect(frame)  # doctest: +SKIP
    """

    def __init__(self, config: ClassicalDetectorConfig | None = None) -> None:
        self.config = config or ClassicalDetectorConfig()

    def detect(self, frame: DepthFrame) -> list[HandBox]:
        """Hands in ``frame``, nearest first; ``[]`` when none (all-invalid frames included).

        Raises:
            TypeError: If ``frame`` is not a DepthFrame.
        """
        import cv2

        cfg = self.config
        small = clean_depth(frame, cfg.near_mm, cfg.far_mm, step=cfg.step)
        if not small.any():
            return []
        small = np.asarray(cv2.medianBlur(small, 3), dtype=np.float32)
        return find_hands(frame.depth_mm, small, frame.intrinsics, cfg)


def _component_at(mask: BoolArray, seed: tuple[int, int]) -> BoolArray:
    import cv2

    _, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    comp: BoolArray = labels == labels[seed]
    return comp


def find_hands(
    depth_mm: F32, small_mm: F32, intrinsics: CameraIntrinsics, cfg: ClassicalDetectorConfig
) -> list[HandBox]:
    """The blob search of :class:`ClassicalDetector` on a cleaned full-resolution and subsampled depth pair.

    Args:
        depth_mm: (H, W) full-resolution depth, mm (raw: NaN and out-of-range values are ignored).
        small_mm: (h, w) ``depth_mm`` subsampled by ``cfg.step`` (and filtered).
        intrinsics: Full-resolution camera.
        cfg: Parameters.

    Returns:
        Hands, nearest first.
    """
    import cv2

    remaining = small_mm > 0
    blocked = np.zeros_like(remaining)
    kernel = np.ones((3, 3), np.uint8)
    min_area = cfg.min_area_cm2 * 100.0
    hands: list[HandBox] = []
    big = np.float32(np.inf)
    for _ in range(cfg.max_blobs):
        if len(hands) >= cfg.max_hands or not remaining.any():
            break
        masked = np.where(remaining, small_mm, big)
        seed_flat = int(np.argmin(masked))
        seed = (seed_flat // small_mm.shape[1], seed_flat % small_mm.shape[1])
        z0 = float(small_mm[seed])
        comp = _component_at(remaining & (small_mm <= z0 + cfg.slice_mm), seed)
        remaining &= ~comp
        pts = blob_points(small_mm, comp, intrinsics, cfg.step)
        if pts.area_mm2.sum() < min_area:
            continue  # noise: consumed, blocks nothing
        touches_blocked = bool((comp & blocked).any())
        blocked |= cv2.dilate(comp.view(np.uint8), kernel).view(bool)
        if touches_blocked or pts.area_mm2.sum() > cfg.max_blob_area_cm2 * 100.0:
            continue
        hand = _hand_in_component(depth_mm, small_mm, comp, pts, z0, intrinsics, cfg)
        if hand is not None:
            hands.append(hand)
    return hands


def _entry_points(
    small_mm: F32, comp: BoolArray, pts: BlobPoints, z0: float, cfg: ClassicalDetectorConfig
) -> BoolArray:
    h, w = small_mm.shape
    vi, ui = np.nonzero(comp)
    m = max(0, round(cfg.border_px / cfg.step))
    border = (vi <= m) | (ui <= m) | (vi >= h - 1 - m) | (ui >= w - 1 - m)
    far_end = pts.xyz_mm[:, 2] >= z0 + cfg.slice_mm - cfg.entry_band_mm
    entry: BoolArray = border | far_end
    if not entry.any():
        extent = pts.xyz_mm[:, :2].max(axis=0) - pts.xyz_mm[:, :2].min(axis=0)
        if float(extent.max()) > cfg.max_extent_mm:
            entry = far_axis_end(pts.xyz_mm)
    return entry


def _hand_in_component(
    depth_mm: F32,
    small_mm: F32,
    comp: BoolArray,
    pts: BlobPoints,
    z0: float,
    intrinsics: CameraIntrinsics,
    cfg: ClassicalDetectorConfig,
) -> HandBox | None:
    entry = _entry_points(small_mm, comp, pts, z0, cfg)
    if float(pts.area_mm2[entry].sum()) > cfg.max_entry_fraction * float(pts.area_mm2.sum()):
        return None
    keep, _ = extremity_mask(pts.xyz_mm, entry, cfg.hand_length_mm)
    area = float(pts.area_mm2[keep].sum())
    if not cfg.min_area_cm2 * 100.0 <= area <= cfg.max_area_cm2 * 100.0:
        return None
    hand_xyz = pts.xyz_mm[keep]
    extent = hand_xyz[:, :2].max(axis=0) - hand_xyz[:, :2].min(axis=0)
    if float(extent.max()) > cfg.max_extent_mm:
        return None
    typical = 150.0 * 100.0  # a spread adult hand seen from the front, mm²
    score = float(np.clip(min(area / typical, typical / area), 0.0, 1.0))
    return hand_box(depth_mm, pts, keep, intrinsics, cfg.step, cfg.cube_mm, cfg.refine_iterations, score)
