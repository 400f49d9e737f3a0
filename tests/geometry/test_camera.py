from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depthhand.geometry.camera import (
    INTRINSICS,
    Axes,
    depth_to_points,
    flip_y,
    inside_image,
    points_to_depth,
    uvd_to_xyz,
    xyz_to_uvd,
)
from depthhand.structures import CameraIntrinsics

intrinsics_st = st.builds(
    CameraIntrinsics,
    fx=st.floats(100, 2000),
    fy=st.floats(100, 2000),
    cx=st.floats(0, 640),
    cy=st.floats(0, 480),
    width=st.just(640),
    height=st.just(480),
)
uvd_st = st.tuples(st.floats(-100, 740), st.floats(-100, 580), st.floats(50, 5000))


@given(intrinsics_st, st.lists(uvd_st, min_size=1, max_size=20), st.sampled_from(list(Axes)))
@settings(max_examples=200, deadline=None)
def test_uvd_xyz_round_trip(k: CameraIntrinsics, pts: list[tuple[float, float, float]], axes: Axes) -> None:
    uvd = np.array(pts)
    back = xyz_to_uvd(uvd_to_xyz(uvd, k, axes), k, axes)
    np.testing.assert_allclose(back, uvd, rtol=0, atol=1e-7)


@given(intrinsics_st, st.lists(uvd_st, min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_inside_image_is_the_pixel_area(k: CameraIntrinsics, pts: list[tuple[float, float, float]]) -> None:
    uvd = np.array(pts)
    u, v = uvd[:, 0], uvd[:, 1]
    expected = (u >= -0.5) & (u < 639.5) & (v >= -0.5) & (v < 479.5)
    near_edge = (
        (np.abs(u + 0.5) < 1e-6) | (np.abs(u - 639.5) < 1e-6) | (np.abs(v + 0.5) < 1e-6) | (np.abs(v - 479.5) < 1e-6)
    )
    got = inside_image(uvd_to_xyz(uvd, k), k)
    np.testing.assert_array_equal(got[~near_edge], expected[~near_edge])
    behind = uvd_to_xyz(uvd, k) * -1.0  # through the pinhole: same ray, z < 0, never in the image
    assert not inside_image(behind, k).any()
    assert inside_image(uvd_to_xyz(uvd, k).reshape(1, -1, 3), k).shape == (1, len(pts))


@given(st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500), st.floats(1, 3000)), min_size=1))
def test_flip_y_is_an_involution(pts: list[tuple[float, float, float]]) -> None:
    xyz = np.array(pts)
    np.testing.assert_array_equal(flip_y(flip_y(xyz)), xyz)
    assert not np.shares_memory(flip_y(xyz), xyz)


def test_projection_matches_pinhole_formula_by_hand() -> None:
    k = INTRINSICS["nyu"]
    # x = (u - cx) d / fx, y = (v - cy) d / fy computed independently
    u, v, d = 100.0, 400.0, 812.5
    xyz = uvd_to_xyz(np.array([u, v, d]), k)
    assert xyz[0] == pytest.approx((100.0 - 320.0) * 812.5 / 588.03)
    assert xyz[1] == pytest.approx((400.0 - 240.0) * 812.5 / 587.07)
    up = uvd_to_xyz(np.array([u, v, d]), k, Axes.Y_UP)
    assert up[1] == pytest.approx(-xyz[1])


def test_nyu_toolbox_convention_agrees() -> None:
    # NYU toolbox: x = (u/640 - 0.5) z 1.08836710, y = (0.5 - v/480) z 0.817612648 (y up)
    k = INTRINSICS["nyu"]
    u, v, z = 217.14, 249.91, 762.0
    xyz = uvd_to_xyz(np.array([u, v, z]), k, Axes.Y_UP)
    assert xyz[0] == pytest.approx((u / 640 - 0.5) * z * 1.08836710, abs=0.01)
    assert xyz[1] == pytest.approx((0.5 - v / 480) * z * 0.817612648, abs=0.01)


def test_depth_points_round_trip(rng: np.random.Generator) -> None:
    k = INTRINSICS["icvl"]
    depth = np.zeros((k.height, k.width), np.float32)
    depth[50:150, 60:200] = rng.uniform(300, 900, (100, 140)).astype(np.float32)
    back = points_to_depth(depth_to_points(depth, k), k)
    np.testing.assert_allclose(back, depth, atol=1e-3)


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        uvd_to_xyz(np.zeros((4, 2)), INTRINSICS["nyu"])


def test_uv_in_view_is_the_half_open_pixel_rectangle() -> None:
    from depthhand.geometry.camera import uv_in_view

    uvd = np.array([[0, 0, 500], [639.99, 479.99, 0], [640, 10, 1], [-0.01, 10, 1], [5, 480, 1]], np.float64)
    assert uv_in_view(uvd, 640, 480).tolist() == [True, True, False, False, False]
    assert uv_in_view(uvd[:, :2].reshape(1, 5, 2), 640, 480).shape == (1, 5)
