"""Background-model hand detector for fixed installations (a camera looking at a table or wall).

:class:`BackgroundModel` learns the empty scene from N frames as a per-pixel median with a robust noise estimate
(MAD). :class:`BackgroundDetector` marks pixels that rise above it (nearer to the camera) by more than
``max(min_height_mm, noise_sigmas · σ)``, finds connected blobs on a subsampled grid, and turns each blob into a
hand: the part within ``hand_length_mm`` of its extremity, measured from where it enters the image (the arm
crosses the border), then the same full-resolution box and CoM refinement as the classical detector.

Pixels the model never saw (invalid in most learning frames) count as foreground when ``unknown_is_foreground``
(a hand over a black, unmeasurable surface) and are ignored otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.detect.base import MAX_HANDS, check_range, clean_depth
from depthhand.detect.com import blob_points, extremity_mask, far_axis_end, hand_box
from depthhand.structures import CameraIntrinsics, DepthFrame, HandBox

if TYPE_CHECKING:
    from depthhand.geometry.plane import Plane

F32 = npt.NDArray[np.float32]


def nan_percentile(stack: F32, percentile: float) -> F32:
    """Per-pixel percentile over axis 0 ignoring NaN (linear interpolation, like ``np.nanpercentile``, but fast).

    Args:
        stack: (N, H, W) values, NaN = missing.
        percentile: In [0, 100].

    Returns:
        (H, W) float32; NaN where all N values are missing.
    """
    ordered = np.sort(stack, axis=0)  # NaN sorts last
    count = np.isfinite(stack).sum(axis=0)
    pos = np.clip((count - 1) * (percentile / 100.0), 0, None)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
    v_lo = np.take_along_axis(ordered, lo[None], axis=0)[0]
    v_hi = np.take_along_axis(ordered, hi[None], axis=0)[0]
    out: F32 = (v_lo + (v_hi - v_lo) * (pos - lo)).astype(np.float32)
    out[count == 0] = np.nan
    return out


@dataclass(frozen=True, slots=True, eq=False)
class BackgroundModel:
    """The empty scene.

    Attributes:
        depth_mm: (H, W) float32 per-pixel median depth, mm; NaN where unknown.
        sigma_mm: (H, W) float32 robust noise (1.4826 · MAD), mm; NaN where unknown.
        intrinsics: Camera of the frames it was learned from.
        frames: Number of learning frames.
    """

    depth_mm: F32
    sigma_mm: F32
    intrinsics: CameraIntrinsics
    frames: int

    @classmethod
    def learn(
        cls,
        frames: list[DepthFrame],
        min_valid_fraction: float = 0.5,
        percentile: float = 50.0,
        near_outlier_mm: float = 20.0,
    ) -> BackgroundModel:
        """Learn the model from frames of the empty scene.

        Args:
            frames: At least 3 frames with the same intrinsics.
            min_valid_fraction: A pixel is known if valid in at least this share of the frames.
            percentile: Per-pixel depth percentile taken as the background (50 = median). A higher value (e.g. 90)
                learns the scene behind hands that move through it, provided each pixel is covered in fewer than
                ``100 − percentile`` % of the frames.
            near_outlier_mm: Samples more than this in front of the background are left out of the noise estimate.

        Raises:
            ValueError: Too few frames, or frames of different sizes.
        """
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must be in [0, 100], got {percentile}")
        if len(frames) < 3:
            raise ValueError(f"a background model needs at least 3 frames, got {len(frames)}")
        k = frames[0].intrinsics
        for f in frames:
            if f.depth_mm.shape != (k.height, k.width):
                raise ValueError(f"background frame {f.index} is {f.depth_mm.shape}, expected {(k.height, k.width)}")
        stack = np.stack([f.depth_mm for f in frames]).astype(np.float32)
        with np.errstate(invalid="ignore"):
            stack[~(stack > 0) | ~np.isfinite(stack)] = np.nan
        valid_fraction = np.mean(np.isfinite(stack), axis=0)
        median = nan_percentile(stack, percentile)
        dev = stack - median[None]
        with np.errstate(invalid="ignore"):
            dev[dev < -near_outlier_mm] = np.nan  # a hand passing in front is not sensor noise
        mad = nan_percentile(np.abs(dev), 50.0)
        unknown = valid_fraction < min_valid_fraction
        median[unknown] = np.nan
        sigma = (1.4826 * mad).astype(np.float32)
        sigma[unknown] = np.nan
        return cls(median.astype(np.float32), sigma, k, len(frames))

    @classmethod
    def from_plane(cls, plane: Plane, intrinsics: CameraIntrinsics, sigma_mm: float = 2.0) -> BackgroundModel:
        """The model of an empty flat table: each pixel's depth where its ray meets ``plane``.

        Use when no empty frames are available (fit the plane with
        :func:`depthhand.geometry.plane.fit_plane_ransac`); objects lying on the table then count as foreground.

        Args:
            plane: The table plane (camera mm).
            intrinsics: The camera.
            sigma_mm: Noise σ to assume everywhere, mm.
        """
        from depthhand.geometry.plane import plane_depth

        depth = plane_depth(intrinsics, plane).astype(np.float32)
        depth[~(depth > 0)] = np.nan  # rays parallel to or away from the plane
        return cls(depth, np.full_like(depth, sigma_mm), intrinsics, 0)

    def save(self, path: str | Path) -> Path:
        """Write the model to ``.npz`` (temp file, then rename)."""
        path = Path(path)
        k = self.intrinsics
        with atomic.atomic_path(path, suffix=".npz") as tmp:  # .npz: np.savez would append it to a bare name
            np.savez_compressed(
                tmp,
                depth_mm=self.depth_mm,
                sigma_mm=self.sigma_mm,
                frames=self.frames,
                intrinsics=np.array([k.fx, k.fy, k.cx, k.cy, k.width, k.height, k.depth_unit_mm], np.float64),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> BackgroundModel:
        """Read a model written by :meth:`save`.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it is not a background model.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"background model {path} does not exist")
        with np.load(path, allow_pickle=False) as data:
            try:
                fx, fy, cx, cy, w, h, unit = (float(x) for x in data["intrinsics"])
                k = CameraIntrinsics(fx, fy, cx, cy, int(w), int(h), unit)
                return cls(
                    data["depth_mm"].astype(np.float32), data["sigma_mm"].astype(np.float32), k, int(data["frames"])
                )
            except KeyError as exc:
                raise ValueError(f"{path} is not a depthhand background model (missing {exc})") from exc


