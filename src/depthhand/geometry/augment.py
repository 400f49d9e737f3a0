"""Training augmentation that moves the crop, never the data: in-plane rotation, 3-D centre shift, cube scale.

An augmented sample is described by a :class:`HandCrop` whose ``image_to_crop`` includes the rotation, plus the
joints expressed in the rotated image. Rotating the image content by θ about the centre's pixel ``c`` and
cropping it with the plain affine ``A`` equals cropping the original image with ``A·R(θ)``, so the depth patch
is produced from the untouched frame by :func:`depthhand.geometry.crop.crop_depth` and patch and joints stay
consistent. Joints are rotated in (u, v) about ``c`` with their depth kept (DeepPrior's convention), and
:func:`unaugment_joints` undoes it exactly.

Pre-cut crops (``crops:`` training files) get the same three moves in the normalised crop frame
(:func:`augment_patch` with :func:`augment_crop_joints`): the patch is warped instead of re-cut from the frame.

Ideas from DeepPrior++ (Oberweger & Lepetit, 2017) and CrossInfoNet's recipe; re-implemented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import uvd_to_xyz, xyz_to_uvd
from depthhand.geometry.crop import make_crop
from depthhand.structures import CameraIntrinsics, HandCrop

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AugmentParams:
    """One augmentation draw.

    Attributes:
        rotation_deg: In-plane rotation of the image content about the centre pixel, degrees (counter-clockwise
            as seen on screen, i.e. with v pointing down).
        shift_xyz_mm: (3,) offset added to the crop centre, mm.
        cube_scale: Factor applied to the cube size.
    """

    rotation_deg: float = 0.0
    shift_xyz_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cube_scale: float = 1.0


IDENTITY = AugmentParams()


@dataclass(frozen=True, slots=True)
class AugmentRecipe:
    """How augmentation parameters are drawn.

    The CrossInfoNet recipe picks one of {shift, rotation, scale, none} per sample: centre shift σ = 10 mm,
    rotation uniform in ±180°, scale σ = 0.05. ``combine=True`` applies all three together (a stronger option).
    """

    shift_sigma_mm: float = 10.0
    rotation_max_deg: float = 180.0
    scale_sigma: float = 0.05
    combine: bool = False


def sample_augment(rng: np.random.Generator, recipe: AugmentRecipe = AugmentRecipe()) -> AugmentParams:
    """Draw augmentation parameters."""
    shift = tuple(float(s) for s in rng.normal(0.0, recipe.shift_sigma_mm, 3))
    rot = float(rng.uniform(-recipe.rotation_max_deg, recipe.rotation_max_deg))
    scale = float(np.clip(abs(1.0 + rng.normal(0.0, recipe.scale_sigma)), 0.7, 1.3))
    if recipe.combine:
        return AugmentParams(rot, (shift[0], shift[1], shift[2]), scale)
    mode = int(rng.integers(0, 4))
    if mode == 0:
        return AugmentParams(shift_xyz_mm=(shift[0], shift[1], shift[2]))
    if mode == 1:
        return AugmentParams(rotation_deg=rot)
    if mode == 2:
        return AugmentParams(cube_scale=scale)
    return IDENTITY


def rotation_about(center_uv: npt.ArrayLike, angle_deg: float) -> F64:
    """(3, 3) affine rotating image points by ``angle_deg`` about ``center_uv`` (counter-clockwise on screen)."""
    cu, cv = np.asarray(center_uv, np.float64)
    t = np.deg2rad(angle_deg)
    c, s = np.cos(t), np.sin(t)
    # v points down, so a counter-clockwise rotation on screen is (u, v) -> (c·du + s·dv, −s·du + c·dv).
    rot = np.array([[c, s], [-s, c]])
    out = np.eye(3)
    out[:2, :2] = rot
    out[:2, 2] = np.array([cu, cv]) - rot @ np.array([cu, cv])
    return out


def rotate_joints_uvd(joints_uvd: npt.ArrayLike, center_uv: npt.ArrayLike, angle_deg: float) -> F64:
    """Rotate (..., 3) image joints in (u, v) about ``center_uv``; depth is kept."""
    p = np.asarray(joints_uvd, np.float64)
    r = rotation_about(center_uv, angle_deg)
    uv = p[..., :2] @ r[:2, :2].T + r[:2, 2]
    return np.concatenate([uv, p[..., 2:3]], axis=-1)


def augment_crop(
    center_xyz_mm: npt.ArrayLike,
    cube_mm: npt.ArrayLike,
    joints_xyz_mm: npt.ArrayLike,
    intrinsics: CameraIntrinsics,
    params: AugmentParams,
    crop_size: int = 96,
) -> tuple[HandCrop, F64]:
    """Apply ``params`` to a crop and its joints.

    Args:
        center_xyz_mm: (3,) crop centre before augmentation, mm.
        cube_mm: Cube size, scalar or (3,), mm.
        joints_xyz_mm: (J, 3) joints in camera mm.
        intrinsics: The camera of the frame.
        params: The augmentation draw.
        crop_size: Patch side, pixels.

    Returns:
        ``(crop, joints_aug_xyz_mm)``: crop the *original* depth with ``crop`` and normalise
        ``joints_aug_xyz_mm`` with it (:func:`~depthhand.geometry.crop.joints_to_crop`) to get a consistent
        training pair. ``crop.image_to_crop`` maps *original* image pixels to the patch, so a joint's patch pixel
        (e.g. for heat maps) is ``image_to_crop_uvd(xyz_to_uvd(joints_xyz_mm), crop)`` of the *un-augmented*
        joints; the augmented joints are in the rotated image, where the plain (unrotated) crop applies.
    """
    center = np.asarray(center_xyz_mm, np.float64)
    center_uv = xyz_to_uvd(center, intrinsics)[:2]
    joints_uvd = xyz_to_uvd(joints_xyz_mm, intrinsics)
    joints_rot = uvd_to_xyz(rotate_joints_uvd(joints_uvd, center_uv, params.rotation_deg), intrinsics)
    new_center = center + np.asarray(params.shift_xyz_mm, np.float64)
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,)) * params.cube_scale
    plain = make_crop(new_center, cube, intrinsics, crop_size)
    # The content is rotated about the *original* centre pixel, the same point the joints rotate about.
    affine = plain.image_to_crop @ rotation_about(center_uv, params.rotation_deg)
    crop = HandCrop(plain.center_xyz_mm, plain.cube_mm, affine, plain.crop_size)
    return crop, joints_rot


def unaugment_joints(
    joints_aug_xyz_mm: npt.ArrayLike,
    center_xyz_mm: npt.ArrayLike,
    intrinsics: CameraIntrinsics,
    params: AugmentParams,
) -> F64:
    """Inverse of the joint part of :func:`augment_crop` (``center_xyz_mm`` is the un-augmented centre)."""
    center_uv = xyz_to_uvd(np.asarray(center_xyz_mm, np.float64), intrinsics)[:2]
    uvd = xyz_to_uvd(joints_aug_xyz_mm, intrinsics)
    return uvd_to_xyz(rotate_joints_uvd(uvd, center_uv, -params.rotation_deg), intrinsics)


# --- the same augmentation applied to a pre-cut crop (normalised crop frame) ---------------------------------------


def crop_space_affine(params: AugmentParams, cube_mm: npt.ArrayLike) -> F64:
    """(3, 3) map from the original crop's normalised (u, v) to the augmented crop's.

    The augmented crop is the original one rotated by ``params.rotation_deg`` about its centre (content turns
    counter-clockwise on screen, as in :func:`rotation_about`), moved by ``shift_xyz_mm[:2]`` (a shift of the
    centre by ``δ`` mm moves the content by ``δ / (cube/2)`` normalised units at the centre's depth) and scaled by
    ``cube_scale`` (a bigger cube makes the hand smaller): ``uv' = (R·uv − t) / s``.

    Args:
        params: The augmentation draw.
        cube_mm: Cube side, scalar or (3,), mm.
    """
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,))
    t = np.asarray(params.shift_xyz_mm[:2], np.float64) / (cube[:2] / 2)
    out = rotation_about((0.0, 0.0), params.rotation_deg)
    out[:2, 2] -= t
    out[:2] /= params.cube_scale
    return out


def augment_crop_joints(joints_crop: npt.ArrayLike, params: AugmentParams, cube_mm: npt.ArrayLike) -> F64:
    """Apply ``params`` to (..., 3) normalised crop joints (uvd_crop or xyz_crop): see :func:`crop_space_affine`.

    Depth moves by ``−shift_z / (cube_z/2)`` and everything is divided by ``cube_scale``. For uvd_crop this is
    exactly what :func:`augment_patch` does to the patch. For xyz_crop the in-plane rotation is taken about the
    camera's z axis through the centre, which matches the image rotation exactly only for a centre on the optical
    axis; elsewhere it is an approximation that worsens as the centre moves off the axis (not quantified here).
    """
    p = np.asarray(joints_crop, np.float64)
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,))
    a = crop_space_affine(params, cube)
    uv = p[..., :2] @ a[:2, :2].T + a[:2, 2]
    d = (p[..., 2:3] - params.shift_xyz_mm[2] / (cube[2] / 2)) / params.cube_scale
    return np.concatenate([uv, d], axis=-1)


def unaugment_crop_joints(joints_aug: npt.ArrayLike, params: AugmentParams, cube_mm: npt.ArrayLike) -> F64:
    """Inverse of :func:`augment_crop_joints`."""
    p = np.asarray(joints_aug, np.float64)
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,))
    inv = np.linalg.inv(crop_space_affine(params, cube))
    uv = p[..., :2] @ inv[:2, :2].T + inv[:2, 2]
    d = p[..., 2:3] * params.cube_scale + params.shift_xyz_mm[2] / (cube[2] / 2)
    return np.concatenate([uv, d], axis=-1)


def augment_patch(
    patch: npt.NDArray[np.floating], params: AugmentParams, cube_mm: npt.ArrayLike, background: float = 1.0
) -> npt.NDArray[np.float32]:
    """Apply ``params`` to a normalised depth patch, consistently with :func:`augment_crop_joints` (uvd_crop).

    Pixels are resampled with nearest neighbour (no depth is invented between the hand and the background);
    pixels that come from outside the original patch are background. Hand depths move by ``−shift_z`` and are
    divided by ``cube_scale``; those that leave the far face of the cube become background and those that pass the
    near face are clipped to −1, as :func:`depthhand.geometry.crop.crop_depth` does.

    Args:
        patch: (S, S) normalised depth in [−1, 1], background ``background``.
        params: The augmentation draw.
        cube_mm: Cube side, scalar or (3,), mm.
        background: The patch's background value.

    Returns:
        (S, S) float32.
    """
    import cv2

    src = np.asarray(patch, np.float32)
    if src.ndim != 2 or src.shape[0] != src.shape[1]:
        raise ValueError(f"patch must be (S, S), got {src.shape}")
    size = src.shape[0]
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,))
    # pixel p ↔ normalised n = (p − c)/h; the inverse map (augmented pixel → source pixel) is n = A⁻¹·n'
    c, h = (size - 1) / 2, size / 2
    to_norm = np.array([[1 / h, 0, -c / h], [0, 1 / h, -c / h], [0, 0, 1]])
    inverse = np.linalg.inv(to_norm) @ np.linalg.inv(crop_space_affine(params, cube)) @ to_norm
    out = cv2.warpAffine(
        src, inverse[:2].astype(np.float64), (size, size),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=float(background),
    )  # fmt: skip
    hand = out < background
    moved = (out - params.shift_xyz_mm[2] / (cube[2] / 2)) / params.cube_scale
    moved = np.where(moved > 1.0, background, np.maximum(moved, -1.0))
    result: npt.NDArray[np.float32] = np.where(hand, moved, background).astype(np.float32)
    return result
