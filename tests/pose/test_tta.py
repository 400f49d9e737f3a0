"""Test-time rotation: the patch rotation and the output un-rotation agree with the geometry of rotated crops."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.augment import rotation_about
from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.decode import uvd_crop_to_xyz
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions
from depthhand.pose.tta import (
    View,
    average_views,
    rotate_patches,
    tta_angles,
    tta_views,
    unrotate_uvd_crop,
    unview_uvd_crop,
    view_patches,
)
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
    views = tta_views(20.0, mirror=True)
    with PoseEstimator(PoseEstimatorOptions(fast_model_path, tta_deg=20.0, tta_mirror=True)) as est:
        poses = est.estimate(frame, centers)
        patches, crops = est.crop_hands(frame, centers)
        outputs = []
        for view in views:  # each view built independently: flip the columns with numpy, rotate with cv2
            shown = np.ascontiguousarray(patches[..., ::-1]) if view.mirrored else patches
            outputs.append(est.run_network(rotate_patches(shown, (view.angle_deg,))))
    for i, (pose, crop) in enumerate(zip(poses, crops, strict=True)):
        decoded = []
        for out, view in zip(outputs, views, strict=True):
            back = unrotate_uvd_crop(out[i], view.angle_deg)
            back[:, 0] = -back[:, 0] if view.mirrored else back[:, 0]
            decoded.append(uvd_crop_to_xyz(back, crop, frame.intrinsics))
        np.testing.assert_allclose(pose.joints_xyz_mm, np.mean(decoded, axis=0), atol=1e-3)
    assert not np.allclose(outputs[0], outputs[3], atol=1e-3)  # the mirror view is a different input
    both = average_views(np.concatenate([o[:1] for o in outputs]), views)
    assert both.shape == (1, 21, 3)


def test_views() -> None:
    assert tta_views(0) == (View(0.0),)
    assert tta_views(0, mirror=True) == (View(0.0), View(0.0, True))
    assert tta_views(10, mirror=True) == (
        View(0.0), View(-10.0), View(10.0), View(0.0, True), View(-10.0, True), View(10.0, True)
    )  # fmt: skip


@pytest.mark.parametrize("angle", [0.0, 25.0])
def test_mirrored_blob_comes_back(angle) -> None:
    """A blob at (u, v) = (60, 30) shows at u = 95 − 60 in the mirror view (then rotated); un-viewing finds it."""
    patch = np.ones((1, 1, 96, 96), np.float32)
    patch[0, 0, 29:32, 59:62] = -0.5
    shown = view_patches(patch, (View(0.0), View(angle, True)))
    np.testing.assert_array_equal(shown[0], patch[0])
    mirrored = rotate_patches(patch[..., ::-1].copy(), (angle,))[0, 0]
    np.testing.assert_array_equal(shown[1, 0], mirrored)
    v, u = np.argwhere(shown[1, 0] < 0).mean(axis=0)
    if angle == 0:
        assert (u, v) == (95 - 60, 30)
    found = np.array([[(u - 47.5) / 48, (v - 47.5) / 48, 0.2]])
    back = unview_uvd_crop(found, View(angle, True))[0]
    np.testing.assert_allclose(back[:2], [(60 - 47.5) / 48, (30 - 47.5) / 48], atol=1.0 / 48)
    assert back[2] == 0.2
    unmirrored_only = unrotate_uvd_crop(found, angle)[0]  # forgetting the mirror lands on the other side
    assert abs(unmirrored_only[0] - back[0]) > 0.4


def test_xyz_crop_model_refuses_rotation(tmp_path, fast_model_path) -> None:
    import onnx

    # the shared test model relabelled as an xyz_crop model: the refusal reads only the metadata
    proto = onnx.load(str(fast_model_path))
    (space,) = [p for p in proto.metadata_props if p.key == "depthhand.output_space"]
    assert space.value == "uvd_crop"
    PoseEstimator(PoseEstimatorOptions(fast_model_path, tta_deg=10.0, tta_mirror=True)).close()  # accepted as uvd
    space.value = "xyz_crop"
    path = tmp_path / "xyz.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(ValueError, match="need a uvd_crop model"):
        PoseEstimator(PoseEstimatorOptions(path, tta_deg=10.0))
    with pytest.raises(ValueError, match="need a uvd_crop model"):
        PoseEstimator(PoseEstimatorOptions(path, tta_mirror=True))