@dataclass(frozen=True, slots=True)
class BackgroundDetectorConfig:
    """Parameters of :class:`BackgroundDetector` (mm unless stated).

    Attributes:
        min_height_mm: Least rise above the background that counts as foreground.
        noise_sigmas: Foreground also needs a rise of this many noise σ.
        unknown_is_foreground: Treat valid pixels where the model is unknown as foreground.
        near_mm: Nearest depth considered.
        far_mm: Farthest depth considered.
        hand_length_mm: Wrist-to-fingertip length kept at each blob's extremity.
        min_area_cm2: Smallest metric blob (and hand) area, cm².
        max_area_cm2: Largest hand area, cm².
        border_px: Pixels this close to the border (full resolution) mark where an arm enters.
        cube_mm: Cube side for the centre refinement.
        refine_iterations: CoM refinement passes.
        step: Subsampling step for the blob search.
        max_hands: Most hands returned (≤ 4), largest first.
    """

    min_height_mm: float = 15.0
    noise_sigmas: float = 4.0
    unknown_is_foreground: bool = True
    near_mm: float = 150.0
    far_mm: float = 3000.0
    hand_length_mm: float = 180.0
    min_area_cm2: float = 30.0
    max_area_cm2: float = 400.0
    border_px: int = 8
    cube_mm: float = 250.0
    refine_iterations: int = 3
    step: int = 4
    max_hands: int = 4

    def __post_init__(self) -> None:
        check_range(self.near_mm, self.far_mm)
        if not 1 <= self.max_hands <= MAX_HANDS:
            raise ValueError(f"max_hands must be in [1, {MAX_HANDS}], got {self.max_hands}")
        if self.min_height_mm <= 0 or self.step < 1 or self.hand_length_mm <= 0:
            raise ValueError("min_height_mm, step and hand_length_mm must be positive")


