from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from depthhand import predict, runner
from depthhand.capture.base import SourceStats
from depthhand.capture.stream import CapturedFrame
from depthhand.geometry.plane import Plane
from depthhand.interact.calibration import Calibration
from depthhand.interact.engine import Interaction
from depthhand.interact.schema import frame_message
from depthhand.interact.touch import TouchSettings
from depthhand.skeleton import CANONICAL21, NYU14, Finger
from depthhand.structures import CameraIntrinsics, DepthFrame, FrameResult, Handedness, HandPose, TrackedHand

K = CameraIntrinsics(476.007, 476.007, 313.683, 242.755, 640, 480)
HAND_KEYS = ["track_id", "lost_frames", "handedness", "score", "joint_set", "joints_xyz_mm", "joints_uvd"]
HAND_KEYS += ["confidence", "visible"]


def test_intrinsics_validation_and_dict_round_trip() -> None:
    k = CameraIntrinsics(476.007, 476.007, 313.683, 242.755, 640, 480, 0.125)
    assert CameraIntrinsics.from_dict(k.to_dict()) == k
    with pytest.raises(ValueError, match="fx"):
        CameraIntrinsics(0.0, 1.0, 0, 0, 10, 10)
    with pytest.raises(ValueError, match="width"):
        CameraIntrinsics(1.0, 1.0, 0, 0, 0, 10)
    with pytest.raises(ValueError, match="missing field"):
        CameraIntrinsics.from_dict({"fx": 1.0})


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1e300, 1.0, 0, 0, 10, 10), r"fx must be a finite focal length in \(0, 100000\) px, got 1e\+300"),
        ((1.0, 1e5, 0, 0, 10, 10), "fy must be a finite focal length"),
        ((float("nan"), 1.0, 0, 0, 10, 10), "fx must be a finite"),
        ((1.0, -1.0, 0, 0, 10, 10), "fy must be a finite"),
        ((1.0, 1.0, float("nan"), 0, 10, 10), "cx must be a finite principal point"),
        ((1.0, 1.0, 0, float("inf"), 10, 10), "cy must be a finite principal point"),
        ((1.0, 1.0, 0, 0, 10.5, 10), "width must be a positive whole number"),
        ((1.0, 1.0, 0, 0, 10, float("nan")), "height must be a positive whole number"),
        ((1.0, 1.0, 0, 0, True, 10), "width must be a number"),
        (("500", 1.0, 0, 0, 10, 10), "fx must be a number"),
        ((1.0, 1.0, 0, 0, 10, 10, float("inf")), "depth_unit_mm must be a positive finite"),
        ((1.0, 1.0, 0, 0, 10, 10, 0.0), "depth_unit_mm must be a positive finite"),
    ],
)
def test_no_path_builds_a_non_finite_camera(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CameraIntrinsics(*args)
    names = ("fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm")
    with pytest.raises(ValueError, match=match.split(" must")[0]):
        CameraIntrinsics.from_dict(dict(zip(names, args, strict=False)))


def test_intrinsics_whole_float_sizes_become_ints() -> None:
    k = CameraIntrinsics(1.0, 1.0, 0.5, 0.5, 640.0, 480)  # type: ignore[arg-type]
    assert k.width == 640 and isinstance(k.width, int)
    assert CameraIntrinsics.from_dict({**k.to_dict(), "height": 480.0}) == k
    with pytest.raises(ValueError, match="JSON object"):
        CameraIntrinsics.from_dict([1, 2])  # type: ignore[arg-type]


def test_intrinsics_scaling_keeps_rays() -> None:
    k = CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480)
    half = k.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    # the same ray through pixel-edge coordinate 0 and the image edge: u_edge = -0.5 maps to -0.5
    assert ((-0.5) - k.cx) / k.fx == pytest.approx(((-0.5) - half.cx) / half.fx)
    assert k.matrix[0, 0] == 588.03 and k.matrix[2, 2] == 1.0


def test_depth_frame_from_raw_cleans_and_scales() -> None:
    k = CameraIntrinsics(476.0, 476.0, 2.0, 1.5, 4, 3, depth_unit_mm=0.125)
    raw = np.array([[8000, 0, 4000, 65535], [1, 2, 3, 4], [8, 16, 24, 32]], np.uint16)
    f = DepthFrame.from_raw(raw, k, max_depth_mm=5000)
    assert f.depth_mm.dtype == np.float32
    assert f.depth_mm[0, 0] == 1000.0 and f.depth_mm[0, 2] == 500.0
    assert f.depth_mm[0, 3] == 0.0  # 8191.9 mm > max -> invalid
    assert f.valid_mask.sum() == 10
    nan = np.full((3, 4), np.nan)
    assert DepthFrame.from_raw(nan, k).valid_mask.sum() == 0


