"""parse_message on the server's own encoders (interact.schema), and its errors on messages off the schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depthhand.client import DepthPreview, Frame, Hello, MessageError, SourceState, TouchEvent, parse_message
from depthhand.interact.calibration import Calibration
from depthhand.interact.schema import depth_message, flow_block, frame_message, hello_message, source_message
from depthhand.skeleton import CANONICAL21
from depthhand.structures import CameraIntrinsics, FrameResult, Handedness, HandPose, TrackedHand


def _wire(msg: dict) -> dict:
    return json.loads(json.dumps(msg))  # what a client receives


def _result(rng: np.random.Generator) -> FrameResult:
    xyz = rng.uniform(-100, 100, (21, 3)).astype(np.float32) + np.float32([0, 0, 600])
    xyz[3, 1] = np.nan  # a non-finite joint is null on the wire
    uvd = rng.uniform(0, 640, (21, 3)).astype(np.float32)
    pose = HandPose(xyz, uvd, CANONICAL21, handedness=Handedness.LEFT, score=0.8764)
    hand = TrackedHand(7, pose, lost_frames=2)
    return FrameResult(12, 1_700_000_000_123_456, (hand,), {"pose": 1.23456}, source_id="test")


def test_frame_from_the_server_encoder(rng):
    result = _result(rng)
    f = parse_message(_wire(frame_message(result, None, seq=5, t_send_us=99)))
    assert isinstance(f, Frame) and (f.seq, f.frame_index, f.t_send_us) == (5, 12, 99)
    assert f.timestamp_us == result.timestamp_us
    (hand,) = f.hands
    assert (hand.track_id, hand.lost_frames, hand.handedness, hand.score) == (7, 2, "left", 0.876)
    expected = np.round(result.hands[0].pose.joints_xyz_mm.astype(np.float64), 2)
    np.testing.assert_array_equal(hand.joints_xyz_mm, expected)  # NaN where NaN
    assert np.isnan(hand.joints_xyz_mm[3, 1]) and hand.joints_projector_px is None and hand.fingers == {}
    assert f.timings_ms == {"pose": 1.235}


def test_hello_event_source_depth():
    k = CameraIntrinsics(200.0, 201.0, 80.0, 60.0, 160, 120)
    cal = Calibration((1280, 800), None, np.eye(3), None)
    sent = {**hello_message(CANONICAL21, k, cal, 30.0, "scripted://demo"), "flow": flow_block(True, 3)}  # as sent
    hello = parse_message(_wire(sent))
    assert isinstance(hello, Hello) and hello.intrinsics == k and hello.flow.window == 3
    assert hello.skeleton is not None and hello.skeleton.joints[8] == "index_tip"
    assert hello.calibration is not None and np.array_equal(hello.calibration.homography, np.eye(3))
    assert not hello.calibration.can_map  # H without a plane
    src = parse_message(_wire(source_message({"url": "x", "state": "ended", "ended": True, "frames": 3})))
    assert src == SourceState("x", "", "ended", True, "")
    ev = parse_message(
        {"type": "touch_down", "event_id": 1, "contact_id": 2, "track_id": 3, "finger": "index", "timestamp_us": 4,
         "xyz_mm": [1, 2, 3], "height_mm": None, "projector_px": [5, 6], "projector_uv": None, "rule": "pixels", "v": 2}
    )  # fmt: skip
    assert ev.rule == "pixels"
    assert isinstance(ev, TouchEvent) and ev.phase == "down" and np.isnan(ev.height_mm) and ev.projector_px == (5, 6)
    d = parse_message(_wire(depth_message(np.full((12, 16), 500, np.float32), 4, 5)))
    assert isinstance(d, DepthPreview) and d.png.startswith(b"\x89PNG")
    assert parse_message({"type": "pong", "t_us": 1}) is None


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        ({"type": "frame", "seq": 1, "hands": {}}, "frame message: hands must be a list"),
        ({"type": "frame", "hands": []}, "frame message: missing field 'seq'"),
        (
            {"type": "frame", "seq": 1, "hands": [{"track_id": 1, "joints_xyz_mm": [[0, 0, 0]] * 21,
                                                   "joints_uvd": [[0, 0]] * 21}]},
            r"hands\[0\].joints_uvd must have shape \(21, 3\), got \(21, 2\)",
        ),
        ({"type": "frame", "seq": 1, "hands": [{"track_id": 1}]}, r"hands\[0\].joints_xyz_mm must be a \(J, 3\)"),
        ({"type": "hello", "v": 3}, "wire version v=3 is not supported"),
        ({"type": "touch_up", "event_id": 1, "track_id": 1, "xyz_mm": [1, 2]}, r"xyz_mm must be \[x, y, z\]"),
    ],
)  # fmt: skip
def test_messages_off_the_schema_name_the_field(msg, match):
    with pytest.raises(MessageError, match=match):
        parse_message(msg)