class BackgroundDetector:
    """Hands as blobs rising above a learned empty scene.

    Args:
        model: The empty scene.
        config: Parameters.

    Example:
        >>> model = BackgroundModel.learn(empty_frames)  # doctest: +SKIP
        >>> boxes = BackgroundDetector(model).detect(frame)  # doctest: +SKIP
    """

    def __init__(self, model: BackgroundModel, config: BackgroundDetectorConfig | None = None) -> None:
        self.model = model
        self.config = config or BackgroundDetectorConfig()
        s = self.config.step
        self._bg_small = np.ascontiguousarray(model.depth_mm[::s, ::s])
        thr = np.fmax(self.config.min_height_mm, self.config.noise_sigmas * model.sigma_mm[::s, ::s])
        self._threshold_small = np.ascontiguousarray(thr, dtype=np.float32)

    def foreground(self, frame: DepthFrame) -> tuple[F32, npt.NDArray[np.bool_]]:
        """Subsampled depth and foreground mask of ``frame``.

        Returns:
            ((h, w) cleaned depth mm, (h, w) foreground mask) at ``config.step``.

        Raises:
            TypeError: If ``frame`` is not a DepthFrame.
            ValueError: If the frame's size differs from the model's.
        """
        if not isinstance(frame, DepthFrame):
            raise TypeError(f"detectors take a depthhand.structures.DepthFrame, got {type(frame).__name__}")
        k = self.model.intrinsics
        if frame.depth_mm.shape != (k.height, k.width):
            raise ValueError(f"frame is {frame.depth_mm.shape}, the background model is {(k.height, k.width)}")
        cfg = self.config
        import cv2

        small = clean_depth(frame, cfg.near_mm, cfg.far_mm, step=cfg.step)
        small = np.asarray(cv2.medianBlur(small, 3), dtype=np.float32)  # removes flying pixels
        valid = small > 0
        with np.errstate(invalid="ignore"):
            rise = self._bg_small - small
            fg = valid & (rise > self._threshold_small)
        if cfg.unknown_is_foreground:
            fg |= valid & np.isnan(self._bg_small)
        return small, fg

    def detect(self, frame: DepthFrame) -> list[HandBox]:
        """Hands in ``frame``, largest first; ``[]`` when nothing rises above the background.

        Raises:
            TypeError: If ``frame`` is not a DepthFrame.
            ValueError: If its size differs from the model's.
        """
        import cv2

        cfg = self.config
        small, fg = self.foreground(frame)
        fg_u8 = cv2.medianBlur(fg.view(np.uint8) * np.uint8(255), 3) // 255  # drop speckle, keep thin wrists
        fg_u8[small <= 0] = 0  # the median may switch on holes; they have no depth
        n, labels = cv2.connectedComponents(fg_u8, connectivity=8)
        if n <= 1:
            return []
        weights = np.where(fg_u8 > 0, small, 0.0).ravel().astype(np.float64) ** 2
        scale = cfg.step**2 / (frame.intrinsics.fx * frame.intrinsics.fy)
        areas = np.bincount(labels.ravel(), weights=weights, minlength=n).astype(np.float64) * scale
        order = [int(i) for i in np.argsort(-areas) if i > 0 and areas[i] >= cfg.min_area_cm2 * 100.0]
        h, w = small.shape
        m = max(0, round(cfg.border_px / cfg.step))
        hands: list[tuple[float, HandBox]] = []
        for label in order[: 4 * cfg.max_hands]:
            comp = labels == label
            pts = blob_points(small, comp, frame.intrinsics, cfg.step)
            vi, ui = pts.v // cfg.step, pts.u // cfg.step
            entry = (vi <= m) | (ui <= m) | (vi >= h - 1 - m) | (ui >= w - 1 - m)
            extent = pts.xyz_mm[:, :2].max(axis=0) - pts.xyz_mm[:, :2].min(axis=0)
            if not entry.any() and float(extent.max()) > 1.5 * cfg.hand_length_mm:
                rise = self._bg_small[vi, ui] - pts.xyz_mm[:, 2]
                entry = far_axis_end(pts.xyz_mm, key=np.nan_to_num(rise))  # the arm rises towards the shoulder
            keep, _ = extremity_mask(pts.xyz_mm, entry, cfg.hand_length_mm)
            area = float(pts.area_mm2[keep].sum())
            if not cfg.min_area_cm2 * 100.0 <= area <= cfg.max_area_cm2 * 100.0:
                continue
            typical = 150.0 * 100.0
            box = hand_box(
                frame.depth_mm,
                pts,
                keep,
                frame.intrinsics,
                cfg.step,
                cfg.cube_mm,
                cfg.refine_iterations,
                min(area / typical, typical / area),
            )
            if box is not None:
                hands.append((area, box))
            if len(hands) >= cfg.max_hands:
                break
        return [b for _, b in sorted(hands, key=lambda t: -t[0])]
