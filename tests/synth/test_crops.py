from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS
from depthhand.geometry.crop import crop_depth, joints_from_crop, make_crop
from depthhand.synth.crops import fast_crop_depth, generate_crops, render_crop
from depthhand.synth.scenes import palm_center, render_scene, sample_scene


@pytest.mark.parametrize("family", ["frontal", "topdown", "egocentric"])
def test_window_render_equals_crop_of_full_frame(family: str) -> None:
    for seed in range(3):
        rng = np.random.default_rng([seed, 2])
        scene = sample_scene(family, rng)
        full = render_scene(scene, rng, noise=None)
        crop = make_crop(palm_center(full.joints_xyz_mm[0]), 250.0, scene.intrinsics, 96)
        expect = crop_depth(full.depth_mm, crop)
        patch, _, _ = render_crop(scene, crop, rng, noise=None, render_scale=1.0)
        np.testing.assert_allclose(patch, expect, atol=1e-5)


def test_fast_crop_matches_geometry_crop(rng: np.random.Generator) -> None:
    intr = INTRINSICS["nyu"]
    depth = rng.uniform(300, 1200, (intr.height, intr.width)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = 0
    for center in ([0.0, 0.0, 600.0], [-380.0, 250.0, 500.0], [100.0, -50.0, 900.0]):
        crop = make_crop(center, [250.0, 250.0, 300.0], intr, 96)
        np.testing.assert_array_equal(fast_crop_depth(depth, crop), crop_depth(depth, crop))


def test_generate_crops_shapes_ranges_and_labels() -> None:
    patches, joints_crop, meta = generate_crops(12, np.random.default_rng(4), "topdown", crop_size=64)
    assert patches.shape == (12, 64, 64) and patches.dtype == np.float32
    assert joints_crop.shape == (12, 21, 3) and joints_crop.dtype == np.float32
    assert patches.min() >= -1 and patches.max() <= 1
    assert np.all((patches < 1).mean(axis=(1, 2)) > 0.05)  # hands and table are inside every crop
    for i in range(12):
        back = joints_from_crop(joints_crop[i], meta.crops[i])
        np.testing.assert_allclose(back, meta.joints_xyz_mm[i], atol=1e-3)
    assert np.abs(joints_crop).max() < 1.5


def test_generate_crops_is_deterministic() -> None:
    a = generate_crops(6, np.random.default_rng(9), "frontal", noise="random")
    b = generate_crops(6, np.random.default_rng(9), "frontal", noise="random")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        generate_crops(-1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cube_mm"):
        generate_crops(1, np.random.default_rng(0), cube_mm=-5.0)
