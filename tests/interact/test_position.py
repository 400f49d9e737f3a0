"""Touch position (interact.position): distal directions, the pose contact over a tilted plane, the trust rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthhand.geometry.plane import Plane
from depthhand.interact.contact import ContactReading
from depthhand.interact.engine import Interaction
from depthhand.interact.position import distal_directions, locate, pixel_trusted, pose_contact, pose_contacts
from depthhand.interact.touch import TouchSettings, TouchState
from depthhand.skeleton import CANONICAL21, Finger
from depthhand.structures import FrameResult, HandPose, TrackedHand


def _tilted() -> tuple[Plane, np.ndarray, np.ndarray, np.ndarray]:
    """A table tilted 25° about x and 10° about y, 900 mm away: its plane and an orthonormal frame (e1, e2, n)."""
    a, b = math.radians(25.0), math.radians(10.0)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    r = ry @ rx
    e1, e2, n = r[:, 0], r[:, 1], -r[:, 2]  # n towards the camera (−z)
    origin = np.array([30.0, -20.0, 900.0])
    return Plane(n, -float(n @ origin)), origin, e1, e2


def _hand(origin: np.ndarray, e1: np.ndarray, e2: np.ndarray, n: np.ndarray, pitch_deg: float, r: float) -> tuple:
    """Canonical joints of a hand whose fingers point along e1, pitched down by ``pitch_deg``.

    Each fingertip lies at ``q + r·d`` with ``d`` its distal direction and ``q`` a chosen point on the table, so the
    pose contact with radius ``r`` is exactly ``q`` (built forwards, no projection involved).
    """
    p = math.radians(pitch_deg)
    d = math.cos(p) * e1 - math.sin(p) * n  # downwards along the finger
    joints = np.zeros((21, 3))
    contacts = {}
    for finger in Finger:
        q = origin + 20.0 * int(finger) * e2 + 5.0 * e1
        tip = q + r * d
        idx = CANONICAL21.tip(finger)
        joints[idx] = tip
        joints[idx - 1] = tip - 22.0 * d  # the DIP, along the distal phalanx
        joints[idx - 2] = tip - 22.0 * d - 25.0 * e1 + 6.0 * n  # the PIP, off that line
        joints[idx - 3] = joints[idx - 2] - 40.0 * e1 + 10.0 * n
        contacts[finger] = q
    joints[0] = origin - 120.0 * e1 + 40.0 * n
    return joints, d, contacts


@pytest.mark.parametrize("pitch_deg", [0.0, 30.0, 70.0])
def test_pose_contact_is_the_foot_of_tip_minus_radius_along_the_phalanx(pitch_deg: float) -> None:
    plane, origin, e1, e2 = _tilted()
    joints, d, want = _hand(origin, e1, e2, plane.normal, pitch_deg, r=7.0)
    dirs = distal_directions(joints, CANONICAL21)
    np.testing.assert_allclose(dirs, np.tile(d, (5, 1)), atol=1e-12)
    for finger in Finger:
        got = pose_contact(joints[CANONICAL21.tip(finger)], dirs[int(finger)], plane, 7.0)
        np.testing.assert_allclose(got, want[finger], atol=1e-9)
    got_all = pose_contacts(joints, CANONICAL21, plane, 7.0)
    for finger in Finger:
        np.testing.assert_allclose(got_all[finger], want[finger], atol=1e-9)
    # radius 0: the tip's own foot, which differs from the contact by the horizontal part of r·d
    tip = joints[CANONICAL21.tip(Finger.INDEX)]
    foot0 = pose_contact(tip, dirs[1], plane, 0.0)
    assert abs(float(plane.normal @ foot0) + plane.offset_mm) < 1e-9
    assert np.linalg.norm(foot0 - want[Finger.INDEX]) == pytest.approx(7.0 * math.cos(math.radians(pitch_deg)))


def test_distal_direction_nan_for_a_degenerate_phalanx_and_then_the_tip_foot() -> None:
    plane, origin, e1, e2 = _tilted()
    joints, _, _ = _hand(origin, e1, e2, plane.normal, 30.0, r=7.0)
    joints[CANONICAL21.tip(Finger.RING) - 1] = joints[CANONICAL21.tip(Finger.RING)]
    dirs = distal_directions(joints, CANONICAL21)
    assert np.all(np.isnan(dirs[int(Finger.RING)])) and np.all(np.isfinite(dirs[int(Finger.INDEX)]))
    tip = joints[CANONICAL21.tip(Finger.RING)]
    got = pose_contact(tip, dirs[int(Finger.RING)], plane, 7.0)
    np.testing.assert_allclose(got, tip - (plane.normal @ tip + plane.offset_mm) * plane.normal, atol=1e-9)


def _reading(xyz: tuple[float, float, float], **kw: object) -> ContactReading:
    base = {"ok": True, "height_mm": 1.0, "xyz_mm": xyz, "pixels": 8}
    return ContactReading(**(base | kw))  # type: ignore[arg-type]


def test_locate_reports_trusted_pixels_else_the_pose_contact() -> None:
    s = TouchSettings(position_max_height_mm=8.0, position_max_offset_mm=15.0, fused_min_pixels=4)
    pose = np.array([10.0, 20.0, 900.0])
    near = (18.0, 20.0, 900.0)  # 8 mm from the pose contact
    np.testing.assert_array_equal(locate(_reading(near), pose, s), near)
    untrusted = [
        None,
        _reading(near, ok=False),
        _reading(near, resting=True),
        _reading(near, pixels=3),
        _reading(near, height_mm=8.5),
        _reading(near, height_mm=float("inf")),
        _reading(near, height_mm=float("nan")),
        _reading((26.0, 20.0, 900.0)),  # 16 mm off the pose: a wrong blob
        ContactReading(True, 1.0, None, 8),
    ]
    for r in untrusted:
        assert not pixel_trusted(r, pose, s)
        np.testing.assert_array_equal(locate(r, pose, s), pose)
    # no offset limit: far pixels are trusted too
    far = _reading((60.0, 20.0, 900.0))
    np.testing.assert_array_equal(locate(far, pose, TouchSettings(position_max_offset_mm=0.0)), far.xyz_mm)


def test_engine_pose_rule_touch_at_the_pose_contact() -> None:
    """End to end through the engine: a fingertip at the table reports the pose contact (radius from settings)."""
    plane, origin, e1, e2 = _tilted()
    r = 6.0
    joints, _, want = _hand(origin, e1, e2, plane.normal, 40.0, r=r)
    for finger in Finger:  # all fingers but the index finger 40 mm up
        if finger is not Finger.INDEX:
            for j in range(CANONICAL21.tip(finger) - 3, CANONICAL21.tip(finger) + 1):
                joints[j] = joints[j] + 40.0 * plane.normal
    engine = Interaction(touch=TouchSettings(rule="pose", position_tip_radius_mm=r), plane=plane)
    from depthhand.geometry.camera import CameraIntrinsics

    k = CameraIntrinsics(width=640, height=480, fx=570.0, fy=570.0, cx=320.0, cy=240.0)
    pose = HandPose(joints.astype(np.float32), np.zeros((21, 3), np.float32), CANONICAL21, score=1.0)
    out = None
    for i in range(3):
        res = FrameResult(i, i * 33_333, (TrackedHand(1, pose, age_frames=i),), {}, "test", k)
        out = engine.process(res)
    assert out is not None
    (reading,) = [f for f in out.hands[1].fingers if f.finger is Finger.INDEX]
    assert reading.state is TouchState.TOUCH and reading.touch_xyz_mm is not None
    # float32 joints: within 1e-3 mm of the float64 construction
    np.testing.assert_allclose(reading.touch_xyz_mm, want[Finger.INDEX], atol=2e-3)
