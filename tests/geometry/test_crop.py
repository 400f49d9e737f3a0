from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depthhand.geometry.camera import INTRINSICS, depth_to_points, uvd_to_xyz, xyz_to_uvd
from depthhand.geometry.crop import (
    BACKGROUND,
    center_cube_from_bounds,
    crop_bounds,
    crop_depth,
    crop_points,
    crop_to_image_uvd,
    image_to_crop_uvd,
    joints_from_crop,
    joints_to_crop,
    make_crop,
    patch_to_depth,
)

K = INTRINSICS["nyu"]
center_st = st.tuples(st.floats(-200, 200), st.floats(-150, 150), st.floats(300, 1500))
cube_st = st.floats(120, 400)


def sphere_depth(center: np.ndarray, radius: float, k=K, background: float = 0.0) -> np.ndarray:
    """Analytic depth image of a sphere (closed-form ray-sphere intersection)."""
    vv, uu = np.mgrid[0 : k.height, 0 : k.width].astype(np.float64)
    rays = np.stack([(uu - k.cx) / k.fx, (vv - k.cy) / k.fy, np.ones_like(uu)], -1)
    a = (rays**2).sum(-1)
    b = -2 * (rays @ center)
    c = center @ center - radius**2
    disc = b * b - 4 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    depth = np.where(disc > 0, t, background)
    return depth.astype(np.float32)


@given(center_st, cube_st)
@settings(max_examples=100, deadline=None)
def test_bounds_round_trip(center: tuple[float, float, float], cube: float) -> None:
    c = np.array(center)
    bounds = crop_bounds(c, cube, K)
    c2, cube2 = center_cube_from_bounds(bounds, c[2], cube, K)
    np.testing.assert_allclose(c2, c, atol=1e-8)
    np.testing.assert_allclose(cube2, [cube, cube, cube], rtol=1e-10)


def test_bounds_analytic() -> None:
    bounds = crop_bounds([0.0, 0.0, 500.0], 250.0, K)
    half = 125.0 * 588.03 / 500.0
    np.testing.assert_allclose(bounds[[0, 2]], [320 - half, 320 + half])


@given(
    center_st,
    cube_st,
    st.sampled_from([32, 96, 128]),
    st.lists(st.tuples(st.floats(0, 640), st.floats(0, 480), st.floats(200, 2000)), min_size=1, max_size=10),
)
@settings(max_examples=100, deadline=None)
def test_crop_uvd_round_trip(center, cube, size, pts) -> None:
    crop = make_crop(np.array(center), cube, K, size)
    uvd = np.array(pts)
    np.testing.assert_allclose(crop_to_image_uvd(image_to_crop_uvd(uvd, crop), crop), uvd, atol=1e-7)


@given(
    center_st,
    cube_st,
    st.lists(st.tuples(st.floats(-300, 300), st.floats(-300, 300), st.floats(100, 2000)), min_size=1, max_size=21),
)
@settings(max_examples=100, deadline=None)
def test_joint_normalisation_round_trip(center, cube, pts) -> None:
    crop = make_crop(np.array(center), cube, K, 96)
    xyz = np.array(pts)
    np.testing.assert_allclose(joints_from_crop(joints_to_crop(xyz, crop), crop), xyz, atol=1e-9)


def test_crop_maps_bounds_to_patch_edges() -> None:
    center = np.array([30.0, -20.0, 700.0])
    crop = make_crop(center, 250.0, K, 96)
    u0, v0, u1, v1 = crop_bounds(center, 250.0, K)
    corners = image_to_crop_uvd(np.array([[u0, v0, 1.0], [u1, v1, 1.0]]), crop)
    np.testing.assert_allclose(corners[:, :2], [[-0.5, -0.5], [95.5, 95.5]], atol=1e-9)
    # the centre's pixel lands at the middle of the patch
    mid = image_to_crop_uvd(xyz_to_uvd(center, K)[None], crop)[0]
    np.testing.assert_allclose(mid[:2], [47.5, 47.5], atol=1e-9)


def test_patch_normalisation_and_inverse() -> None:
    center = np.array([0.0, 0.0, 600.0])
    depth = sphere_depth(np.array([0.0, 0.0, 640.0]), 60.0)
    crop = make_crop(center, 250.0, K, 96)
    patch = crop_depth(depth, crop)
    assert patch.shape == (96, 96)
    assert patch.dtype == np.float32
    assert patch.min() >= -1 and patch.max() <= 1
    # background (no sphere) is +1; the sphere front at 580 mm is (580-600)/125
    assert patch[0, 0] == BACKGROUND
    assert patch[47, 47] == pytest.approx((580.0 - 600.0) / 125.0, abs=2e-3)
    inner = (patch > -1) & (patch < 1)
    back = patch_to_depth(patch, crop)
    np.testing.assert_allclose(back[inner], patch[inner] * 125 + 600, atol=1e-3)
    assert (back[~inner & (patch == BACKGROUND)] == 0).all()


def test_patch_clamps_near_and_far() -> None:
    depth = np.full((K.height, K.width), 900.0, np.float32)  # far wall: beyond the cube -> background
    depth[200:280, 280:360] = 400.0  # nearer than the cube -> -1
    crop = make_crop([0.0, 0.0, 600.0], 250.0, K, 64)
    patch = crop_depth(depth, crop)
    assert patch[32, 32] == -1.0
    assert patch[0, 0] == 1.0


def test_point_cloud_crop_uncrop_returns_to_itself() -> None:
    """A synthetic point cloud, rendered, cropped and uncropped, returns to itself within 0.5 mm."""
    sphere_c = np.array([-40.0, 25.0, 650.0])
    depth = sphere_depth(sphere_c, 45.0)
    original = depth_to_points(depth, K)
    for size, center in ((96, sphere_c + [0, 0, -20]), (128, sphere_c + [15, -10, 0]), (32, sphere_c)):
        crop = make_crop(center, 250.0, K, size)
        pts = crop_points(depth, crop, K)
        assert len(pts) > 0.5 * size * size * (np.pi * 45**2) / 250**2
        # each uncropped point is one of the original points
        from scipy.spatial import cKDTree

        dist, _ = cKDTree(original).query(pts)
        assert dist.max() <= 0.5
        # and lies on the analytic sphere
        np.testing.assert_allclose(np.linalg.norm(pts - sphere_c, axis=1), 45.0, atol=0.5)


def test_uncrop_joints_on_surface() -> None:
    # joints placed on the rendered surface -> normalised -> uncropped back, exactly
    depth = sphere_depth(np.array([0.0, 0.0, 700.0]), 60.0)
    vs, us = np.nonzero(depth > 0)
    pick = np.linspace(0, len(us) - 1, 14).astype(int)
    uvd = np.stack([us[pick], vs[pick], depth[vs[pick], us[pick]]], 1).astype(np.float64)
    joints = uvd_to_xyz(uvd, K)
    crop = make_crop(joints.mean(0), 250.0, K, 96)
    np.testing.assert_allclose(joints_from_crop(joints_to_crop(joints, crop), crop), joints, atol=1e-9)


@pytest.mark.parametrize(
    ("center", "cube", "size"),
    [([0, 0, -10], 250, 96), ([0, 0, 500], -1, 96), ([0, 0, 500], 250, 1), ([np.nan, 0, 500], 250, 96)],
)
def test_bad_crop_arguments(center, cube, size) -> None:
    with pytest.raises(ValueError, match=r"center_xyz_mm|cube_mm|crop_size"):
        make_crop(np.array(center, float), cube, K, size)
