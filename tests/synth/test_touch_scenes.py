"""Scripted touch stress scenes (:mod:`depthhand.synth.touch_scenes`): warm-up, truths, conditions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("numba")

from depthhand.geometry.plane import signed_height
from depthhand.skeleton import Finger
from depthhand.synth.touch_scenes import stress_sequence


def test_tap_sequence_has_a_warmup_and_index_contacts_on_the_table():
    frames = list(stress_sequence("tap120_low", 0, "tof", 800.0, duration_s=1.5, warmup_s=0.2))
    warm = [f for f in frames if f.warmup]
    assert len(warm) == 6 and all(not f.joints_xyz_mm and not f.touches for f in warm)
    touching = [f for f in frames if f.touches]
    assert touching and all(set(f.touches) == {(1, Finger.INDEX)} for f in touching)
    for f in touching:
        assert abs(float(signed_height(np.asarray(f.touches[(1, Finger.INDEX)]), f.plane))) < 1e-6
    # the rendered depth under the true contact is the finger, not the table
    f = touching[0]
    k = f.intrinsics
    x, y, z = f.touches[(1, Finger.INDEX)]
    u, v = round(k.fx * x / z + k.cx), round(k.fy * y / z + k.cy)
    assert 0 < f.depth_mm[v, u] < z - 3.0 or f.depth_mm[v, u] == 0
    # taps come and go: 120 per minute → 3 contacts in 1.5 s
    starts = sum(1 for a, b in itertools.pairwise(frames) if b.touches and not a.touches)
    assert starts == 3


def test_pinch_touches_with_two_fingers_and_a_resting_palm_with_none():
    pinch = list(stress_sequence("pinch", 1, None, 1200.0, duration_s=1.0, warmup_s=0.0))
    assert any({(1, Finger.THUMB), (1, Finger.INDEX)} <= set(f.touches) for f in pinch)
    palm = list(stress_sequence("palm", 1, None, 1200.0, duration_s=0.5, warmup_s=0.0))
    assert all(not f.touches for f in palm)
    # the palm really rests: its fingertip joints lie within a few mm of the table
    tips = np.array([signed_height(f.joints_xyz_mm[1][[8, 12, 16]], f.plane) for f in palm])
    assert float(np.median(tips)) < 8.0


def test_unknown_condition_and_noise_are_rejected():
    with pytest.raises(ValueError, match="unknown touch condition"):
        next(stress_sequence("juggle"))
    with pytest.raises(ValueError, match="noise must be one of"):
        next(stress_sequence("tap80_low", noise="kinect"))


@pytest.mark.parametrize(("condition", "angle"), [("tap30", 30.0), ("tap60", 60.0)])
def test_finger_angle_taps_touch_with_the_index_at_their_angle(condition, angle):
    from depthhand.synth.touch_scenes import finger_angle_deg

    frames = list(stress_sequence(condition, 2, None, 1000.0, duration_s=1.5, warmup_s=0.0))
    touching = [f for f in frames if f.touches]
    assert len(touching) >= 10 and all(set(f.touches) == {(1, Finger.INDEX)} for f in touching)
    for f in touching:
        plane = np.r_[f.plane.normal, -f.plane.offset_mm]
        assert finger_angle_deg(f.joints_xyz_mm[1], plane) == pytest.approx(angle, abs=1.0)
