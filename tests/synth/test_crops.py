from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS
from depthhand.geometry.crop import crop_depth, joints_from_crop, make_crop
from depthhand.synth.crops import fast_crop_depth, generate_crops, joints_in_image, parse_crops_spec, render_crop
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


def test_joints_in_image_counts_the_pixel_area_and_front():
    intr = INTRINSICS["astra"]
    w, h = intr.width, intr.height
    uv = np.array([[-0.6, 10], [-0.4, 10], [w - 0.6, 10], [w - 0.4, 10], [10, h - 0.6], [10, h - 0.4], [5, 5]])
    z = np.array([500.0, 500, 800, 800, 650, 650, -300])
    xyz = np.stack([(uv[:, 0] - intr.cx) * z / intr.fx, (uv[:, 1] - intr.cy) * z / intr.fy, z], axis=-1)
    inside = [False, True, True, False, True, False, False]  # the last is behind the camera
    for k, expected in enumerate(inside):
        assert joints_in_image(xyz[k : k + 1], intr) == float(expected)
    assert joints_in_image(xyz, intr) == pytest.approx(3 / 7)
    assert joints_in_image(np.stack([xyz, xyz[::-1]]), intr).shape == (2,)


def test_min_in_image_keeps_whole_hands_only():
    rng_all, rng_in = np.random.default_rng(11), np.random.default_rng(11)
    _, _, every = generate_crops(48, rng_all, "topdown", noise=None)
    _, _, inside = generate_crops(48, rng_in, "topdown", noise=None, min_in_image=1.0)
    assert every.in_image.min() < 1.0  # the top-down layout lets arms reach in over the image edge
    assert np.all(inside.in_image == 1.0)
    for meta in (every, inside):  # the recorded fraction is the joints' own projection
        recomputed = [joints_in_image(j, k) for j, k in zip(meta.joints_xyz_mm, meta.intrinsics, strict=True)]
        np.testing.assert_array_equal(meta.in_image, recomputed)
    with pytest.raises(ValueError, match="min_in_image"):
        generate_crops(1, np.random.default_rng(0), min_in_image=1.5)


def test_max_in_image_keeps_hands_over_the_image_edge_only():
    rng_all, rng_edge = np.random.default_rng(11), np.random.default_rng(11)
    _, _, every = generate_crops(48, rng_all, "topdown", noise=None)
    _, _, edge = generate_crops(12, rng_edge, "topdown", noise=None, min_in_image=0.3, max_in_image=0.99)
    assert np.all((edge.in_image >= 0.3) & (edge.in_image <= 0.99))
    recomputed = [joints_in_image(j, k) for j, k in zip(edge.joints_xyz_mm, edge.intrinsics, strict=True)]
    np.testing.assert_array_equal(edge.in_image, recomputed)
    assert np.mean(every.in_image == 1.0) > 0.5  # unfiltered, most top-down hands are whole: the filter did the work
    for lo, hi in ((0.0, 1.5), (0.8, 0.5)):
        with pytest.raises(ValueError, match="max_in_image"):
            generate_crops(1, np.random.default_rng(0), min_in_image=lo, max_in_image=hi)


def test_crops_spec_in_image():
    assert parse_crops_spec("@5?in_image=1", ("topdown",)).min_in_image == 1.0
    assert parse_crops_spec("@5", ("topdown",)).min_in_image == 0.0
    for bad in ("@5?in_image=x", "@5?in_image=-0.1"):
        with pytest.raises(ValueError, match="in_image must be a fraction"):
            parse_crops_spec(bad, ("topdown",))
    assert parse_crops_spec("@5?centre_in_image=1", ("topdown",)).centre_in_image
    assert not parse_crops_spec("@5?centre_in_image=0", ("topdown",)).centre_in_image
    assert not parse_crops_spec("@5", ("topdown",)).centre_in_image
    with pytest.raises(ValueError, match="centre_in_image must be 0 or 1"):
        parse_crops_spec("@5?centre_in_image=yes", ("topdown",))
