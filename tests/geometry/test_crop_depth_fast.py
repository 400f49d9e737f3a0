"""``crop_depth``'s axis-aligned path against the pre-audit general formula (kept below, verbatim)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz
from depthhand.geometry.crop import BACKGROUND, crop_depth, make_crop
from depthhand.structures import HandCrop


def old_crop_depth(depth_mm: np.ndarray, crop: HandCrop) -> np.ndarray:
    size = crop.crop_size
    jj, ii = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    inv = crop.crop_to_image
    src_u = inv[0, 0] * jj + inv[0, 1] * ii + inv[0, 2]
    src_v = inv[1, 0] * jj + inv[1, 1] * ii + inv[1, 2]
    u = np.floor(src_u + 0.5).astype(np.int64)
    v = np.floor(src_v + 0.5).astype(np.int64)
    h, w = depth_mm.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    u, v = np.clip(u, 0, w - 1), np.clip(v, 0, h - 1)
    patch = np.where(inside, depth_mm[v, u], 0.0).astype(np.float64)
    norm = (patch - crop.center_xyz_mm[2]) / (crop.cube_mm[2] / 2)
    background = (patch <= 0) | (norm > 1.0)
    norm = np.clip(norm, -1.0, 1.0)
    norm[background] = BACKGROUND
    return norm.astype(np.float32)


def rotated(crop: HandCrop, deg: float) -> HandCrop:
    c = (crop.crop_size - 1) / 2
    rot = np.eye(3)
    rot[:2] = cv2.getRotationMatrix2D((c, c), deg, 1.0)
    return HandCrop(crop.center_xyz_mm, crop.cube_mm, rot @ crop.image_to_crop, crop.crop_size)


def test_axis_aligned_and_rotated_crops_equal_the_old_formula(shared_data: Path) -> None:
    k = INTRINSICS["sr305"]
    frames = [
        cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.float32) * np.float32(0.125)
        for p in sorted((shared_data / "real/sr305-desk/frames").glob("*.png"))[::2]
    ]
    rng = np.random.default_rng(4)
    n_fast = 0
    for depth in frames:
        for _ in range(40):
            uvd = np.array([rng.uniform(-60, 700), rng.uniform(-60, 540), rng.uniform(250, 900)])  # off the edges too
            size = int(rng.choice([32, 96, 128]))
            crop = make_crop(uvd_to_xyz(uvd, k), rng.uniform(150, 300, 3), k, size)
            n_fast += crop.crop_to_image[0, 1] == 0 and crop.crop_to_image[1, 0] == 0
            np.testing.assert_array_equal(crop_depth(depth, crop), old_crop_depth(depth, crop))
            tilted = rotated(crop, float(rng.uniform(-40, 40)))
            np.testing.assert_array_equal(crop_depth(depth, tilted), old_crop_depth(depth, tilted))
    assert n_fast == 40 * len(frames)  # make_crop's crops take the axis-aligned path


def test_make_crop_equals_the_array_formula() -> None:
    """``make_crop``'s float path gives the affine of the original array formula, bit for bit."""
    from depthhand.geometry.camera import xyz_to_uvd

    k = INTRINSICS["sr305"]
    rng = np.random.default_rng(9)
    for _ in range(200):
        center = uvd_to_xyz(np.array([rng.uniform(-60, 700), rng.uniform(-60, 540), rng.uniform(250, 900)]), k)
        cube = rng.uniform(150, 300, 3)
        size = int(rng.choice([32, 96, 128]))
        cu, cv, z = xyz_to_uvd(center, k)
        hu, hv = cube[0] / 2 * k.fx / z, cube[1] / 2 * k.fy / z
        u0, v0, u1, v1 = cu - hu, cv - hv, cu + hu, cv + hv
        su, sv = size / (u1 - u0), size / (v1 - v0)
        expected = np.array([[su, 0.0, -0.5 - su * u0], [0.0, sv, -0.5 - sv * v0], [0.0, 0.0, 1.0]])
        crop = make_crop(center, cube, k, size)
        np.testing.assert_array_equal(crop.image_to_crop, expected)
        np.testing.assert_array_equal(crop.crop_to_image, np.linalg.inv(expected))
