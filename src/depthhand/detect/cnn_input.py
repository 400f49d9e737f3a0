"""The learned detector's input, prepared in one pass over the frame into reused buffers.

:class:`DetectorInput` computes exactly (bit for bit) what :class:`~depthhand.detect.cnn.CnnHandDetector` fed its
network before, namely

* ``valid = isfinite(d) & (d ≥ near_mm) & (d ≤ far_mm) & (d > 0)`` on the full frame;
* :func:`~depthhand.detect.cnn_decode.downscale_depth` of ``where(valid, d, 0)`` (each input pixel the mean of the
  valid frame pixels it covers, via two single-channel ``cv2.resize`` calls);
* :func:`~depthhand.detect.cnn_decode.normalize_depth` of that, letterboxed;

but without the temporaries: the validity mask is two comparisons into a preallocated buffer (a comparison with the
finite ``near_mm``/``far_mm`` is already false for NaN and ±inf, so no separate finiteness pass), the masked depth
is ``d × valid`` (a float mask, not ``np.where`` + ``astype``), and every full-frame array is allocated once per
frame size and reused. On this machine's VM, freshly allocated 1.2 MB arrays cost more in page faults than the
arithmetic done on them, so the reuse is most of the gain.

The product ``d × valid`` is NaN where ``d`` is NaN or ±inf. :func:`depthhand.pipeline.check_frame` rejects such
frames before the detector runs, so the live pipeline never meets one; a caller that passes one anyway (the
detector is public) gets the old masked copy for that frame, found by a finiteness check of the small (input-size)
sums, so results never depend on whether the frame was checked.

One :class:`DetectorInput` serves one thread (its buffers are reused by every call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.detect.cnn_decode import FAR_MM, INPUT_HEIGHT, INPUT_WIDTH, MIN_VALID_FRACTION, Letterbox

__all__ = ["DetectorInput"]

F32 = npt.NDArray[np.float32]
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(slots=True)
class _Buffers:
    """Work arrays for one frame size (full-frame masks and products, input-size sums and the network input)."""

    valid: npt.NDArray[np.bool_]
    below: npt.NDArray[np.bool_]
    valid_f32: F32
    masked: F32
    sum_depth: F32
    sum_valid: F32
    net_input: F32


class DetectorInput:
    """Frame depth (mm) → the detector network's (1, 2, height, width) input and the letterbox.

    Args:
        near_mm: Depths nearer than this are invalid.
        far_mm: Depths farther than this are invalid.
        width: Network input width, pixels.
        height: Network input height, pixels.
        norm_far_mm: Depth that maps to 0 in the inverted-depth channel, mm.
    """

    def __init__(
        self,
        near_mm: float = 100.0,
        far_mm: float = 8000.0,
        width: int = INPUT_WIDTH,
        height: int = INPUT_HEIGHT,
        norm_far_mm: float = FAR_MM,
    ) -> None:
        self.near_mm, self.far_mm = float(near_mm), float(far_mm)
        self.width, self.height = int(width), int(height)
        self.norm_far_mm = float(norm_far_mm)
        self._buffers: dict[tuple[int, int], _Buffers] = {}

    def _buffers_for(self, shape: tuple[int, int]) -> _Buffers:
        buf = self._buffers.get(shape)
        if buf is None:
            small = (self.height, self.width)
            sized = self._resized_shape(shape)
            buf = _Buffers(
                valid=np.empty(shape, bool),
                below=np.empty(shape, bool),
                valid_f32=np.empty(shape, np.float32),
                masked=np.empty(shape, np.float32),
                sum_depth=np.empty(sized, np.float32),
                sum_valid=np.empty(sized, np.float32),
                net_input=np.zeros((1, 2, *small), np.float32),
            )
            self._buffers = {shape: buf}  # one frame size at a time
        return buf

    def _scale(self, shape: tuple[int, int]) -> float:
        h, w = shape
        return min(self.width / w, self.height / h)

    def _resized_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        h, w = shape
        scale = self._scale(shape)
        return max(1, min(self.height, round(h * scale))), max(1, min(self.width, round(w * scale)))

    def __call__(self, depth_mm: npt.NDArray[np.float32]) -> tuple[F32, Letterbox] | None:
        """The network input for one frame, or ``None`` when no pixel is valid.

        Args:
            depth_mm: (H, W) float32 depth, mm.

        Returns:
            ``(input, letterbox)``: (1, 2, height, width) float32, overwritten by the next call; and the mapping
            from frame to input pixels.
        """
        import cv2

        depth = np.asarray(depth_mm)
        if depth.ndim != 2 or depth.dtype != np.float32 or depth.size == 0:
            raise ValueError(f"depth_mm must be a non-empty (H, W) float32 array, got {depth.shape} {depth.dtype}")
        shape = (int(depth.shape[0]), int(depth.shape[1]))
        buf = self._buffers_for(shape)
        # (d ≥ near) & (d ≤ far), compared in float32 as numpy compares a float32 array with a Python float, is
        # false for NaN and ±inf; far is clamped to the largest float32 so that an infinite far_mm still excludes
        # +inf, and d > 0 matters only when near_mm is 0 in float32.
        np.greater_equal(depth, self.near_mm, out=buf.valid)
        np.less_equal(depth, min(self.far_mm, FLOAT32_MAX), out=buf.below)
        np.logical_and(buf.valid, buf.below, out=buf.valid)
        if np.float32(self.near_mm) <= 0.0:
            np.greater(depth, 0.0, out=buf.below)
            np.logical_and(buf.valid, buf.below, out=buf.valid)
        if not buf.valid.any():
            return None
        np.copyto(buf.valid_f32, buf.valid)
        with np.errstate(invalid="ignore"):  # inf × 0 in an unchecked frame
            np.multiply(depth, buf.valid_f32, out=buf.masked)
        scale = self._scale(shape)
        nh, nw = buf.sum_depth.shape
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
        cv2.resize(buf.masked, (nw, nh), dst=buf.sum_depth, interpolation=interp)
        if not np.isfinite(buf.sum_depth).all():  # NaN/inf pixels: an unchecked frame (see the module docstring)
            np.copyto(buf.masked, np.where(buf.valid, depth, np.float32(0.0)))
            cv2.resize(buf.masked, (nw, nh), dst=buf.sum_depth, interpolation=interp)
        cv2.resize(buf.valid_f32, (nw, nh), dst=buf.sum_valid, interpolation=interp)
        # The formulas of downscale_depth and normalize_depth, on the (nh, nw) input-size arrays only.
        sv = buf.sum_valid
        small = np.where(sv >= MIN_VALID_FRACTION, buf.sum_depth / np.maximum(sv, 1e-6), 0.0).astype(np.float32)
        valid_small = small > 0
        inv = np.where(valid_small, np.clip(1.0 - small / np.float32(self.norm_far_mm), 0.0, 1.0), 0.0)
        out = buf.net_input
        out[0, 0, :nh, :nw] = inv
        out[0, 1, :nh, :nw] = valid_small
        return out, Letterbox(scale=float(scale), width=self.width, height=self.height)
