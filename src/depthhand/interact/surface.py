"""Per-pixel model of the empty surface: depth mean and noise σ, learned robustly, updated slowly.

The touch decision from pixels (:mod:`depthhand.interact.contact`) needs the surface under every pixel and how
noisy it is there (Wilson, ITS 2010; WorldKit; DIRECT, ISS 2016: reference §2.1). :class:`SurfaceModel`:

* **prior**: until it has learned (and where it never saw the surface) the surface is the fitted table plane
  (:func:`depthhand.geometry.plane.plane_depth`) with σ = ``prior_sigma_mm_at_1m · (z / 1 m)²`` (the growth of
  triangulation noise with depth);
* **learning**: the first ``learn_frames`` frames (≈ 1 s at 30 fps) are stacked; the surface is their per-pixel
  median and σ a robust standard deviation (the RMS deviation from the median of the samples within
  5 · (1.4826 · MAD + 1 mm) of it: outliers such as a passing hand are dropped, the steps of a quantised sensor
  are kept). Pixels inside the hands' boxes (from the pose), invalid pixels and pixels more than
  ``learn_max_height_mm`` above the plane prior are not samples: a forearm that lies in view, outside the hand's
  box, through all the learning frames (a user who starts with the arm over the table) is not learned as table.
  Those pixels keep the prior until they show the surface, and something that really stands on the table there
  joins it after ``join_after_s`` like an object put down later;
* **update**: every frame one interleaved set of rows (every ``update_stride``-th row) is visited. Where a pixel
  agrees with the surface (|z| < ``noise_z``) the mean and variance follow an exponential average of weight
  ``update_rate``. Where it disagrees and no hand box covers it, a candidate depth is tracked; once the pixel
  has stayed at the candidate for ``join_after_s`` seconds it becomes the surface (an object left on the table
  joins it; one taken away leaves it). The hand's own pixels never join; a forearm held still for that long
  does (move it and it leaves again after the same delay).

Depths are camera z in mm; heights above the surface are along the plane normal: ``h = (z_surface − z)·|n·r|``
with ``r = ((u − cx)/fx, (v − cy)/fy, 1)`` the pixel's ray (:meth:`SurfaceModel.heights`).

Cost (640×480, stride 32): the update touches 15 rows a frame, ≈ 0.15 ms (stride 8: 60 rows, ≈ 0.6 ms): each pixel is
visited every ≈ 1.1 s at 30 fps, so the average's time constant is ≈ 20 visits ≈ 21 s (a slow model by design);
the join delay is counted in visits and stays ≈ ``join_after_s``. ``depthhand bench touch.stress`` reports the
engine's cost per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, plane_depth
from depthhand.structures import CameraIntrinsics

F32 = npt.NDArray[np.float32]
Box = tuple[int, int, int, int]
"""``(u0, v0, u1, v1)`` pixel box, end exclusive."""


@dataclass(frozen=True, slots=True)
class SurfaceSettings:
    """Parameters of :class:`SurfaceModel`.

    Attributes:
        learn_frames: Frames stacked for the initial median / σ.
        update_stride: Every frame updates the rows ``k, k + stride, …`` (k cycles), bounding the cost.
        update_rate: Weight of a new sample in the mean / variance average (per visit of a pixel).
        noise_z: A pixel within this many σ of the surface shows the surface.
        join_after_s: A pixel that stays off the surface (and outside the hands) this long joins it, s.
        fps: Frame rate, for ``join_after_s``.
        sigma_floor_mm: Smallest σ, mm.
        outlier_mm: While learning, samples farther than 5 · 1.4826 · MAD + this from the median are outliers
            (a passing hand), mm; the steps of a quantised sensor (≈ 4–6 mm at 1.2 m for an Astra) stay in.
        prior_sigma_mm_at_1m: σ of the plane prior at 1 m, mm (grows as z²).
        learn_max_height_mm: While learning, samples higher than this above the plane prior are not surface
            samples (an arm in view from the start), mm; ``inf`` learns whatever stays put.
    """

    learn_frames: int = 30
    update_stride: int = 32
    update_rate: float = 0.05
    noise_z: float = 3.0
    join_after_s: float = 3.0
    fps: float = 30.0
    sigma_floor_mm: float = 0.5
    outlier_mm: float = 10.0
    prior_sigma_mm_at_1m: float = 1.5
    learn_max_height_mm: float = 15.0

    def __post_init__(self) -> None:
        if self.learn_frames < 1 or self.update_stride < 1:
            raise ValueError("SurfaceSettings.learn_frames and update_stride must be >= 1")
        if not 0 < self.update_rate <= 1 or self.noise_z <= 0 or self.join_after_s <= 0 or self.fps <= 0:
            raise ValueError("SurfaceSettings: update_rate in (0, 1], noise_z, join_after_s and fps > 0")
        if not self.learn_max_height_mm > 0:
            raise ValueError(f"SurfaceSettings.learn_max_height_mm must be > 0, got {self.learn_max_height_mm}")

    @property
    def join_visits(self) -> int:
        """Visits of a pixel after which a stable change joins the surface."""
        return max(1, round(self.join_after_s * self.fps / self.update_stride))


class SurfaceModel:
    """The per-pixel surface of one camera (see the module docstring).

    Args:
        intrinsics: The camera.
        plane: The fitted table plane (the prior).
        settings: Parameters.

    Attributes:
        depth_mm: (H, W) float32 surface depth, mm (the plane's until learned).
        sigma_mm: (H, W) float32 depth noise σ of the surface, mm.
        frames_seen: Frames given to :meth:`observe`.
        noise_amplitude_mm: The 99th percentile over pixels of the largest deviation from the median seen while
            learning, mm (0 before): the height below which a single pixel may be noise.
        laplacian_noise_mm: The 99.9th percentile of the depth's second difference (4-neighbour Laplacian) over
            the learning frames' pixels with four valid neighbours, mm (0 before): the largest second difference
            the empty surface shows; larger ones are depth edges or mixed pixels
            (:func:`depthhand.interact.fingertip.finger_mask`).
    """

    def __init__(self, intrinsics: CameraIntrinsics, plane: Plane, settings: SurfaceSettings | None = None) -> None:
        self.intrinsics, self.plane = intrinsics, plane
        self.settings = settings or SurfaceSettings()
        prior = plane_depth(intrinsics, plane).astype(np.float32)
        self.depth_mm: F32 = prior
        self.sigma_mm: F32 = self._prior_sigma(prior)
        self._var: F32 = self.sigma_mm**2
        v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(np.float32)
        rays = np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)])
        # height per mm of depth change along each pixel's ray: |n · r|
        self.height_per_mm: F32 = np.abs(np.tensordot(plane.normal.astype(np.float32), rays, axes=1))
        self._cand: F32 = np.zeros_like(prior)
        self._count = np.zeros(prior.shape, np.uint16)
        self._stack: list[F32] = []
        self.frames_seen = 0
        self.noise_amplitude_mm = 0.0
        self.laplacian_noise_mm = 0.0
        self._ready = False

    @property
    def ready(self) -> bool:
        """Whether the initial learning is complete (before: the plane prior)."""
        return self._ready

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the model."""
        return self.intrinsics.height, self.intrinsics.width

    def _prior_sigma(self, depth: F32) -> F32:
        s = self.settings
        out: F32 = np.maximum(s.prior_sigma_mm_at_1m * (depth / 1000.0) ** 2, s.sigma_floor_mm).astype(np.float32)
        return out

    def observe(self, depth_mm: npt.NDArray[np.floating], hand_boxes: list[Box] | None = None) -> None:
        """Take one frame: learning while not ready, then one slow update of a set of rows.

        Args:
            depth_mm: (H, W) depth, mm, 0 = invalid.
            hand_boxes: Pixel boxes of the hands in this frame (never learned as surface).

        Raises:
            ValueError: If the frame does not match the camera.
        """
        depth = np.asarray(depth_mm, dtype=np.float32)
        if depth.shape != self.shape:
            raise ValueError(f"depth frame is {depth.shape[::-1]}, the surface model expects {self.shape[::-1]}")
        self.frames_seen += 1
        if not self._ready:
            sample = np.where(depth > 0, depth, np.nan).astype(np.float32)
            if np.isfinite(self.settings.learn_max_height_mm):  # self.depth_mm is still the plane prior
                with np.errstate(invalid="ignore"):
                    high = (self.depth_mm - sample) * self.height_per_mm > self.settings.learn_max_height_mm
                sample[high] = np.nan
            for u0, v0, u1, v1 in hand_boxes or []:
                sample[v0:v1, u0:u1] = np.nan
            self._stack.append(sample)
            if len(self._stack) >= self.settings.learn_frames:
                self._learn()
            return
        self._update(depth, hand_boxes or [])

    def _learn(self) -> None:
        self.laplacian_noise_mm = _laplacian_noise(self._stack[-3:])
        stack = np.sort(np.stack(self._stack), axis=0)  # NaN last
        self._stack = []
        n = np.sum(~np.isnan(stack), axis=0)
        have = n > 0
        mid = np.take_along_axis(stack, np.maximum((n - 1) // 2, 0)[None], axis=0)[0]
        dev = np.abs(stack - mid[None])
        with np.errstate(invalid="ignore"):
            dev_sorted = np.sort(dev, axis=0)
            mad = np.take_along_axis(dev_sorted, np.maximum((n - 1) // 2, 0)[None], axis=0)[0]
            keep = dev <= (5.0 * 1.4826 * mad + self.settings.outlier_mm)[None]
            sq = np.where(keep, dev**2, 0.0)
            var = sq.sum(axis=0) / np.maximum(keep.sum(axis=0), 1)
            spread = np.where(keep, dev, 0.0).max(axis=0)
        # the sensor's noise amplitude: the largest deviation seen at most pixels (quantisation steps included)
        self.noise_amplitude_mm = float(np.percentile(spread[have], 99.0)) if have.any() else 0.0
        floor2 = self.settings.sigma_floor_mm**2
        self.depth_mm = np.where(have, mid, self.depth_mm).astype(np.float32)
        self._var = np.where(have, np.maximum(var, floor2), self._var).astype(np.float32)
        self.sigma_mm = np.sqrt(self._var).astype(np.float32)
        self._ready = True

    def _update(self, depth: F32, hand_boxes: list[Box]) -> None:
        s = self.settings
        k = self.frames_seen % s.update_stride
        rows = slice(k, None, s.update_stride)
        d, m, var = depth[rows], self.depth_mm[rows], self._var[rows]
        cand, count = self._cand[rows], self._count[rows]
        valid = d > 0
        diff = d - m
        on = valid & (diff * diff < (s.noise_z**2) * var)
        a = s.update_rate
        m += np.where(on, a * diff, 0.0).astype(np.float32)
        var[...] = np.where(on, np.maximum((1 - a) * var + a * diff * diff, s.sigma_floor_mm**2), var)
        off = valid & ~on
        for u0, v0, u1, v1 in hand_boxes:
            r0 = max(0, -(-(v0 - k) // s.update_stride))
            r1 = max(0, -(-(v1 - k) // s.update_stride))
            off[r0:r1, u0:u1] = False
        sigma = np.sqrt(var)
        if off.any():
            tol = np.maximum(3.0 * sigma, 3.0)
            same = off & (np.abs(d - cand) < tol)
            count[...] = np.where(same, count + 1, 0).astype(np.uint16)
            cand[...] = np.where(same, cand + 0.2 * (d - cand), d)
            join = count >= s.join_visits
            if join.any():
                m[join] = cand[join]
                var[join] = self._prior_sigma(cand[join]) ** 2
                count[join] = 0
                sigma[join] = np.sqrt(var[join])
        else:  # nothing off the surface: every candidate restarts at this frame's depth
            count[...] = 0
            cand[...] = d
        self.sigma_mm[rows] = sigma

    def heights(self, depth_mm: npt.NDArray[np.floating], box: Box) -> tuple[F32, F32, npt.NDArray[np.bool_]]:
        """Height above the surface in a window, mm and in σ units.

        Args:
            depth_mm: (H, W) depth of the frame, mm.
            box: ``(u0, v0, u1, v1)`` window (clipped by the caller).

        Returns:
            ``(height_mm, z, valid)``: (h, w) float32 height along the plane normal (positive towards the camera),
            the same in units of the pixel's σ, and where the depth is valid (heights there are 0).
        """
        u0, v0, u1, v1 = box
        d = np.asarray(depth_mm[v0:v1, u0:u1], dtype=np.float32)
        valid = d > 0
        dz = np.where(valid, self.depth_mm[v0:v1, u0:u1] - d, 0.0).astype(np.float32)
        h: F32 = dz * self.height_per_mm[v0:v1, u0:u1]
        z: F32 = dz / self.sigma_mm[v0:v1, u0:u1]
        return h, z, valid

    def height_map(self, depth_mm: npt.NDArray[np.floating]) -> tuple[F32, F32]:
        """Full-frame height above the surface (mm) and z-score; NaN where the depth is invalid."""
        h, z, valid = self.heights(depth_mm, (0, 0, self.intrinsics.width, self.intrinsics.height))
        return np.where(valid, h, np.nan).astype(np.float32), np.where(valid, z, np.nan).astype(np.float32)


def _laplacian_noise(frames: list[F32], percentile: float = 99.9) -> float:
    """The ``percentile`` of |4-neighbour Laplacian| over the frames' pixels with four valid neighbours, mm.

    Args:
        frames: (H, W) float32 depth frames with NaN where invalid (the learning stack).
        percentile: Percentile over pixels.
    """
    import cv2

    k4 = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
    values = []
    for f in frames:
        valid = np.isfinite(f)
        lap = cv2.Laplacian(np.where(valid, f, 0.0).astype(np.float32), cv2.CV_32F, ksize=1)
        all4 = cv2.erode(valid.astype(np.uint8), k4, borderValue=1) > 0
        values.append(np.abs(lap[all4]))
    v = np.concatenate(values) if values else np.zeros(0, np.float32)
    return float(np.percentile(v, percentile)) if v.size else 0.0