@pytest.mark.parametrize(
    ("depth", "match"),
    [(np.zeros((3, 4), np.uint16), "float32"), (np.zeros((4, 3), np.float32), "shape"), (np.zeros(12), "2-D")],
)
def test_depth_frame_rejects_bad_input(depth, match) -> None:
    k = CameraIntrinsics(1.0, 1.0, 0, 0, 4, 3)
    with pytest.raises(ValueError, match=match):
        DepthFrame(depth, k)


def test_hand_pose_shapes_and_dict() -> None:
    j = np.zeros((14, 3), np.float32)
    pose = HandPose(j, j, NYU14)
    assert pose.confidence.shape == (14,) and pose.visible.all()
    d = pose.to_dict()
    assert d["joint_set"] == "nyu14" and len(d["joints_xyz_mm"]) == 14 and d["visible"] == [True] * 14
    with pytest.raises(ValueError, match=r"\(14, 3\)"):
        HandPose(np.zeros((21, 3), np.float32), j, NYU14)


def _scene(seed: int = 3) -> tuple[FrameResult, list[np.ndarray]]:
    """Two hands with float64 joints in front of the camera; the result stores them as float32, like the pipeline."""
    rng = np.random.default_rng(seed)
    truth, hands = [], []
    for track_id, handed in ((4, Handedness.RIGHT), (9, Handedness.LEFT)):
        xyz = rng.uniform([-150, -100, 450], [150, 100, 800], (21, 3))
        uvd = np.stack([K.fx * xyz[:, 0] / xyz[:, 2] + K.cx, K.fy * xyz[:, 1] / xyz[:, 2] + K.cy, xyz[:, 2]], 1)
        conf = rng.uniform(0, 1, 21).astype(np.float32)
        visible = rng.uniform(0, 1, 21) > 0.2
        pose = HandPose(xyz.astype(np.float32), uvd.astype(np.float32), CANONICAL21, conf, handed, 0.87654, visible)
        hands.append(TrackedHand(track_id, pose, lost_frames=track_id % 2, age_frames=12))
        truth.append(xyz)
    timings = {"detect": 1.23456, "pose": 2.5, "total": 4.0004}
    return FrameResult(41, 1_700_000_000_123_456, tuple(hands), timings, "synthetic://topdown", K), truth


def test_frame_record_is_strict_json_with_named_coordinates() -> None:
    result, _ = _scene()
    record = result.to_dict()
    assert list(record) == ["frame_index", "timestamp_us", "source", "hands", "timings_ms"]
    assert [list(h) for h in record["hands"]] == [HAND_KEYS, HAND_KEYS]
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["frame_index"] == 41 and record["timestamp_us"] == 1_700_000_000_123_456
    assert record["timings_ms"] == {"detect": 1.235, "pose": 2.5, "total": 4.0}
    hand = record["hands"][0]
    assert hand["track_id"] == 4 and hand["handedness"] == "right" and hand["score"] == 0.877
    assert hand["joint_set"] == "canonical21" and hand["visible"] == result.hands[0].pose.visible.tolist()
    # an error is only there when set; a non-finite number becomes null, never NaN (invalid JSON)
    pose = result.hands[0].pose
    bad_xyz = pose.joints_xyz_mm.copy()
    bad_xyz[3, 1] = np.nan
    bad = HandPose(bad_xyz, pose.joints_uvd, CANONICAL21, pose.confidence, score=float("inf"))
    rejected = FrameResult(2, 0, (TrackedHand(1, bad),), {"total": float("nan")}, "x", None, "depth is all zero")
    d = json.loads(json.dumps(rejected.to_dict(), allow_nan=False))
    assert d["error"] == "depth is all zero" and d["timings_ms"] == {"total": None}
    assert d["hands"][0]["joints_xyz_mm"][3][1] is None and d["hands"][0]["score"] is None


def test_frame_record_values_match_a_float64_recomputation() -> None:
    result, truth = _scene()
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    for hand, th, xyz in zip(record["hands"], result.hands, truth, strict=True):
        got_xyz, got_uvd = np.asarray(hand["joints_xyz_mm"]), np.asarray(hand["joints_uvd"])
        # independently: pinhole projection of the float64 joints; 0.01 rounding plus float32 storage
        u = K.fx * xyz[:, 0] / xyz[:, 2] + K.cx
        v = K.fy * xyz[:, 1] / xyz[:, 2] + K.cy
        np.testing.assert_allclose(got_xyz, xyz, rtol=0, atol=0.005 + 1e-4)
        np.testing.assert_allclose(got_uvd, np.stack([u, v, xyz[:, 2]], 1), rtol=0, atol=0.005 + 1e-4)
        np.testing.assert_allclose(hand["confidence"], th.pose.confidence.astype(np.float64), rtol=0, atol=5e-4)
        assert got_uvd[:, 2].tolist() == got_xyz[:, 2].tolist()  # the same depth, rounded the same way


