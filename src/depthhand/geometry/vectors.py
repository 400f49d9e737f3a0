"""Angles between 3D vectors, exact near 0° and 180°.

``arccos(a·b)`` loses half its digits near 0° and returns NaN when rounding lifts the cosine of two unit vectors
above 1 (``1.0000000000000002``). These functions use ``atan2(|a×b|, a·b)`` instead, which needs no normalised
input, is exact near 0° and near 180°, and is finite for every non-zero pair.

Example:
    >>> angle_between_deg([1.0, 0.0, 0.0], [1.0, 1.0, 0.0])
    45.0
    >>> axis_angle_deg([0.0, 0.0, 1.0], [0.0, 0.0, -2.0])
    0.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def _pair(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[F64, F64]:
    va, vb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if va.shape[-1:] != (3,) or vb.shape[-1:] != (3,):
        raise ValueError(f"expected vectors of shape (..., 3), got {va.shape} and {vb.shape}")
    if not (np.isfinite(va).all() and np.isfinite(vb).all()):
        raise ValueError("vectors must be finite")
    if (np.linalg.norm(va, axis=-1) == 0).any() or (np.linalg.norm(vb, axis=-1) == 0).any():
        raise ValueError("the angle to a zero vector is undefined")
    return va, vb


def angle_between_rad(a: npt.ArrayLike, b: npt.ArrayLike) -> F64 | float:
    """Angle between directions ``a`` and ``b`` (any length, broadcast over leading axes), radians in [0, π].

    Args:
        a: (..., 3) non-zero vectors.
        b: (..., 3) non-zero vectors.

    Returns:
        A float for two single vectors, else a float64 array of the broadcast leading shape.

    Raises:
        ValueError: Not (..., 3), not finite, or a zero vector.
    """
    va, vb = _pair(a, b)
    cross = np.linalg.norm(np.cross(va, vb), axis=-1)
    dot = np.sum(va * vb, axis=-1)
    out = np.arctan2(cross, dot)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, np.float64)


def angle_between_deg(a: npt.ArrayLike, b: npt.ArrayLike) -> F64 | float:
    """:func:`angle_between_rad` in degrees, [0, 180]."""
    rad = angle_between_rad(a, b)
    return float(np.degrees(rad)) if isinstance(rad, float) else np.degrees(rad)


def axis_angle_deg(a: npt.ArrayLike, b: npt.ArrayLike) -> F64 | float:
    """Angle between the *lines* along ``a`` and ``b`` (sign ignored, as for plane normals), degrees in [0, 90]."""
    deg = angle_between_deg(a, b)
    return float(min(deg, 180.0 - deg)) if isinstance(deg, float) else np.minimum(deg, 180.0 - deg)
