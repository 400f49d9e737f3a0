from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.projector import (
    apply_homography,
    fit_homography,
    fit_projection,
    invert_homography,
    project_points,
    reprojection_errors,
)

H_TRUE = np.array([[1.9, 0.12, 640.0], [-0.05, 2.1, 400.0], [1.2e-4, -0.8e-4, 1.0]])


def true_projection() -> np.ndarray:
    # projector: 1280x800, f = 1400 px, 300 mm to the side of the camera, tilted 15° towards the table
    k = np.array([[1400.0, 0, 640], [0, 1400.0, 400], [0, 0, 1]])
    a = np.deg2rad(15)
    r = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    t = -r @ np.array([300.0, 0.0, 0.0])
    return k @ np.concatenate([r, t[:, None]], axis=1)


def grid(n: int = 4, span: float = 250.0) -> np.ndarray:
    g = np.linspace(-span, span, n)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


def test_homography_exact_noise_free():
    src = grid()
    dst = apply_homography(H_TRUE, src)
    h = fit_homography(src, dst)
    assert np.allclose(h, H_TRUE, rtol=1e-7, atol=1e-9)
    h4 = fit_homography(src[[0, 3, 12, 15]], dst[[0, 3, 12, 15]])  # minimal: 4 corners
    assert np.allclose(h4, H_TRUE, rtol=1e-6, atol=1e-8)
    assert reprojection_errors(apply_homography(h, src), dst)["max_px"] < 1e-6


def test_homography_matches_opencv_and_noise_bound(rng):
    cv2 = pytest.importorskip("cv2")
    src = grid(4)
    dst = apply_homography(H_TRUE, src) + rng.normal(0, 1.0, (16, 2))
    h = fit_homography(src, dst)
    h_cv, _ = cv2.findHomography(src, dst, 0)
    test_pts = rng.uniform(-250, 250, (100, 2))
    assert np.max(np.linalg.norm(apply_homography(h, test_pts) - apply_homography(h_cv, test_pts), axis=1)) < 0.5
    # σ = 1 px noise, 16 points, 8 DOF: mapping error inside the calibrated area stays ≲ 1.5 px
    err = np.linalg.norm(apply_homography(h, test_pts) - apply_homography(H_TRUE, test_pts), axis=1)
    assert err.max() < 2.0
    # residual RMS of a 2-D error: sqrt(2 σ² (1 - 8 / 32)) ≈ 1.22 px
    assert 0.7 < reprojection_errors(apply_homography(h, src), dst)["rms_px"] < 1.8


def test_homography_inverse_round_trip(rng):
    pts = rng.uniform(-200, 200, (20, 2))
    back = apply_homography(invert_homography(H_TRUE), apply_homography(H_TRUE, pts))
    assert np.allclose(back, pts, atol=1e-8)


def test_homography_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 4"):
        fit_homography(grid()[:3], grid()[:3])
    with pytest.raises(ValueError, match="collinear"):
        line = np.stack([np.arange(6.0), 2 * np.arange(6.0)], 1)
        fit_homography(line, line)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        fit_homography(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="5 source points but 4"):
        fit_homography(np.zeros((5, 2)), np.zeros((4, 2)))


def test_projection_exact_and_noisy(rng):
    p_true = true_projection()
    pts = rng.uniform([-250, -200, 700], [250, 200, 950], (12, 3))
    px = project_points(p_true, pts)
    p = fit_projection(pts, px)
    p_ref = p_true / np.linalg.norm(p_true[2, :3])
    assert np.allclose(p, p_ref, rtol=1e-6, atol=1e-6)
    test = rng.uniform([-250, -200, 700], [250, 200, 950], (100, 3))
    assert np.max(np.abs(project_points(p, test) - project_points(p_true, test))) < 1e-6
    noisy = px + rng.normal(0, 1.0, px.shape)
    pn = fit_projection(pts, noisy)
    err = np.linalg.norm(project_points(pn, test) - project_points(p_true, test), axis=1)
    assert np.median(err) < 2.0 and err.max() < 6.0


def test_projection_rejects_coplanar_and_few(rng):
    p_true = true_projection()
    flat = np.concatenate([rng.uniform(-200, 200, (10, 2)), np.full((10, 1), 900.0)], 1)
    with pytest.raises(ValueError, match="coplanar"):
        fit_projection(flat, project_points(p_true, flat))
    with pytest.raises(ValueError, match="at least 6"):
        fit_projection(flat[:5], np.zeros((5, 2)))


def test_homography_fit_recovers_random_homographies():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=50, deadline=None)
    @hyp.given(st.lists(st.floats(-0.3, 0.3), min_size=8, max_size=8))
    def check(e):
        h = np.array([[1 + e[0], e[1], 100 * e[2]], [e[3], 1 + e[4], 100 * e[5]], [1e-3 * e[6], 1e-3 * e[7], 1.0]])
        src = grid(3, 200.0)
        dst = apply_homography(h, src)
        assert np.allclose(apply_homography(fit_homography(src, dst), src), dst, atol=1e-6)

    check()
