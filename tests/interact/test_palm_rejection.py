"""Palm rejection on rendered stress scenes: a resting or landing flat hand fires no touch, a tap beside it does.

Each scene test also runs the engine with the rule under test switched off and checks that it then fires (the
control): the scenes are ones where the rule is what keeps the touch away.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_stress
from depthhand.geometry.plane import Plane
from depthhand.interact.engine import Interaction
from depthhand.interact.fused import RestState
from depthhand.interact.touch import EventType, TouchSettings
from depthhand.skeleton import Finger
from depthhand.structures import FrameResult
from depthhand.synth.scripted import TruthFrame
from depthhand.synth.touch_scenes import stress_sequence

NET9 = (7.0, 5.7)  # the stress bench's `net9` pose error model: offset σ, jitter σ per coordinate, mm
FRAMES = 130  # 1 s of empty table, 2 s of rest, the 1-s lift and landing


def _frames(condition: str, noise: str | None, height_mm: float, with_depth: bool = True) -> list[TruthFrame]:
    stress = list(stress_sequence(condition, 0, noise, height_mm, duration_s=(FRAMES - 30) / 30.0))
    frames = list(truth_frames_from_stress(stress, *NET9, seed=0))
    return frames if with_depth else [replace(f, depth_mm=None) for f in frames]


def _downs(frames: list[TruthFrame], plane: Plane, settings: TouchSettings) -> list[tuple[int, int, str]]:
    engine = Interaction(touch=settings, plane=plane)
    out = []
    for k, tf in enumerate(frames):
        for ev in engine.process(tf.result, tf.depth_mm).events:
            if ev.type is EventType.TOUCH_DOWN:
                out.append((k, ev.hand_id, ev.finger.name))
    return out


def _plane(condition: str, noise: str | None, height_mm: float) -> Plane:
    return next(iter(stress_sequence(condition, 0, noise, height_mm, duration_s=0.0, warmup_s=1 / 30))).plane


@pytest.fixture(scope="module")
def palm_sl() -> tuple[list[TruthFrame], Plane]:
    return _frames("palm", "structured_light", 800.0), _plane("palm", "structured_light", 800.0)


@pytest.fixture(scope="module")
def palm_tof() -> tuple[list[TruthFrame], Plane]:
    return _frames("palm", "tof", 800.0), _plane("palm", "tof", 800.0)


def test_a_resting_palm_fires_no_touch(palm_sl: tuple[list[TruthFrame], Plane]) -> None:
    frames, plane = palm_sl
    assert _downs(frames, plane, TouchSettings()) == []
    # control: without the re-arm rule the thumb, lying under the palm, fires as the hand lifts and lands
    assert _downs(frames, plane, TouchSettings(palm_rearm_mm=0.0))


def test_a_landing_palm_fires_no_touch(palm_tof: tuple[list[TruthFrame], Plane]) -> None:
    frames, plane = palm_tof
    assert _downs(frames, plane, TouchSettings()) == []
    # control: without the hold after the rest, a long finger fires as the flat hand comes down again
    fired = _downs(frames, plane, TouchSettings(palm_hold_frames=0))
    assert fired and all(k > 90 for k, _, _ in fired)  # after the rest (frames 30-89): the landing


def _rigid_onto(src: Plane, dst: Plane) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation taking ``src``'s plane onto ``dst``'s (heights above the plane kept)."""
    a, b = src.normal, dst.normal
    v, c = np.cross(a, b), float(a @ b)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    rot = np.eye(3) + k + k @ k / (1 + c)
    p_src = -src.offset_mm * a  # a point of the source plane
    t = -dst.offset_mm * b - rot @ p_src
    return rot, t


def test_a_tap_beside_a_resting_hand_still_fires(palm_tof: tuple[list[TruthFrame], Plane]) -> None:
    palm_frames, plane = palm_tof
    tap_plane = _plane("tap80_low", "tof", 800.0)
    tap_frames = _frames("tap80_low", "tof", 800.0)
    rot, t = _rigid_onto(tap_plane, plane)
    both = []
    for pf, tf in zip(palm_frames, tap_frames, strict=True):
        hands = list(pf.result.hands)
        for th in tf.result.hands:
            j = (np.asarray(th.pose.joints_xyz_mm, np.float64) @ rot.T + t).astype(np.float32)
            hands.append(replace(th, track_id=2, pose=replace(th.pose, joints_xyz_mm=j)))
        touches = {(2, f): tuple(rot @ np.asarray(p) + t) for (_, f), p in tf.touches.items()}
        result = FrameResult(pf.result.frame_index, pf.result.timestamp_us, tuple(hands), {}, "test", None)
        both.append(TruthFrame(result, touches, {}, None))  # no depth: the pose decides, the palm check by the pose
    downs = _downs(both, plane, TouchSettings())
    assert downs and all(hand == 2 for _, hand, _ in downs)  # the resting hand fires nothing
    report = evaluate_touch(both, plane, TouchSettings(), warmup_frames=30)
    assert report.true_contacts >= 3 and report.recall == 1.0
    # control: the resting hand's lift and landing fire without the hold and the re-arm
    control = _downs(both, plane, TouchSettings(palm_hold_frames=0, palm_rearm_mm=0.0))
    assert any(hand == 1 for _, hand, _ in control)


