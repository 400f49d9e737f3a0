"""Pinhole projection between image (u, v, depth) and camera-space millimetres.

depthhand's camera frame is the OpenCV one: x right, y **down**, z forward, in mm. Some datasets store labels with
y **up** (NYU, MSRA); :class:`Axes` names the convention and the functions convert explicitly.

Example:
    >>> import numpy as np
    >>> from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz, xyz_to_uvd
    >>> k = INTRINSICS["nyu"]
    >>> xyz = uvd_to_xyz(np.array([[320.0, 240.0, 800.0]]), k)
    >>> xyz.tolist()
    [[0.0, 0.0, 800.0]]
    >>> np.allclose(xyz_to_uvd(xyz, k), [[320.0, 240.0, 800.0]])
    True
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]


class Axes(enum.Enum):
    """Direction of the y axis of a camera-space coordinate array."""

    Y_DOWN = "y_down"
    Y_UP = "y_up"


INTRINSICS: dict[str, CameraIntrinsics] = {
    "nyu": CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480),
    "icvl": CameraIntrinsics(240.99, 240.96, 160.0, 120.0, 320, 240),
    "icvl_deepprior": CameraIntrinsics(241.42, 241.42, 160.0, 120.0, 320, 240),
    "msra": CameraIntrinsics(241.42, 241.42, 160.0, 120.0, 320, 240),
    "hands17": CameraIntrinsics(475.065948, 475.065857, 315.944855, 245.287079, 640, 480),
    "fpha": CameraIntrinsics(475.065948, 475.065857, 315.944855, 245.287079, 640, 480),
    "sr305": CameraIntrinsics(476.007, 476.007, 313.683, 242.755, 640, 480, depth_unit_mm=0.125),
    "astra": CameraIntrinsics(570.3, 570.3, 319.5, 239.5, 640, 480),
    "d435_848": CameraIntrinsics(424.0, 424.0, 424.0, 240.0, 848, 480),
}
"""Intrinsics presets: the datasets' own (see the reference document) and nominal sensor values."""


def _as_points(points: ArrayLike, name: str) -> F64:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3), got {arr.shape}")
    return arr


def uvd_to_xyz(uvd: ArrayLike, intrinsics: CameraIntrinsics, axes: Axes = Axes.Y_DOWN) -> F64:
    """Back-project image points to camera millimetres.

    Args:
        uvd: (..., 3) pixels u, v and depth d in mm.
        intrinsics: The camera.
        axes: Y convention of the returned points.

    Returns:
        (..., 3) float64 xyz in mm: ``x = (u − cx)·d/fx``, ``y = ±(v − cy)·d/fy``, ``z = d``.
    """
    p = _as_points(uvd, "uvd")
    d = p[..., 2]
    x = (p[..., 0] - intrinsics.cx) * d / intrinsics.fx
    y = (p[..., 1] - intrinsics.cy) * d / intrinsics.fy
    if axes is Axes.Y_UP:
        y = -y
    return np.stack([x, y, d], axis=-1)


def xyz_to_uvd(xyz: ArrayLike, intrinsics: CameraIntrinsics, axes: Axes = Axes.Y_DOWN) -> F64:
    """Project camera-millimetre points to the image; the inverse of :func:`uvd_to_xyz`.

    Args:
        xyz: (..., 3) camera points in mm (z > 0).
        intrinsics: The camera.
        axes: Y convention of ``xyz``.

    Returns:
        (..., 3) float64 u, v in pixels and d = z in mm.
    """
    p = _as_points(xyz, "xyz")
    z = p[..., 2]
    y = -p[..., 1] if axes is Axes.Y_UP else p[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = p[..., 0] * intrinsics.fx / z + intrinsics.cx
        v = y * intrinsics.fy / z + intrinsics.cy
    return np.stack([u, v, z], axis=-1)


def inside_image(xyz: ArrayLike, intrinsics: CameraIntrinsics) -> npt.NDArray[np.bool_]:
    """Which camera points lie in front of the camera and project inside the image.

    A point counts when ``z > 0`` and its pixel ``(u, v) = (fx·x/z + cx, fy·y/z + cy)`` lies in
    ``[−0.5, W − 0.5) × [−0.5, H − 0.5)`` (the image's pixel area, pixel-centre convention).

    Args:
        xyz: (..., 3) camera points in mm (y down).
        intrinsics: The camera (its ``width`` and ``height`` are the image's).

    Returns:
        (...) bool.
    """
    p = _as_points(xyz, "xyz")
    z = p[..., 2]
    safe = np.where(z > 0, z, 1.0)
    u = p[..., 0] / safe * intrinsics.fx + intrinsics.cx
    v = p[..., 1] / safe * intrinsics.fy + intrinsics.cy
    inside: npt.NDArray[np.bool_] = (
        (z > 0) & (u >= -0.5) & (u < intrinsics.width - 0.5) & (v >= -0.5) & (v < intrinsics.height - 0.5)
    )
    return inside


def flip_y(xyz: ArrayLike) -> F64:
    """Convert between the y-up and y-down conventions (its own inverse)."""
    p = _as_points(xyz, "xyz").copy()
    p[..., 1] = -p[..., 1]
    return p


def depth_to_points(depth_mm: npt.NDArray[np.floating], intrinsics: CameraIntrinsics) -> F64:
    """Back-project every valid pixel of a depth image.

    Args:
        depth_mm: (H, W) depth in mm, 0 = invalid.
        intrinsics: The camera.

    Returns:
        (N, 3) xyz mm of the N valid pixels, in row-major order.
    """
    v, u = np.nonzero(depth_mm > 0)
    d = depth_mm[v, u].astype(np.float64)
    return uvd_to_xyz(np.stack([u, v, d], axis=-1).astype(np.float64), intrinsics)


def points_to_depth(xyz_mm: ArrayLike, intrinsics: CameraIntrinsics) -> npt.NDArray[np.float32]:
    """Render points into a depth image with a z-buffer (nearest point wins); inverse of :func:`depth_to_points`.

    Args:
        xyz_mm: (N, 3) camera points in mm.
        intrinsics: The camera.

    Returns:
        (H, W) float32 depth in mm, 0 where no point lands.
    """
    uvd = xyz_to_uvd(xyz_mm, intrinsics)
    u = np.rint(uvd[:, 0]).astype(np.int64)
    v = np.rint(uvd[:, 1]).astype(np.int64)
    z = uvd[:, 2]
    ok = (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height) & (z > 0)
    u, v, z = u[ok], v[ok], z[ok]
    order = np.argsort(-z)  # far first, so nearer points overwrite
    depth = np.zeros((intrinsics.height, intrinsics.width), np.float32)
    depth[v[order], u[order]] = z[order]
    return depth
