from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.camera import depth_to_points, uvd_to_xyz
from depthhand.geometry.plane import (
    Plane,
    fit_plane_from_depth,
    fit_plane_lstsq,
    fit_plane_ransac,
    height_map,
    local_to_plane,
    plane_depth,
    plane_to_local,
    point_at_height,
    project_to_plane,
    signed_height,
)
from depthhand.geometry.vectors import axis_angle_deg
from depthhand.structures import CameraIntrinsics

K = CameraIntrinsics(300.0, 300.0, 79.5, 59.5, 160, 120)


def tilted_plane() -> Plane:
    # table 900 mm away, tilted 20° about x
    ang = np.deg2rad(20.0)
    n = np.array([0.0, np.sin(ang), -np.cos(ang)])
    return Plane.from_point_normal([0.0, 0.0, 900.0], n)


def test_orientation_and_height_of_camera():
    plane = Plane(np.array([0.0, 0.0, 2.0]), -1800.0)  # z = 900, wrong sign and unnormalised
    assert np.allclose(plane.normal, [0, 0, -1])
    assert plane.offset_mm == pytest.approx(900.0)
    assert signed_height(np.zeros(3), plane) == pytest.approx(900.0)
    assert signed_height(np.array([[10.0, -5.0, 880.0]]), plane)[0] == pytest.approx(20.0)


def test_height_against_float64_distance(rng):
    plane = tilted_plane()
    pts = rng.uniform(-300, 300, (50, 3)) + [0, 0, 800]
    # independent reference: distance to plane via a point on it and the normal from a cross product
    p0 = np.array([0.0, 0.0, 900.0])
    ang = np.deg2rad(20.0)
    e1 = np.array([1.0, 0.0, 0.0])
    e2 = np.array([0.0, np.cos(ang), np.sin(ang)])
    n = np.cross(e1, e2)
    n = n if n @ (np.zeros(3) - p0) > 0 else -n
    ref = (pts - p0) @ n
    assert np.allclose(signed_height(pts, plane), ref, atol=1e-9)


def test_round_trips(rng):
    plane = tilted_plane()
    pts = rng.uniform(-300, 300, (40, 3)) + [0, 0, 800]
    foot = project_to_plane(pts, plane)
    assert np.allclose(signed_height(foot, plane), 0, atol=1e-9)
    assert np.allclose(point_at_height(foot, signed_height(pts, plane), plane), pts, atol=1e-9)
    local = plane_to_local(pts, plane)
    assert np.allclose(local[:, 2], signed_height(pts, plane))
    assert np.allclose(local_to_plane(local, plane), pts, atol=1e-9)
    # in-plane distances are preserved
    d_cam = np.linalg.norm(foot[0] - foot[1])
    assert np.linalg.norm(local[0, :2] - local[1, :2]) == pytest.approx(d_cam)
    assert Plane.from_list(plane.to_list()).to_list() == pytest.approx(plane.to_list())


def test_height_map_and_plane_depth_are_inverse():
    plane = tilted_plane()
    z = plane_depth(K, plane, height_mm=0.0)
    assert np.all(z > 0)
    h = height_map(z.astype(np.float32), K, plane)
    assert np.nanmax(np.abs(h)) < 1e-3  # float32 depth
    z30 = plane_depth(K, plane, height_mm=30.0)
    assert np.allclose(height_map(z30, K, plane), 30.0, atol=1e-6)
    # the back-projected points lie on the plane
    pts = depth_to_points(z, K)
    assert np.allclose(signed_height(pts, plane), 0.0, atol=1e-6)
    hm = height_map(np.zeros((K.height, K.width)), K, plane)
    assert np.all(np.isnan(hm))


def test_lstsq_exact_and_rejects_collinear(rng):
    plane = tilted_plane()
    local = np.concatenate([rng.uniform(-200, 200, (30, 2)), np.zeros((30, 1))], axis=1)
    pts = local_to_plane(local, plane)
    fit = fit_plane_lstsq(pts)
    assert np.allclose(fit.to_list(), plane.to_list(), atol=1e-9)
    with pytest.raises(ValueError, match="collinear"):
        fit_plane_lstsq([[0, 0, 1], [1, 1, 1], [2, 2, 1]])
    with pytest.raises(ValueError, match="at least 3"):
        fit_plane_lstsq([[0, 0, 1]])


