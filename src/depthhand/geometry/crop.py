"""Metric hand crops: centre + cube → image bounds → normalised depth patch, and back.

The convention is DeepPrior's, used by CrossInfoNet: a cube of ``cube_mm`` (x, y, z) around the hand centre is
projected to image bounds at the centre's depth; the depth inside is resampled (nearest neighbour) to a square
``crop_size`` patch and normalised to ``(d − z_c) / (cube_z / 2)``, clipped to [−1, 1], with invalid and
far pixels set to +1 (background). Joints are normalised as ``(xyz − centre) / (cube / 2)``.

Pixel coordinates use OpenCV's convention: the centre of pixel ``i`` is at ``i``; its edges at ``i ± 0.5``.
Bounds are continuous edge coordinates, so a crop maps bounds exactly onto ``[−0.5, crop_size − 0.5]``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import uvd_to_xyz
from depthhand.structures import CameraIntrinsics, HandCrop

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
BACKGROUND = 1.0
"""Normalised value of invalid / far pixels in a patch."""


def _cube3(cube_mm: npt.ArrayLike) -> F64:
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,)).copy()
    if not np.all(np.isfinite(cube)) or np.any(cube <= 0):
        raise ValueError(f"cube_mm must be positive sizes in mm (scalar or (3,)), got {cube_mm!r}")
    return cube


def _center3(center_xyz_mm: npt.ArrayLike) -> F64:
    center = np.asarray(center_xyz_mm, np.float64)
    if center.shape != (3,) or not np.all(np.isfinite(center)) or center[2] <= 0:
        raise ValueError(f"center_xyz_mm must be a finite (3,) point with z > 0 mm, got {center_xyz_mm!r}")
    return center


def crop_bounds(center_xyz_mm: npt.ArrayLike, cube_mm: npt.ArrayLike, intrinsics: CameraIntrinsics) -> F64:
    """Image bounds of a cube's front-parallel cross-section at the centre's depth.

    Args:
        center_xyz_mm: (3,) cube centre, camera mm.
        cube_mm: Cube size in mm, scalar or (3,) (x, y, z).
        intrinsics: The camera.

    Returns:
        (4,) float64 edge coordinates (u0, v0, u1, v1), pixels; may extend past the image.
    """
    return np.array(_bounds(_center3(center_xyz_mm), _cube3(cube_mm), intrinsics), np.float64)


def _bounds(center: F64, cube: F64, intrinsics: CameraIntrinsics) -> tuple[float, float, float, float]:
    """:func:`crop_bounds` of a checked centre and cube, in floats (the same operations as ``xyz_to_uvd``)."""
    x, y, z = center.tolist()
    cu = x * intrinsics.fx / z + intrinsics.cx
    cv = y * intrinsics.fy / z + intrinsics.cy
    half_u = float(cube[0]) / 2 * intrinsics.fx / z
    half_v = float(cube[1]) / 2 * intrinsics.fy / z
    return cu - half_u, cv - half_v, cu + half_u, cv + half_v


def center_cube_from_bounds(
    bounds_uv: npt.ArrayLike, center_depth_mm: float, cube_z_mm: float, intrinsics: CameraIntrinsics
) -> tuple[F64, F64]:
    """Inverse of :func:`crop_bounds`: recover the centre and cube from bounds and the centre depth.

    Returns:
        ``(center_xyz_mm, cube_mm)``, both (3,) float64.
    """
    u0, v0, u1, v1 = np.asarray(bounds_uv, np.float64)
    z = float(center_depth_mm)
    center = uvd_to_xyz(np.array([(u0 + u1) / 2, (v0 + v1) / 2, z]), intrinsics)
    cube = np.array([(u1 - u0) * z / intrinsics.fx, (v1 - v0) * z / intrinsics.fy, cube_z_mm], np.float64)
    return center, cube


def bounds_affine(bounds_uv: npt.ArrayLike, crop_size: int) -> F64:
    """(3, 3) affine mapping image pixels to crop pixels so that ``bounds_uv`` fill a ``crop_size`` square."""
    u0, v0, u1, v1 = np.asarray(bounds_uv, np.float64).tolist()
    if not (u1 > u0 and v1 > v0):
        raise ValueError(f"bounds must satisfy u1 > u0 and v1 > v0, got {bounds_uv!r}")
    su, sv = crop_size / (u1 - u0), crop_size / (v1 - v0)
    # edge u0 (pixel coordinate u0) -> crop edge -0.5
    return np.array([[su, 0.0, -0.5 - su * u0], [0.0, sv, -0.5 - sv * v0], [0.0, 0.0, 1.0]], np.float64)


def make_crop(
    center_xyz_mm: npt.ArrayLike, cube_mm: npt.ArrayLike, intrinsics: CameraIntrinsics, crop_size: int = 96
) -> HandCrop:
    """The :class:`HandCrop` of a cube around ``center_xyz_mm``.

    Example:
        >>> from depthhand.geometry.camera import INTRINSICS
        >>> crop = make_crop([0.0, 0.0, 600.0], 250.0, INTRINSICS["nyu"], 96)
        >>> crop.crop_size
        96
    """
    if int(crop_size) != crop_size or crop_size < 2:
        raise ValueError(f"crop_size must be an integer >= 2, got {crop_size}")
    center, cube = _center3(center_xyz_mm), _cube3(cube_mm)
    affine = bounds_affine(_bounds(center, cube, intrinsics), int(crop_size))
    return HandCrop(center_xyz_mm=center, cube_mm=cube, image_to_crop=affine, crop_size=int(crop_size))


def apply_affine_uv(uv: npt.ArrayLike, affine: F64) -> F64:
    """Apply a (3, 3) affine to (..., 2) pixel coordinates."""
    p = np.asarray(uv, np.float64)
    return p @ affine[:2, :2].T + affine[:2, 2]


def image_to_crop_uvd(joints_uvd: npt.ArrayLike, crop: HandCrop) -> F64:
    """Image (u, v, d) → crop pixels and the same depth d (mm); inverse: :func:`crop_to_image_uvd`."""
    p = np.asarray(joints_uvd, np.float64)
    return np.concatenate([apply_affine_uv(p[..., :2], crop.image_to_crop), p[..., 2:3]], axis=-1)


def crop_to_image_uvd(crop_uvd: npt.ArrayLike, crop: HandCrop) -> F64:
    """Crop pixels (u, v) and depth d (mm) → image (u, v, d); inverse of :func:`image_to_crop_uvd`."""
    p = np.asarray(crop_uvd, np.float64)
    return np.concatenate([apply_affine_uv(p[..., :2], crop.crop_to_image), p[..., 2:3]], axis=-1)


def joints_to_crop(joints_xyz_mm: npt.ArrayLike, crop: HandCrop) -> F64:
    """Camera-mm joints → cube-normalised ``(xyz − centre) / (cube / 2)``; inverse: :func:`joints_from_crop`."""
    return (np.asarray(joints_xyz_mm, np.float64) - crop.center_xyz_mm) / (crop.cube_mm / 2)


def joints_from_crop(joints_crop: npt.ArrayLike, crop: HandCrop) -> F64:
    """Cube-normalised joints → camera mm (the exact "uncrop" of a network's output)."""
    return np.asarray(joints_crop, np.float64) * (crop.cube_mm / 2) + crop.center_xyz_mm


def crop_source_pixels(crop: HandCrop, image_shape: tuple[int, int]) -> tuple[npt.NDArray[np.int64], ...]:
    """The image pixel each crop pixel samples (nearest neighbour).

    Args:
        crop: The crop.
        image_shape: (H, W) of the image.

    Returns:
        ``(u, v, inside)``: (S, S) integer pixel columns and rows, and a mask of the crop pixels whose source lies
        inside the image (``u``/``v`` are clamped where it does not).
    """
    size = crop.crop_size
    jj, ii = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    inv = crop.crop_to_image
    src_u = inv[0, 0] * jj + inv[0, 1] * ii + inv[0, 2]
    src_v = inv[1, 0] * jj + inv[1, 1] * ii + inv[1, 2]
    u = np.floor(src_u + 0.5).astype(np.int64)
    v = np.floor(src_v + 0.5).astype(np.int64)
    h, w = image_shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    return np.clip(u, 0, w - 1), np.clip(v, 0, h - 1), inside.astype(np.int64)


def crop_depth(depth_mm: npt.NDArray[np.floating], crop: HandCrop) -> F32:
    """Cut, resample (nearest) and normalise the depth inside a crop.

    An axis-aligned crop (no rotation: the live pipeline's) samples one row index per crop row and one column
    index per crop column, the same pixels :func:`crop_source_pixels` picks, without its (S, S) index grids.

    Args:
        depth_mm: (H, W) depth in mm, 0 = invalid.
        crop: The crop; its ``image_to_crop`` may include rotation (augmentation).

    Returns:
        (crop_size, crop_size) float32 in [−1, 1]: ``(d − z_c)/(cube_z/2)``; invalid, outside-image and
        beyond-the-cube pixels are +1, nearer-than-the-cube pixels −1.
    """
    if depth_mm.ndim != 2:
        raise ValueError(f"depth_mm must be (H, W), got {depth_mm.shape}")
    h, w = depth_mm.shape
    inv = crop.crop_to_image
    if inv[0, 1] == 0 and inv[1, 0] == 0:
        # src_u = inv00·j + inv01·i + inv02 with inv01 = 0 is inv00·j + inv02 exactly (x + 0.0 == x): one (S,)
        # vector per axis, rounded as crop_source_pixels rounds.
        idx = np.arange(crop.crop_size, dtype=np.float64)
        u = np.floor(inv[0, 0] * idx + inv[0, 2] + 0.5).astype(np.int64)
        v = np.floor(inv[1, 1] * idx + inv[1, 2] + 0.5).astype(np.int64)
        ok_v, ok_u = (v >= 0) & (v < h), (u >= 0) & (u < w)
        patch = depth_mm[np.clip(v, 0, h - 1)[:, None], np.clip(u, 0, w - 1)[None, :]].astype(np.float64)
        if not (ok_v.all() and ok_u.all()):  # (a crop wholly inside the image, the usual case, needs no mask)
            patch[~(ok_v[:, None] & ok_u[None, :])] = 0.0
    else:
        uu, vv, inside_i = crop_source_pixels(crop, (h, w))
        patch = np.where(inside_i.astype(bool), depth_mm[vv, uu], 0.0).astype(np.float64)
    # (patch − z_c) / half_z in float64 as before, in place; then the background and the clip
    norm = np.subtract(patch, crop.center_xyz_mm[2])
    norm /= crop.cube_mm[2] / 2
    background = patch <= 0
    background |= norm > 1.0
    np.clip(norm, -1.0, 1.0, out=norm)
    norm[background] = BACKGROUND
    out: F32 = norm.astype(np.float32)
    return out


def patch_to_depth(patch: npt.NDArray[np.floating], crop: HandCrop) -> F32:
    """Inverse of the normalisation in :func:`crop_depth`: patch values → depth mm (background → 0).

    Only values strictly inside (−1, 1) are exactly invertible; clipped values come back at the cube faces.
    """
    depth = np.asarray(patch, np.float64) * (crop.cube_mm[2] / 2) + crop.center_xyz_mm[2]
    depth[np.asarray(patch) >= BACKGROUND] = 0.0
    out: F32 = depth.astype(np.float32)
    return out


def crop_points(depth_mm: npt.NDArray[np.floating], crop: HandCrop, intrinsics: CameraIntrinsics) -> F64:
    """Back-project a crop's patch to camera mm, exactly: each patch pixel at the image pixel it sampled.

    Returns:
        (N, 3) float64 xyz mm of the non-background patch pixels (each one of the frame's own points).
    """
    patch = crop_depth(depth_mm, crop)
    u, v, _ = crop_source_pixels(crop, (depth_mm.shape[0], depth_mm.shape[1]))
    keep = patch < BACKGROUND
    d = patch_to_depth(patch, crop)[keep].astype(np.float64)
    uvd = np.stack([u[keep], v[keep], d], axis=-1).astype(np.float64)
    return uvd_to_xyz(uvd, intrinsics)