class _FakePipeline:
    """Stands in for HandPipeline: returns one prepared result, so the writers' encoding is what is tested."""

    joint_set = CANONICAL21

    def __init__(self, result: FrameResult) -> None:
        self.result = result
        self.tracker = SimpleNamespace(reset=lambda: None)
        self.estimator = SimpleNamespace(backend="onnxruntime")  # the run summary names the pose runtime

    def __enter__(self) -> _FakePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def process(self, frame: DepthFrame) -> FrameResult:
        return self.result


class _OneFrameStream:
    """Stands in for open_stream(url): one frame, no truth."""

    def __init__(self, frame: DepthFrame) -> None:
        self.frame = frame
        self.stats = SourceStats()
        self.source = None  # not a scene source: the (fake) pipeline runs

    def __iter__(self):
        yield CapturedFrame(self.frame)


def test_run_predict_and_wire_encode_a_frame_with_the_same_keys_and_values(tmp_path, monkeypatch) -> None:
    result, _ = _scene()
    fake = _FakePipeline(result)
    depth = np.zeros((K.height, K.width), np.float32)
    monkeypatch.setattr(runner, "HandPipeline", lambda options=None: fake)
    monkeypatch.setattr(runner, "open_stream", lambda url, max_frames=None: _OneFrameStream(DepthFrame(depth, K)))
    runner.run_source("fake://", out_path=tmp_path / "poses.jsonl")
    header, line = (tmp_path / "poses.jsonl").read_text().splitlines()
    assert json.loads(header)["schema"] == runner.POSES_SCHEMA
    jsonl = json.loads(line)

    monkeypatch.setattr(predict, "HandPipeline", lambda options=None: fake)
    monkeypatch.setattr(predict, "read_depth_image", lambda path, fmt="png16", scale=1.0: depth)
    intrinsics = f"{K.fx},{K.fy},{K.cx},{K.cy},{K.width},{K.height}"
    predict.write_json(predict.predict_files(["d.png"], intrinsics), tmp_path / "poses.json")
    (predicted,) = json.loads((tmp_path / "poses.json").read_text())

    engine = Interaction(plane=Plane.facing_camera(900.0))
    message = frame_message(result, engine.process(result), seq=5, t_send_us=1_700_000_000_200_000)
    wire = json.loads(json.dumps(message, separators=(",", ":"), allow_nan=False))  # as serve.publisher sends it

    assert jsonl == predicted == result.to_dict()
    assert list(wire)[:4] == ["type", "v", "seq", "t_send_us"]
    assert {k: v for k, v in wire.items() if k != "hands"} == {
        "type": "frame",
        "v": 2,
        "seq": 5,
        "t_send_us": 1_700_000_000_200_000,
        **{k: v for k, v in jsonl.items() if k != "hands"},
    }
    for w, j in zip(wire["hands"], jsonl["hands"], strict=True):
        assert {k: w[k] for k in j} == j
        assert set(w) - set(j) == {"joints_projector_px", "fingers", "pinch"}
        assert w["joints_projector_px"] is None  # no projector calibration
        assert set(w["fingers"]["index"]) == {"state", "height_mm", "projector_px", "projector_uv", "contact_id"}


def test_wire_projector_coordinates_are_named_and_rounded_like_the_record() -> None:
    result, truth = _scene()
    p = np.array([[1000.0, 0, 640, 0], [0, 1000.0, 400, 0], [0, 0, 1, 0]])  # a projector looking along the camera
    calibration = Calibration(projector_size=(1280, 800), plane=Plane.facing_camera(900.0), projection=p)
    engine = Interaction(TouchSettings(rule="pose"), calibration=calibration)  # heights: the joints' (checked below)
    wire = json.loads(json.dumps(frame_message(result, engine.process(result), 1, 2), allow_nan=False))
    for hand, th, xyz in zip(wire["hands"], result.hands, truth, strict=True):
        expected = np.stack([1000 * xyz[:, 0] / xyz[:, 2] + 640, 1000 * xyz[:, 1] / xyz[:, 2] + 400], 1)
        got = np.asarray(hand["joints_projector_px"])
        np.testing.assert_allclose(got, expected, rtol=0, atol=0.005 + 1e-3)  # float32 joints, 0.01 px rounding
        assert got.tolist() == np.round(got, 2).tolist()
        tip = CANONICAL21.tip(Finger.INDEX)
        index = hand["fingers"]["index"]
        np.testing.assert_allclose(index["projector_px"], expected[tip], rtol=0, atol=0.005 + 1e-3)
        np.testing.assert_allclose(index["projector_uv"], expected[tip] / (1280, 800), rtol=0, atol=5e-5 + 1e-6)
        assert index["height_mm"] == pytest.approx(900.0 - float(th.pose.joints_xyz_mm[tip, 2]), abs=0.006)
