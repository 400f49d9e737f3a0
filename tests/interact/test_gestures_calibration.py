from __future__ import annotations

import json

import numpy as np
import pytest

from depthhand.geometry.plane import Plane, local_to_plane
from depthhand.geometry.projector import apply_homography, project_points
from depthhand.interact.calibration import (
    Calibration,
    load_calibration,
    make_targets,
    save_calibration,
    solve_calibration,
)
from depthhand.interact.gestures import PinchSettings, PinchTracker, pinch_strength

PLANE = Plane.from_point_normal([0.0, 0.0, 900.0], [0.0, np.sin(0.1), -np.cos(0.1)])


def projector_p() -> np.ndarray:
    k = np.array([[1400.0, 0, 640], [0, 1400.0, 400], [0, 0, 1]])
    a = np.deg2rad(12)
    r = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    return k @ np.concatenate([r, (-r @ np.array([250.0, -40.0, 50.0]))[:, None]], axis=1)


def test_pinch_hysteresis_and_ids():
    tr = PinchTracker(PinchSettings())
    thumb = np.zeros(3)
    dists = [60, 30, 24, 30, 39, 41, 20]
    readings = [tr.update(1, thumb, np.array([d, 0.0, 0.0])) for d in dists]
    assert [r.active for r in readings] == [False, False, True, True, True, False, True]
    assert readings[2].started and readings[5].ended and readings[6].started
    assert readings[2].contact_id != readings[6].contact_id
    assert pinch_strength(25.0, PinchSettings()) == 1.0 and pinch_strength(80.0, PinchSettings()) == 0.0
    assert tr.end_missing(set()) == [] and tr.end_missing(set()) == [] and tr.end_missing(set()) == []
    assert tr.end_missing(set()) == [(1, readings[6].contact_id)]
    with pytest.raises(ValueError):
        PinchSettings(start_mm=50, end_mm=40)


def touches_for(targets: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Invert the true projector mapping: where on (or above) the table each target lands."""
    p = projector_p()
    out = []
    for (x, y), h in zip(targets, heights, strict=True):
        # solve P·X = [x, y] for X on the level `h` above the plane (2 unknowns a, b) by least squares
        def f(ab, h=h):
            return project_points(p, local_to_plane(np.array([ab[0], ab[1], h]), PLANE))

        ab = np.zeros(2)
        for _ in range(20):  # Gauss-Newton, numeric Jacobian
            r = f(ab) - [x, y]
            jac = np.stack([(f(ab + e) - f(ab)) / 1e-4 for e in np.eye(2) * 1e-4], axis=1)
            ab = ab - np.linalg.lstsq(jac, r, rcond=None)[0]
        out.append(local_to_plane(np.array([ab[0], ab[1], h]), PLANE))
    return np.array(out)


def test_calibration_homography_exact_then_noise(tmp_path, rng):
    targets = make_targets(1280, 800, 3, 3)
    touches = touches_for(targets, np.zeros(len(targets)))
    cal = solve_calibration(targets, touches, PLANE, (1280, 800))
    assert cal.projection is None  # all on the table → coplanar → no P
    assert cal.errors["H"]["max_px"] < 1e-6
    probe = touches_for(np.array([[300.0, 500.0], [1000.0, 200.0]]), np.zeros(2))
    assert np.allclose(cal.to_projector(probe), [[300, 500], [1000, 200]], atol=1e-6)
    noisy = touches + rng.normal(0, 2.0, touches.shape)  # 2 mm fingertip noise
    cal_n = solve_calibration(targets, noisy, PLANE, (1280, 800))
    err = np.linalg.norm(cal_n.to_projector(probe) - [[300, 500], [1000, 200]], axis=1)
    # ≈1.5 px/mm at this distance: errors of a few px, far below a fingertip's width
    assert err.max() < 12.0 and cal_n.errors["H"]["rms_px"] < 10.0
    # atomic versioned file round trip
    path = save_calibration(cal_n, tmp_path / "cal" / "calibration.json")
    assert not list(path.parent.glob("*.tmp"))
    back = load_calibration(path)
    assert np.allclose(back.homography, cal_n.homography) and back.plane.to_list() == pytest.approx(PLANE.to_list())
    data = json.loads(path.read_text())
    assert data["format"] == "depthhand-calibration" and data["version"] == 1
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unsupported calibration version 99"):
        load_calibration(path)
    with pytest.raises(FileNotFoundError):
        load_calibration(tmp_path / "missing.json")


def test_calibration_projection_from_non_coplanar_points():
    targets = make_targets(1280, 800, 3, 4)
    heights = np.where(np.arange(12) % 2 == 0, 0.0, 60.0)  # half touched on a 60 mm box
    touches = touches_for(targets, heights)
    cal = solve_calibration(targets, touches, PLANE, (1280, 800))
    assert cal.projection is not None and cal.errors["P"]["max_px"] < 1e-4
    # P maps hovering points correctly, H (plane only) does not
    hover = touches_for(np.array([[640.0, 400.0]]), np.array([80.0]))
    assert np.allclose(project_points(cal.projection, hover), [[640, 400]], atol=1e-3)
    only_h = Calibration((1280, 800), PLANE, cal.homography)
    from depthhand.geometry.plane import plane_to_local

    assert np.linalg.norm(apply_homography(cal.homography, plane_to_local(hover, PLANE)[:, :2]) - [640, 400]) > 5
    assert np.linalg.norm(only_h.to_projector(hover) - [640, 400]) > 5


def test_calibration_input_errors():
    with pytest.raises(ValueError, match="calibration failed"):
        solve_calibration(np.zeros((3, 2)), np.zeros((3, 3)), PLANE, (10, 10))
    with pytest.raises(ValueError, match="no projector mapping"):
        Calibration().to_projector(np.zeros(3))
    with pytest.raises(ValueError, match="not a depthhand calibration"):
        Calibration.from_dict({"format": "x"})
    with pytest.raises(ValueError, match="bad target grid"):
        make_targets(100, 100, 1, 3)
