from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from depthhand.geometry.augment import (
    AugmentParams,
    AugmentRecipe,
    augment_crop,
    rotation_about,
    sample_augment,
    unaugment_joints,
)
from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz, xyz_to_uvd
from depthhand.geometry.crop import crop_depth, image_to_crop_uvd, joints_to_crop, make_crop
from tests.geometry.test_crop import sphere_depth

K = INTRINSICS["nyu"]
params_st = st.builds(
    AugmentParams,
    rotation_deg=st.floats(-180, 180),
    shift_xyz_mm=st.tuples(st.floats(-30, 30), st.floats(-30, 30), st.floats(-30, 30)),
    cube_scale=st.floats(0.8, 1.2),
)


@given(params_st)
@settings(max_examples=100, deadline=None)
def test_unaugment_inverts_augment(params: AugmentParams) -> None:
    center = np.array([20.0, -10.0, 650.0])
    joints = center + np.random.default_rng(0).normal(0, 50, (21, 3))
    _, aug = augment_crop(center, 250.0, joints, K, params)
    np.testing.assert_allclose(unaugment_joints(aug, center, K, params), joints, atol=1e-8)


def test_identity_augmentation_is_plain_crop() -> None:
    center = np.array([0.0, 0.0, 600.0])
    joints = center + np.array([[10.0, 20.0, 5.0], [-30, 5, 10]])
    crop, aug = augment_crop(center, 250.0, joints, K, AugmentParams())
    plain = make_crop(center, 250.0, K)
    np.testing.assert_allclose(crop.image_to_crop, plain.image_to_crop)
    np.testing.assert_allclose(aug, joints, atol=1e-9)


def test_rotation_is_consistent_between_patch_and_joints() -> None:
    """Rotating with the crop equals rotating the image with OpenCV, and joints follow the content."""
    import cv2

    sphere_c = np.array([40.0, 0.0, 650.0])  # off-centre blob, so rotation moves it
    depth = sphere_depth(sphere_c, 30.0)
    center = np.array([0.0, 0.0, 650.0])
    params = AugmentParams(rotation_deg=90.0)
    joint = sphere_c[None] - [0, 0, 30.0]  # the sphere's front point
    crop, aug = augment_crop(center, 250.0, joint, K, params)
    patch = crop_depth(depth, crop)
    # independent route: rotate the image about the centre pixel with OpenCV, then crop plainly
    cu, cv_ = xyz_to_uvd(center, K)[:2]
    m = cv2.getRotationMatrix2D((float(cu), float(cv_)), 90.0, 1.0)
    rotated = cv2.warpAffine(depth, m, (K.width, K.height), flags=cv2.INTER_NEAREST)
    ref = crop_depth(rotated, make_crop(center, 250.0, K))
    agree = np.mean(np.isclose(patch, ref, atol=1e-3))
    assert agree > 0.99
    # the joint lands on the blob in the patch at its depth: original joint through the augmented crop ...
    j_uv = image_to_crop_uvd(xyz_to_uvd(joint, K), crop)[0]
    # ... equals the rotated joint through the plain crop around the shifted centre
    plain_uv = image_to_crop_uvd(xyz_to_uvd(aug, K), make_crop(crop.center_xyz_mm, crop.cube_mm, K))[0]
    np.testing.assert_allclose(j_uv, plain_uv, atol=1e-6)
    ju, jv = np.rint(j_uv[:2]).astype(int)
    assert patch[jv, ju] < 1.0
    assert abs(patch[jv, ju] - joints_to_crop(aug, crop)[0, 2]) < 0.02
    # a 90° counter-clockwise rotation moves a blob right of the centre to above it
    assert jv < 47 and abs(ju - 47.5) < 3


def test_rotation_about_fixes_center_and_composes() -> None:
    r = rotation_about([100.0, 50.0], 30.0)
    np.testing.assert_allclose(r @ [100.0, 50.0, 1.0], [100.0, 50.0, 1.0])
    np.testing.assert_allclose(rotation_about([100.0, 50.0], -30.0) @ r, np.eye(3), atol=1e-12)


def test_shift_and_scale_change_labels_as_expected() -> None:
    center = np.array([0.0, 0.0, 600.0])
    joints = np.array([[0.0, 0.0, 600.0]])
    crop, aug = augment_crop(center, 250.0, joints, K, AugmentParams(shift_xyz_mm=(10.0, 0.0, 0.0), cube_scale=1.2))
    np.testing.assert_allclose(crop.cube_mm, [300.0] * 3)
    np.testing.assert_allclose(joints_to_crop(aug, crop), [[-10.0 / 150.0, 0.0, 0.0]], atol=1e-12)


def test_sample_augment_recipe() -> None:
    rng = np.random.default_rng(0)
    draws = [sample_augment(rng) for _ in range(400)]
    kinds = {(d.rotation_deg != 0, any(s != 0 for s in d.shift_xyz_mm), d.cube_scale != 1.0) for d in draws}
    # CrossInfoNet recipe: exactly one (or no) augmentation per sample
    assert kinds == {(True, False, False), (False, True, False), (False, False, True), (False, False, False)}
    combined = sample_augment(rng, AugmentRecipe(combine=True))
    assert combined.rotation_deg != 0 and combined.cube_scale != 1.0
    uvd = uvd_to_xyz(np.array([[1.0, 2.0, 3.0]]), K)
    assert uvd.shape == (1, 3)
