"""The detector interface and the input checks every detector shares."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from depthhand.structures import DepthFrame, HandBox

MAX_HANDS = 4


@runtime_checkable
class HandDetector(Protocol):
    """Anything that finds hands in a depth frame.

    ``detect`` returns at most ``max_hands`` boxes (best first) and an empty list for a frame without a usable
    hand (all invalid, nothing in range); it raises only for input that is not a :class:`DepthFrame`.
    """

    def detect(self, frame: DepthFrame) -> list[HandBox]:
        """Find hands in ``frame``."""
        ...


def clean_depth(frame: DepthFrame, near_mm: float, far_mm: float, step: int = 1) -> npt.NDArray[np.float32]:
    """The frame's depth, subsampled by ``step``, with everything outside ``[near_mm, far_mm]`` (and NaN/inf) at 0.

    Args:
        frame: The frame (its ``depth_mm`` is not modified).
        near_mm: Nearest valid depth, mm.
        far_mm: Farthest valid depth, mm.
        step: Keep every ``step``-th row and column (pixel (i, j) is full pixel (i·step, j·step)).

    Returns:
        (ceil(H/step), ceil(W/step)) contiguous float32 depth in mm, 0 = invalid.

    Raises:
        TypeError: If ``frame`` is not a :class:`DepthFrame`.
    """
    if not isinstance(frame, DepthFrame):
        raise TypeError(f"detectors take a depthhand.structures.DepthFrame, got {type(frame).__name__}")
    depth = frame.depth_mm[::step, ::step]
    with np.errstate(invalid="ignore"):
        ok = (depth >= near_mm) & (depth <= far_mm)  # False for NaN
    out: npt.NDArray[np.float32] = np.ascontiguousarray(np.where(ok, depth, np.float32(0.0)), dtype=np.float32)
    return out


def check_range(near_mm: float, far_mm: float) -> None:
    """Raise ``ValueError`` unless ``0 < near_mm < far_mm``."""
    if not (0 < near_mm < far_mm and np.isfinite(far_mm)):
        raise ValueError(f"detector depth range must satisfy 0 < near_mm < far_mm, got {near_mm}, {far_mm}")
