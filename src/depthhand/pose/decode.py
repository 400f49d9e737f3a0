"""Network output conventions ↔ camera millimetres (pure numpy; the runtime path's uncrop).

Two conventions (see :data:`depthhand.models.registry.OUTPUT_SPACES`, mirrored here without importing torch):

* ``xyz_crop``: ``(xyz − centre)/(cube/2)``; uncrop with :func:`depthhand.geometry.crop.joints_from_crop`.
* ``uvd_crop``: crop pixel ``(u, v)`` scaled so the crop's edges are ±1 (``u_n = (u − (S − 1)/2)/(S/2)``) and
  depth ``d_n = (d − z_c)/(cube_z/2)``; uncrop with :func:`uvd_crop_to_xyz`, inverse :func:`xyz_to_uvd_crop`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import uvd_to_xyz, xyz_to_uvd
from depthhand.geometry.crop import crop_to_image_uvd, image_to_crop_uvd, joints_from_crop, joints_to_crop
from depthhand.structures import CameraIntrinsics, HandCrop

F64 = npt.NDArray[np.float64]
OUTPUT_SPACES = ("xyz_crop", "uvd_crop")

__all__ = ["OUTPUT_SPACES", "crop_output_to_xyz", "uvd_crop_to_xyz", "xyz_to_crop_output", "xyz_to_uvd_crop"]


def uvd_crop_to_xyz(joints_uvd_crop: npt.ArrayLike, crop: HandCrop, intrinsics: CameraIntrinsics) -> F64:
    """Normalised crop uvd → camera mm.

    Args:
        joints_uvd_crop: (..., 3) ``(u_n, v_n, d_n)``.
        crop: The crop the network saw (its affine may include an augmentation rotation).
        intrinsics: The camera of the frame.

    Returns:
        (..., 3) float64 joints in camera mm.
    """
    p = np.asarray(joints_uvd_crop, np.float64)
    half = crop.crop_size / 2
    uv_px = p[..., :2] * half + (crop.crop_size - 1) / 2
    depth = p[..., 2:3] * (crop.cube_mm[2] / 2) + crop.center_xyz_mm[2]
    uvd = crop_to_image_uvd(np.concatenate([uv_px, depth], axis=-1), crop)
    return uvd_to_xyz(uvd, intrinsics)


def xyz_to_uvd_crop(joints_xyz_mm: npt.ArrayLike, crop: HandCrop, intrinsics: CameraIntrinsics) -> F64:
    """Camera mm → normalised crop uvd; inverse of :func:`uvd_crop_to_xyz`."""
    crop_uvd = image_to_crop_uvd(xyz_to_uvd(joints_xyz_mm, intrinsics), crop)
    half = crop.crop_size / 2
    uv = (crop_uvd[..., :2] - (crop.crop_size - 1) / 2) / half
    d = (crop_uvd[..., 2:3] - crop.center_xyz_mm[2]) / (crop.cube_mm[2] / 2)
    return np.concatenate([uv, d], axis=-1)


def crop_output_to_xyz(
    joints_out: npt.ArrayLike, output_space: str, crop: HandCrop, intrinsics: CameraIntrinsics
) -> F64:
    """A network's ``joints`` output in ``output_space`` → camera mm (the uncrop)."""
    if output_space == "xyz_crop":
        return joints_from_crop(joints_out, crop)
    if output_space == "uvd_crop":
        return uvd_crop_to_xyz(joints_out, crop, intrinsics)
    raise ValueError(f"unknown output space {output_space!r}; expected one of {OUTPUT_SPACES}")


def xyz_to_crop_output(
    joints_xyz_mm: npt.ArrayLike, output_space: str, crop: HandCrop, intrinsics: CameraIntrinsics
) -> F64:
    """Inverse of :func:`crop_output_to_xyz` (training targets)."""
    if output_space == "xyz_crop":
        return joints_to_crop(joints_xyz_mm, crop)
    if output_space == "uvd_crop":
        return xyz_to_uvd_crop(joints_xyz_mm, crop, intrinsics)
    raise ValueError(f"unknown output space {output_space!r}; expected one of {OUTPUT_SPACES}")
