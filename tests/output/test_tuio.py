"""``run --tuio``: TUIO 1.1 /tuio/2Dcur bundles of a scripted tap sequence, against its touch events and its truth."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from depthhand.interact.engine import FingerReading, HandInteraction, InteractionFrame
from depthhand.interact.gestures import PinchReading
from depthhand.interact.touch import EventType, InteractionEvent, TouchState
from depthhand.output.tuio import REFRESH_FRAMES, STALE_FRAMES, TuioCursors, TuioOutput
from depthhand.output.udp import parse_target
from depthhand.skeleton import Finger
from depthhand.structures import FrameResult

from .receiver import Message, osc_receiver
from .test_osc import frames_of, run_cli

FPS = 30


def tuio_frames(packets: list[list[Message]]) -> list[dict]:
    """Each bundle as {source, alive, set: {s_id: (x, y, X, Y, m)}, fseq}; checks the TUIO 1.1 message order."""
    out = []
    for packet in packets:
        assert all(address == "/tuio/2Dcur" for address, _ in packet)
        commands = [args[0] for _, args in packet]
        assert commands[:2] == ["source", "alive"] and commands[-1] == "fseq"
        assert set(commands[2:-1]) <= {"set"}
        alive = packet[1][1][1:]
        sets = {args[1]: args[2:] for _, args in packet[2:-1]}
        assert all(len(v) == 5 for v in sets.values()) and set(sets) <= set(alive)
        out.append({"source": packet[0][1][1], "alive": alive, "set": sets, "fseq": packet[-1][1][1]})
    return out


def expected_cursors(frames: list[dict]) -> list[tuple[list[int], dict[int, tuple[float, float]]]]:
    """Per OSC frame, from its touch events: the session ids TUIO must list alive, and the new positions (u, v).

    A touch has a cursor while it is down (touch_down up to the frame before touch_up) and on the projector image;
    every new cursor takes the next session id.
    """
    active: dict[int, int] = {}  # contact id → session id
    sessions = 0
    out = []
    for frame in frames:
        positions = {}
        for etype, args in frame["events"]:
            contact, uv = args[1], tuple(args[-2:])  # projector u, v
            if etype in ("touch_up", "touch_down"):
                active.pop(contact, None)
            if etype in ("touch_down", "touch_move"):
                if not (0 <= uv[0] <= 1 and 0 <= uv[1] <= 1):
                    active.pop(contact, None)
                    continue
                if contact not in active:
                    sessions += 1
                    active[contact] = sessions
                positions[active[contact]] = uv
        out.append((sorted(active.values()), positions))
    return out


def test_tuio_cursors_follow_the_touch_events_and_the_truth(tmp_path: Path) -> None:
    from depthhand.geometry.plane import plane_to_local
    from depthhand.geometry.projector import apply_homography
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import PROJECTOR_SIZE, scripted_calibration, true_projector_homography
    from depthhand.synth.scripted import default_scene, scripted_frames, tap_script

    cal = save_calibration(scripted_calibration(), tmp_path / "calibration.json")
    n = 190  # 6.3 s: four taps of the tap script (one per 1.6 s), the third off the projector image
    with osc_receiver() as tuio, osc_receiver() as osc:
        run_cli("--source", f"scripted://tap?realtime=0&fps={FPS}", "--max-frames", str(n),
                "--tuio", tuio.target, "--osc", osc.target, "--calibration", str(cal))  # fmt: skip
        cursors, frames = tuio_frames(tuio.wait_for(n)), frames_of(osc.wait_for(n))
    assert len(cursors) == len(frames) == n
    assert [c["fseq"] for c in cursors] == list(range(1, n + 1))
    assert all(c["source"].startswith("depthhand@") for c in cursors)

    # 1. Against the touch events of the same run (the OSC bundles of the same frames): a cursor is alive exactly
    #    while its touch is down (touch_down up to the frame before touch_up) and on the projector image, session
    #    ids are new per cursor and increasing, and each set carries the position of that frame's event.
    sent: dict[int, tuple[float, float]] = {}
    w, h = PROJECTOR_SIZE
    expected = expected_cursors(frames)
    for cur, (alive, positions) in zip(cursors, expected, strict=True):
        assert sorted(cur["alive"]) == alive
        # set: for the new and the moved cursors (every cursor on a refresh frame), each at its event's position
        assert set(cur["set"]) <= (set(cur["alive"]) if cur["fseq"] % REFRESH_FRAMES == 0 else set(positions))
        for sid, uv in positions.items():
            if sent.get(sid) != uv:
                assert cur["set"][sid][:2] == pytest.approx(uv, abs=1e-6)
        sent.update({sid: tuple(v[:2]) for sid, v in cur["set"].items()})
    assert max(max(alive, default=0) for alive, _ in expected) == 3

    # 2. Against the ground truth of the script: every frame with a true contact on the projector image has exactly
    #    one cursor, at the true contact point through the installation's true projector mapping, and each true tap
    #    is one session; the tap off the image (the third) has none.
    plane, intrinsics = default_scene()
    truth = list(scripted_frames(tap_script(), plane, intrinsics, fps=FPS, duration_s=n / FPS))
    last_pos: dict[int, tuple[float, float]] = {}
    taps: list[tuple[bool, set[int]]] = []  # per true tap: on the image?, the sessions alive during it
    was_touching = False
    for cur, tf in zip(cursors, truth, strict=True):
        last_pos.update({sid: tuple(v[:2]) for sid, v in cur["set"].items()})
        touching = bool(tf.touches)
        if touching:
            (((hand, finger), foot),) = tf.touches.items()
            assert (hand, finger) == (1, Finger.INDEX)
            px = apply_homography(true_projector_homography(), plane_to_local(np.array(foot), plane)[:2])
            want = (px[0] / w, px[1] / h)
            on_image = 0 <= want[0] <= 1 and 0 <= want[1] <= 1
            if not was_touching:
                taps.append((on_image, set()))
            taps[-1][1].update(cur["alive"])
            if on_image:
                (sid,) = cur["alive"]
                assert last_pos[sid] == pytest.approx(want, abs=1e-5)
            else:
                assert cur["alive"] == ()
        was_touching = touching
    assert taps == [(True, {1}), (True, {2}), (False, set()), (True, {3})]


def _frame(t_us: int, events=(), hands=None) -> tuple[FrameResult, InteractionFrame]:
    return FrameResult(0, t_us, (), {}), InteractionFrame(hands or {}, tuple(events))


def _event(etype: EventType, contact: int, t_us: int, uv: tuple[float, float] | None) -> InteractionEvent:
    px = None if uv is None else (uv[0] * 1280, uv[1] * 800)
    return InteractionEvent(etype, 1, contact, 1, Finger.INDEX, t_us, (0.0, 0.0, 900.0), 0.0, px, uv)


def _touching(contact: int, uv: tuple[float, float] | None) -> dict[int, HandInteraction]:
    reading = FingerReading(Finger.INDEX, TouchState.TOUCH, 1.0, None, uv, contact)
    return {1: HandInteraction(1, (reading,), PinchReading(False, 0.0, 80.0, (0.0, 0.0, 0.0)), None)}


def test_positions_from_finger_readings_velocity_and_stale_cursors() -> None:
    tracker = TuioCursors()
    tracker.update(_frame(0, [_event(EventType.TOUCH_DOWN, 5, 0, (0.5, 0.5))])[1], 0)
    (cursor,) = tracker.cursors.values()
    assert (cursor.session_id, cursor.x, cursor.y, cursor.vx, cursor.moved) == (1, 0.5, 0.5, 0.0, True)
    # no move events (TouchSettings.emit_move_events off): the touching finger's reading moves the cursor
    tracker.update(_frame(100_000, hands=_touching(5, (0.6, 0.45)))[1], 100_000)
    assert (cursor.x, cursor.y) == (0.6, 0.45)
    assert (cursor.vx, cursor.vy) == pytest.approx((1.0, -0.5))  # per second, from the capture timestamps
    assert cursor.accel == pytest.approx(np.hypot(1.0, 0.5) / 0.1)
    tracker.update(_frame(200_000, hands=_touching(5, (0.6, 0.45)))[1], 200_000)
    assert not cursor.moved and cursor.vx == 0.0
    # the touch engine was replaced mid-touch (no touch_up ever comes): the cursor goes after STALE_FRAMES frames
    for k in range(STALE_FRAMES - 1):
        tracker.update(_frame(400_000 + k)[1], 400_000 + k)
        assert tracker.cursors
    tracker.update(_frame(500_000)[1], 500_000)
    assert not tracker.cursors


def test_the_projector_image_is_the_surface() -> None:
    tracker = TuioCursors()
    tracker.update(_frame(0, [_event(EventType.TOUCH_DOWN, 1, 0, (1.2, 0.5))])[1], 0)
    assert not tracker.cursors  # down off the image: no cursor
    tracker.update(_frame(1, [_event(EventType.TOUCH_MOVE, 1, 1, (0.9, 0.5))])[1], 1)
    assert [c.session_id for c in tracker.cursors.values()] == [1]  # slides on: a cursor
    tracker.update(_frame(2, [_event(EventType.TOUCH_MOVE, 1, 2, (0.5, -0.01))])[1], 2)
    assert not tracker.cursors  # slides off: gone
    tracker.update(_frame(3, [_event(EventType.TOUCH_MOVE, 1, 3, (0.5, 0.0))])[1], 3)
    assert [c.session_id for c in tracker.cursors.values()] == [2]  # back on the edge: a new session
    tracker.update(_frame(4, [_event(EventType.TOUCH_UP, 1, 4, (0.5, 0.0))])[1], 4)
    assert not tracker.cursors


def test_touches_without_projector_coordinates_are_counted_and_logged_once(caplog) -> None:
    with osc_receiver() as rec:
        out = TuioOutput(parse_target("--tuio", rec.target), source="test@here")
        with caplog.at_level(logging.WARNING, logger="depthhand.output"):
            out.send(*_frame(0, [_event(EventType.TOUCH_DOWN, 1, 0, None)]))
            out.send(*_frame(1, [_event(EventType.TOUCH_UP, 1, 1, None), _event(EventType.TOUCH_DOWN, 2, 1, None)]))
            out.send(*_frame(2, [_event(EventType.TOUCH_DOWN, 3, 2, (0.25, 0.75))]))  # calibrated now
        cursors = tuio_frames(rec.wait_for(3))
        out.close()
    assert [c["alive"] for c in cursors] == [(), (), (1,)]
    assert cursors[2]["set"] == {1: (0.25, 0.75, 0.0, 0.0, 0.0)}
    assert out.stats()["unmapped_touches"] == 2 and out.stats()["sent"] == 3
    assert [r.getMessage().count("no projector calibration") for r in caplog.records] == [1]


def test_without_move_events_a_touch_sliding_back_on_gets_a_cursor_from_its_reading() -> None:
    tracker = TuioCursors()
    tracker.update(_frame(0, [_event(EventType.TOUCH_DOWN, 4, 0, (-0.1, 0.5))], _touching(4, (-0.1, 0.5)))[1], 0)
    assert not tracker.cursors
    tracker.update(_frame(1, hands=_touching(4, (0.05, 0.5)))[1], 1)
    assert [(c.session_id, c.x) for c in tracker.cursors.values()] == [(1, 0.05)]