def test_rest_state_holds_after_the_palm_lifts_until_it_clears() -> None:
    rest = RestState({})
    assert rest.update(1, 25.0, None, 33.0, 45.0, 5.0) and rest.rejected(1, 25.0, 3, 70.0)
    rest.update(1, 50.0, None, 33.0, 45.0, 5.0)  # lifted: no longer resting ...
    assert [rest.rejected(1, 50.0, 3, 70.0) for _ in range(4)] == [True, True, True, False]  # ... held 3 frames
    rest.update(1, 25.0, None, 33.0, 45.0, 5.0)
    rest.rejected(1, 25.0, 3, 70.0)
    rest.update(1, 80.0, None, 33.0, 45.0, 5.0)
    assert not rest.rejected(1, 80.0, 3, 70.0)  # lifted clear above 70 mm: released at once


def test_the_pixels_veto_a_touch_the_pose_alone_would_start() -> None:
    from depthhand.interact.contact import ContactReading
    from depthhand.interact.touch import TouchTracker

    plane = Plane.facing_camera(800.0)
    tip = {1: {Finger.INDEX: np.array([0.0, 0.0, 800.0 - 1.0])}}  # the pose: the tip 1 mm above the table
    noisy = 25.0  # a noisy sensor: the filter all but ignores the pixels and follows the pose

    def downs(pixel_mm: float, settings: TouchSettings) -> int:
        tracker = TouchTracker(replace(settings, fingers=(Finger.INDEX,)))
        reading = {(1, Finger.INDEX): ContactReading(True, pixel_mm, pixels=8, noise_mm=noisy)}
        evs = [e for k in range(5) for e in tracker.update(tip, plane, k * 33_333, reading)]
        return sum(e.type is EventType.TOUCH_DOWN for e in evs)

    s = TouchSettings(fused_pixel_veto_mm=13.0)  # opt-in (off by default)
    assert downs(20.0, s) == 0  # the pixels see the finger 20 mm up: no touch starts
    assert downs(2.0, s) == 1  # they agree it touches
    assert downs(20.0, replace(s, fused_pixel_veto_mm=0.0)) == 1  # control: without the veto the pose decides


def test_no_touch_starts_where_the_pixels_see_no_finger_near_the_table() -> None:
    """A reading that is ``ok`` with no finger pixel near the table (height ``inf``) vetoes a touch start once the
    pixels have measured the hand's fingers (within ``fused_clear_seen_frames``); a hand whose fingers the pixels
    never resolve (a low-resolution view) is left to the pose; a touch that has started is not ended by it."""
    from depthhand.interact.contact import ContactReading
    from depthhand.interact.touch import TouchTracker

    plane = Plane.facing_camera(800.0)

    def events(frames: list[tuple[float, float]], settings: TouchSettings) -> list[EventType]:
        """``(pose tip height, pixel reading)`` per frame → the events."""
        tracker = TouchTracker(replace(settings, fingers=(Finger.INDEX,), emit_move_events=False))
        out = []
        for k, (pose_mm, pix_mm) in enumerate(frames):
            tip = {1: {Finger.INDEX: np.array([0.0, 0.0, 800.0 - pose_mm])}}
            px = 8 if np.isfinite(pix_mm) else 0
            reading = {(1, Finger.INDEX): ContactReading(True, pix_mm, pixels=px, noise_mm=25.0)}
            out += [e.type for e in tracker.update(tip, plane, k * 33_333, reading)]
        return out

    s = TouchSettings()
    assert s.fused_clear_veto and s.fused_clear_seen_frames > 0  # on by default
    seen_then_clear = [(40.0, 40.0)] * 5 + [(1.0, np.inf)] * 8  # measured hovering, then the pose (alone) lands
    assert EventType.TOUCH_DOWN not in events(seen_then_clear, s)
    assert EventType.TOUCH_DOWN in events(seen_then_clear, replace(s, fused_clear_veto=False))  # control: the pose
    assert EventType.TOUCH_DOWN in events([(1.0, np.inf)] * 8, s)  # never measured: the pose decides
    long_ago = [(40.0, 40.0)] * 5 + [(40.0, np.inf)] * s.fused_clear_seen_frames + [(1.0, np.inf)] * 8
    assert EventType.TOUCH_DOWN in events(long_ago, s)  # measured too long ago: the pose decides again
    started = events([(40.0, 40.0)] * 5 + [(1.0, 2.0)] * 4 + [(1.0, np.inf)] * 6, s)  # touching, then occluded
    assert started.count(EventType.TOUCH_DOWN) == 1 and EventType.TOUCH_UP not in started


def test_clear_seen_frames_is_checked() -> None:
    with pytest.raises(ValueError, match="fused_clear_seen_frames"):
        TouchSettings(fused_clear_seen_frames=0)
