from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.plane import Plane, local_to_plane
from depthhand.interact.touch import (
    EventType,
    FingerState,
    TouchSettings,
    TouchState,
    TouchTracker,
    lowest_fingertip,
    step_finger,
)
from depthhand.skeleton import CANONICAL21, Finger

S = TouchSettings(rule="pose")  # the state machine of the pose rule (the other rules feed it other heights)


def run(heights: list[float], settings: TouchSettings = S) -> tuple[list[TouchState], list[list[EventType]]]:
    st = FingerState()
    states, events = [], []
    for h in heights:
        st, ev, _ = step_finger(st, h, settings)
        states.append(st.state)
        events.append(ev)
    return states, events


def test_full_cycle_with_debounce():
    states, events = run([100, 50, 9, 5, 5, 15, 19, 40, 80])
    assert [s.value for s in states] == ["none", "hover", "hover", "touch", "touch", "touch", "hover", "hover", "none"]
    assert events[1] == [EventType.HOVER_ENTER]
    assert events[2] == [EventType.HOVER_MOVE]  # first frame below 10 mm: debounce
    assert events[3] == [EventType.TOUCH_DOWN]
    assert events[5] == [EventType.TOUCH_MOVE]  # 15 mm: still inside the hysteresis band
    assert events[6] == [EventType.TOUCH_UP, EventType.HOVER_ENTER]
    assert events[8] == [EventType.HOVER_LEAVE]


def test_single_noisy_dip_is_debounced_and_band_does_not_flicker():
    states, _ = run([40, 8, 30, 8, 30])
    assert TouchState.TOUCH not in states
    # noise of ±4 mm around 12 mm once touching never releases (exit at 18 mm)
    rng = np.random.default_rng(0)
    heights = [5, 5, *list(12 + rng.uniform(-4, 4, 200))]
    states, events = run(heights)
    assert states[2:] == [TouchState.TOUCH] * 200
    assert sum(EventType.TOUCH_UP in e for e in events) == 0


def test_jump_from_touch_to_far_and_nan():
    _, events = run([5, 5, 200])
    assert events[2] == [EventType.TOUCH_UP]
    states, _ = run([5, 5, float("nan")])
    assert states[-1] is TouchState.NONE


def test_settings_validation():
    with pytest.raises(ValueError, match="touch_enter_mm < touch_exit_mm"):
        TouchSettings(touch_enter_mm=20, touch_exit_mm=18)
    with pytest.raises(ValueError, match="debounce"):
        TouchSettings(touch_debounce_frames=0)


def tips_at(plane: Plane, heights: dict[Finger, float]) -> dict[Finger, np.ndarray]:
    return {f: local_to_plane(np.array([10.0 * int(f), 0.0, h]), plane) for f, h in heights.items()}


def test_tracker_contact_ids_and_lost_hand():
    plane = Plane.from_point_normal([0, 0, 900.0], [0.1, -0.2, -1.0])
    tr = TouchTracker(TouchSettings(fingers=(Finger.INDEX, Finger.MIDDLE), emit_move_events=False, rule="pose"))
    seq = [
        {1: {Finger.INDEX: 30.0, Finger.MIDDLE: 90.0}, 2: {Finger.INDEX: 5.0, Finger.MIDDLE: 5.0}},
        {1: {Finger.INDEX: 5.0, Finger.MIDDLE: 90.0}, 2: {Finger.INDEX: 5.0, Finger.MIDDLE: 5.0}},
        {1: {Finger.INDEX: 5.0, Finger.MIDDLE: 90.0}},
    ]
    all_events = []
    for t, frame in enumerate(seq):
        tips = {hid: tips_at(plane, h) for hid, h in frame.items()}
        all_events += tr.update(tips, plane, t)
    downs = [e for e in all_events if e.type is EventType.TOUCH_DOWN]
    assert {(e.hand_id, e.finger) for e in downs} == {(1, Finger.INDEX), (2, Finger.INDEX), (2, Finger.MIDDLE)}
    assert len({e.contact_id for e in downs}) == 3
    ids = [e.event_id for e in all_events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # hand 2 disappears: kept for lost_frames (3) frames, then its touches end with the same contact ids
    ups = []
    for t in range(3, 8):
        ups += [
            e for e in tr.update({1: tips_at(plane, {Finger.INDEX: 5.0})}, plane, t) if e.type is EventType.TOUCH_UP
        ]
    assert {(e.hand_id, e.finger) for e in ups} == {(2, Finger.INDEX), (2, Finger.MIDDLE)}
    down_ids = {(e.hand_id, e.finger): e.contact_id for e in downs}
    assert all(e.contact_id == down_ids[(e.hand_id, e.finger)] for e in ups)
    # what the tracker reports per finger: the touching one's touch point (here its fingertip), none for hand 2
    index_1 = tips_at(plane, {Finger.INDEX: 5.0})[Finger.INDEX]
    assert np.allclose(tr.reported_xyz((1, Finger.INDEX)), index_1)
    assert tr.reported_xyz((2, Finger.INDEX)) is None  # its touches ended with the hand
    # the event position is the fingertip in camera mm and its height is measured above the tilted plane
    assert downs[0].height_mm == pytest.approx(5.0)


def test_lowest_fingertip_generalises_deepest():
    joints = np.zeros((21, 3))
    joints[:, 2] = 800.0
    for finger, idx in CANONICAL21.tips:
        joints[idx, 2] = 850.0 + 10 * int(finger)
    finger, _ = lowest_fingertip(joints, CANONICAL21, Plane.facing_camera(1000.0))
    assert finger is Finger.PINKY  # largest z
    # a tilted table changes the answer: the thumb side is lower
    tilted = Plane.from_point_normal([0, 0, 1000.0], [0.0, 0.0, -1.0])
    joints[CANONICAL21.tip(Finger.THUMB)] = [0, 0, 899.0]
    assert lowest_fingertip(joints, CANONICAL21, tilted)[0] is Finger.THUMB


def test_height_smoothing_suppresses_single_frame_spikes():
    plane = Plane.facing_camera(900.0)
    heights = [40, 40, 0, 40, 40, 0, 0, 0, 0]  # a one-frame spike, then a real touch

    def downs(alpha: float) -> list[int]:
        tr = TouchTracker(
            TouchSettings(fingers=(Finger.INDEX,), touch_debounce_frames=1, height_smoothing=alpha, rule="pose")
        )
        out = []
        for t, h in enumerate(heights):
            ev = tr.update({1: tips_at(plane, {Finger.INDEX: h})}, plane, t)
            out += [t for e in ev if e.type is EventType.TOUCH_DOWN]
        return out

    assert downs(1.0) == [2, 5]  # unsmoothed: the spike is a touch
    assert downs(0.5) == [6]  # smoothed (EMA 0.5): 20 mm at the spike; the real touch is 1 frame later
    with pytest.raises(ValueError, match="height_smoothing"):
        TouchSettings(height_smoothing=0.0)
