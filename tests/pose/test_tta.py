"""Test-time rotation: the patch rotation and the output un-rotation agree with the geometry of rotated crops."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.augment import rotation_about
from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.decode import uvd_crop_to_xyz
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions
from depthhand.pose.tta import average_views, rotate_patches, tta_angles, unrotate_uvd_crop
from depthhand.structures import HandCrop


def _rotated_crop(crop: HandCrop, angle_deg: float) -> HandCrop:
    """The crop whose patch is ``crop``'s patch rotated about its centre (composition in crop pixels)."""
    c = (crop.crop_size - 1) / 2
    return HandCrop(crop.center_xyz_mm, crop.cube_mm, rotation_about((c, c), angle_deg) @ crop.image_to_crop, 96)


def test_angles() -> None:
    assert tta_angles(0) == (0.0,) and tta_angles(15) == (0.0, -15.0, 15.0)
    for bad in (-1.0, 90.0, float("nan")):
        with pytest.raises(ValueError, match="test-time rotation"):
            tta_angles(bad)


@pytest.mark.parametrize("angle", [15.0, -40.0])
def test_rotated_patch_is_the_rotated_crop(two_hand_frame, angle) -> None:
    frame, centers = two_hand_frame
    crop = make_crop(centers[0], 250.0, frame.intrinsics, 96)
    plain = crop_depth(frame.depth_mm, crop)[None, None]
    ours = rotate_patches(plain, (0.0, angle))
    np.testing.assert_array_equal(ours[0], plain[0])
    for sign, low, high in ((1.0, 0.9, 1.0), (-1.0, 0.0, 0.3)):  # the opposite rotation must not match
        direct = crop_depth(frame.depth_mm, _rotated_crop(crop, sign * angle))
        hand = (ours[1, 0] < 1) | (direct < 1)
        agree = np.isclose(ours[1, 0], direct, atol=0.02)[hand].mean()  # nearest neighbour twice vs once
        assert low <= agree <= high


@pytest.mark.parametrize("angle", [15.0, -40.0, 170.0])
def test_unrotated_output_decodes_like_the_rotated_crop(two_hand_frame, angle) -> None:
    frame, centers = two_hand_frame
    crop = make_crop(centers[1], 250.0, frame.intrinsics, 96)
    out = np.random.default_rng(1).uniform(-0.9, 0.9, (21, 3))
    via_rotated_crop = uvd_crop_to_xyz(out, _rotated_crop(crop, angle), frame.intrinsics)
    via_unrotation = uvd_crop_to_xyz(unrotate_uvd_crop(out, angle), crop, frame.intrinsics)
    np.testing.assert_allclose(via_unrotation, via_rotated_crop, atol=1e-9)


def test_single_bright_pixel_comes_back() -> None:
    patch = np.ones((1, 1, 96, 96), np.float32)
    patch[0, 0, 29:32, 59:62] = -0.5  # a 3×3 blob centred on v = 30, u = 60
    rotated = rotate_patches(patch, (25.0,))[0, 0]
    v, u = np.argwhere(rotated < 0).mean(axis=0)
    norm = np.array([[(u - 47.5) / 48, (v - 47.5) / 48, 0.2]])
    back = unrotate_uvd_crop(norm, 25.0)[0]
    np.testing.assert_allclose(back[:2], [(60 - 47.5) / 48, (30 - 47.5) / 48], atol=1.0 / 48)
    assert back[2] == 0.2


def test_estimator_averages_the_views(fast_model_path, two_hand_frame) -> None:
    frame, centers = two_hand_frame
    with PoseEstimator(PoseEstimatorOptions(fast_model_path, tta_deg=20.0)) as est:
        poses = est.estimate(frame, centers)
        patches, crops = est.crop_hands(frame, centers)
        views = [est.run_network(rotate_patches(patches, (a,))) for a in (0.0, -20.0, 20.0)]
    for i, (pose, crop) in enumerate(zip(poses, crops, strict=True)):
        expected = np.mean(
            [
                uvd_crop_to_xyz(unrotate_uvd_crop(v[i], a), crop, frame.intrinsics)
                for v, a in zip(views, (0, -20, 20), strict=True)
            ],
            axis=0,
        )
        np.testing.assert_allclose(pose.joints_xyz_mm, expected, atol=1e-3)
    both = average_views(np.concatenate([views[0][:1], views[1][:1], views[2][:1]]), (0.0, -20.0, 20.0))
    assert both.shape == (1, 21, 3)


def test_xyz_crop_model_refuses_rotation(tmp_path) -> None:
    import torch

    from depthhand.export.onnx import export_onnx
    from depthhand.models.registry import create_model

    torch.manual_seed(0)
    path = tmp_path / "cin.onnx"
    export_onnx(create_model("crossinfonet_nyu14").eval(), path, check=False)
    with pytest.raises(ValueError, match="needs a uvd_crop model"):
        PoseEstimator(PoseEstimatorOptions(path, tta_deg=10.0))