def test_ransac_robust_to_hand_and_object(rng):
    plane = tilted_plane()
    table = local_to_plane(
        np.concatenate([rng.uniform(-300, 300, (3000, 2)), rng.normal(0, 1.5, (3000, 1))], axis=1), plane
    )
    # a "hand" blob 40–120 mm above and a box 80 mm high: 40 % outliers
    hand = local_to_plane(np.concatenate([rng.uniform(-60, 60, (1200, 2)), rng.uniform(40, 120, (1200, 1))], 1), plane)
    box = local_to_plane(np.concatenate([rng.uniform(100, 200, (800, 2)), np.full((800, 1), 80.0)], 1), plane)
    fit = fit_plane_ransac(np.concatenate([table, hand, box]), threshold_mm=5.0, rng=rng)
    angle = axis_angle_deg(fit.plane.normal, plane.normal)
    assert angle < 0.2
    assert abs(fit.plane.offset_mm - plane.offset_mm) < 1.0
    assert fit.inliers[:3000].mean() > 0.98 and fit.inliers[3000:].mean() < 0.02
    assert 1.0 < fit.rms_mm < 2.0
    # plain least squares is pulled away by the outliers
    naive = fit_plane_lstsq(np.concatenate([table, hand, box]))
    assert abs(naive.offset_mm - plane.offset_mm) > 5 * abs(fit.plane.offset_mm - plane.offset_mm)


def test_fit_from_depth_frames_with_hand_and_noise(rng):
    plane = tilted_plane()
    base = plane_depth(K, plane).astype(np.float32)
    frames = []
    for i in range(5):
        d = base + rng.normal(0, 2.0, base.shape).astype(np.float32)
        d[40:80, 50 + 5 * i : 90 + 5 * i] -= 60.0  # a moving hand 60 mm closer
        d[rng.random(base.shape) < 0.05] = 0.0  # dropouts
        frames.append(d)
    fit = fit_plane_from_depth(frames, K, rng=rng)
    angle = axis_angle_deg(fit.plane.normal, plane.normal)
    assert angle < 0.3
    # heights at the image centre agree within 1 mm
    centre = uvd_to_xyz(np.array([[80.0, 60.0, 900.0]]), K)
    assert abs(signed_height(centre, fit.plane)[0] - signed_height(centre, plane)[0]) < 1.0
    with pytest.raises(ValueError, match="intrinsics expect"):
        fit_plane_from_depth([np.ones((10, 10), np.float32)], K)


def test_facing_camera_is_deepest_rule():
    plane = Plane.facing_camera(1000.0)
    tips = np.array([[0, 0, 950.0], [10, 5, 980.0], [0, 0, 900.0]])
    assert int(np.argmin(signed_height(tips, plane))) == int(np.argmax(tips[:, 2]))
    with pytest.raises(ValueError):
        Plane.facing_camera(-1.0)


def test_invalid_inputs():
    with pytest.raises(ValueError, match="normal"):
        Plane(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="4 finite"):
        Plane.from_list([0, 0, 1])
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        signed_height(np.zeros((3, 2)), Plane.facing_camera(10.0))


def test_local_round_trip_property():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=60, deadline=None)
    @hyp.given(
        tilt=st.floats(-1.2, 1.2),
        yaw=st.floats(-3.1, 3.1),
        dist=st.floats(100.0, 3000.0),
        pt=st.lists(st.floats(-1000, 1000), min_size=3, max_size=3),
    )
    def check(tilt, yaw, dist, pt):
        n = np.array([np.sin(tilt) * np.cos(yaw), np.sin(tilt) * np.sin(yaw), -np.cos(tilt)])
        plane = Plane.from_point_normal([0.0, 0.0, dist], n)
        p = np.asarray(pt) + [0, 0, dist]
        assert np.allclose(local_to_plane(plane_to_local(p, plane), plane), p, atol=1e-6)
        assert np.allclose(point_at_height(project_to_plane(p, plane), signed_height(p, plane), plane), p, atol=1e-6)

    check()
