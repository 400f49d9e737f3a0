"""Crop-frame augmentation (pre-cut crops) against the image-frame augmentation and analytic geometry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from depthhand.geometry.augment import (
    AugmentParams,
    augment_crop,
    augment_crop_joints,
    augment_patch,
    crop_space_affine,
    unaugment_crop_joints,
)
from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.decode import xyz_to_uvd_crop
from depthhand.structures import CameraIntrinsics
from tests.geometry.test_augment import params_st
from tests.geometry.test_crop import sphere_depth

SQUARE = CameraIntrinsics(575.0, 575.0, 320.0, 240.0, 640, 480)  # square pixels: the crop frame is isotropic
CUBE = 250.0


@given(params_st)
@settings(max_examples=100, deadline=None)
def test_unaugment_inverts_augment(params: AugmentParams) -> None:
    joints = np.random.default_rng(1).uniform(-0.9, 0.9, (21, 3))
    aug = augment_crop_joints(joints, params, CUBE)
    np.testing.assert_allclose(unaugment_crop_joints(aug, params, CUBE), joints, atol=1e-10)


def test_identity_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    patch = np.where(rng.random((96, 96)) < 0.5, 1.0, rng.uniform(-1, 0.98, (96, 96))).astype(np.float32)
    np.testing.assert_array_equal(augment_patch(patch, AugmentParams(), CUBE), patch)
    joints = rng.uniform(-1, 1, (21, 3))
    np.testing.assert_allclose(augment_crop_joints(joints, AugmentParams(), CUBE), joints, atol=1e-15)


@pytest.mark.parametrize(
    "params", [AugmentParams(rotation_deg=37.0), AugmentParams(rotation_deg=-120.0, cube_scale=1.15)]
)
def test_rotation_and_scale_equal_the_image_frame_augmentation(params: AugmentParams) -> None:
    """For rotation and cube scale the crop-frame move of uvd_crop joints is exact (square pixels)."""
    center = np.array([60.0, -40.0, 600.0])
    joints = center + np.random.default_rng(2).normal(0, 40, (21, 3))
    plain = make_crop(center, CUBE, SQUARE)
    crop, aug_xyz = augment_crop(center, CUBE, joints, SQUARE, params)
    reference = xyz_to_uvd_crop(aug_xyz, make_crop(crop.center_xyz_mm, crop.cube_mm, SQUARE), SQUARE)
    ours = augment_crop_joints(xyz_to_uvd_crop(joints, plain, SQUARE), params, CUBE)
    np.testing.assert_allclose(ours, reference, atol=1e-9)


def test_patch_warp_matches_recutting_the_frame() -> None:
    """Warping a plain patch ≈ cutting the frame with the augmented crop (nearest-neighbour differences only)."""
    center = np.array([10.0, 0.0, 600.0])
    depth = sphere_depth(np.array([50.0, 20.0, 620.0]), 35.0, k=SQUARE)
    depth = np.maximum(depth, sphere_depth(np.array([-20.0, -30.0, 590.0]), 25.0, k=SQUARE))
    params = AugmentParams(rotation_deg=30.0, cube_scale=1.1)
    plain = crop_depth(depth, make_crop(center, CUBE, SQUARE))
    crop, _ = augment_crop(center, CUBE, np.zeros((1, 3)) + center, SQUARE, params)
    reference = crop_depth(depth, crop)
    warped = augment_patch(plain, params, CUBE)
    hand_ref, hand_ours = reference < 1, warped < 1
    assert hand_ref.sum() > 500
    assert np.mean(hand_ref == hand_ours) > 0.98  # the silhouettes agree up to boundary pixels
    both = hand_ref & hand_ours
    assert np.median(np.abs(reference[both] - warped[both])) < 0.01


def test_blob_follows_its_joint_under_every_move() -> None:
    """A marker blob at a joint's pixel ends up at the augmented joint's pixel, at the augmented depth."""
    size = 96
    patch = np.ones((size, size), np.float32)
    u_px, v_px, d = 62.0, 30.0, 0.2
    patch[29:32, 61:64] = d
    joint = np.array([(u_px - (size - 1) / 2) / (size / 2), (v_px - (size - 1) / 2) / (size / 2), d])
    params = AugmentParams(rotation_deg=30.0, shift_xyz_mm=(5.0, -8.0, 10.0), cube_scale=1.1)
    out = augment_patch(patch, params, CUBE)
    aug = augment_crop_joints(joint, params, CUBE)
    vv, uu = np.nonzero(out < 1)
    assert vv.size >= 4
    expected_px = aug[:2] * (size / 2) + (size - 1) / 2
    np.testing.assert_allclose([uu.mean(), vv.mean()], expected_px, atol=1.0)
    np.testing.assert_allclose(out[vv, uu], (d - 10.0 / (CUBE / 2)) / 1.1, atol=1e-6)
    np.testing.assert_allclose(aug[2], (d - 10.0 / (CUBE / 2)) / 1.1, atol=1e-12)


def test_depth_moves_past_the_cube_faces() -> None:
    patch = np.ones((8, 8), np.float32)
    patch[2, 2], patch[5, 5] = 0.95, -0.95
    far = augment_patch(patch, AugmentParams(shift_xyz_mm=(0.0, 0.0, -20.0)), CUBE)
    assert far[2, 2] == 1.0  # pushed beyond the far face: background, as crop_depth does
    np.testing.assert_allclose(far[5, 5], -0.95 + 20.0 / 125.0, atol=1e-6)
    near = augment_patch(patch, AugmentParams(shift_xyz_mm=(0.0, 0.0, 20.0)), CUBE)
    assert near[5, 5] == -1.0  # clipped at the near face
    assert np.all(near[patch == 1.0] == 1.0)


def test_shift_moves_content_the_other_way() -> None:
    a = crop_space_affine(AugmentParams(shift_xyz_mm=(12.5, 0.0, 0.0)), CUBE)
    np.testing.assert_allclose(a @ [0.1, 0.0, 1.0], [0.0, 0.0, 1.0], atol=1e-12)  # centre moved right by 0.1


def test_bad_patch_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(S, S\)"):
        augment_patch(np.ones((4, 5)), AugmentParams(), CUBE)
