"""The assembled live pipeline: bad input never kills it, outputs are complete, accuracy is measured."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from depthhand.capture.synthetic import SyntheticSource
from depthhand.pipeline import (
    DEFAULT_POSE_MODEL,
    HandPipeline,
    LiveFrame,
    PipelineOptions,
    check_frame,
    shipped_weights,
)
from depthhand.pose.backends import resolve_backend
from depthhand.predict import parse_intrinsics, predict_files, read_depth_image
from depthhand.runner import run_source
from depthhand.serve.pipeline import open_pipeline
from depthhand.structures import CameraIntrinsics, DepthFrame, FrameResult

K = CameraIntrinsics(570.3, 570.3, 319.5, 239.5, 640, 480)


@pytest.fixture(scope="module")
def pipe() -> HandPipeline:
    with HandPipeline(PipelineOptions(num_threads=1)) as p:
        yield p


@pytest.fixture(scope="module")
def synthetic_frames() -> list:
    with SyntheticSource(seed=11, realtime=False) as src:
        return [(src.read(), src.last_truth) for _ in range(3)]


def test_shipped_models_are_present() -> None:
    assert shipped_weights("depthhand_fast.onnx").stat().st_size > 100_000
    with pytest.raises(FileNotFoundError, match="not found"):
        shipped_weights("nope.onnx")


@pytest.mark.parametrize(
    ("depth", "reason"),
    [
        (np.zeros((480, 640), np.float32), "no valid depth"),
        (np.full((480, 640), np.nan, np.float32), "NaN"),
        (np.where(np.eye(480, 640) > 0, np.inf, 700.0).astype(np.float32), "NaN or infinite"),
    ],
)
def test_bad_frames_give_empty_results(pipe: HandPipeline, depth: np.ndarray, reason: str) -> None:
    result = pipe.process(DepthFrame(depth, K, 123, "test", 7))
    assert isinstance(result, FrameResult)
    assert result.hands == () and reason in result.error
    assert result.frame_index == 7 and result.timestamp_us == 123


def test_not_a_frame_is_rejected_not_raised(pipe: HandPipeline) -> None:
    result = pipe.process(np.zeros((480, 640)))  # type: ignore[arg-type]
    assert "expected a DepthFrame" in result.error
    assert check_frame("x") and not check_frame(DepthFrame(np.full((480, 640), 800, np.float32), K))


def test_absurd_depths_do_not_crash(pipe: HandPipeline) -> None:
    depth = np.full((480, 640), 65000.0, np.float32)
    depth[::7, ::5] = 1.0
    result = pipe.process(DepthFrame(depth, K, 0, "absurd", 0))
    assert result.error == "" and len(result.hands) <= pipe.options.max_hands
    assert set(result.timings_ms) >= {"detect", "crop", "pose", "track", "total"}


STAGES = ("detect", "crop", "pose", "track")
OPTIONAL_STAGES = ("refine", "verify")
"""Timed when the refinement / the pose-stage verification is on."""


def _hands_in_view(truth, frame: DepthFrame) -> np.ndarray:
    """Indices of the true hands with at least half their joints projecting inside the image."""
    u, v = truth.joints_uvd[..., 0], truth.joints_uvd[..., 1]
    k = frame.intrinsics
    inside = (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
    return np.flatnonzero(inside.mean(axis=1) >= 0.5)


def _check_timings(timings: dict[str, float], rounded_to_ms: float = 0.0) -> tuple[float, float]:
    """Every stage timed, finite, non-negative; the stages are disjoint parts of ``total``.

    ``rounded_to_ms``: the values' rounding step (the JSONL keeps 0.001 ms), allowed once per value.

    Returns:
        ``(total - sum of stages, total)`` in ms, for :func:`_check_coverage`.
    """
    assert set(timings) >= {*STAGES, "total"}, timings
    optional = tuple(k for k in OPTIONAL_STAGES if k in timings)
    values = np.array([timings[k] for k in (*STAGES, *optional, "total")])
    assert np.isfinite(values).all() and (values >= 0).all(), timings
    total, stages = timings["total"], float(values[:-1].sum())
    assert 0 < total < 10_000, timings  # ms; a frame, not a run
    assert stages <= total + 1e-6 + 5 * rounded_to_ms / 2, timings  # stages are sub-intervals of total
    return total - stages, total


def _check_coverage(gaps_and_totals: list[tuple[float, float]]) -> None:
    """The stages cover ``total``, bar the bookkeeping between them, on the median frame.

    The median, not every frame: on a loaded machine the scheduler may preempt the thread between two stages.
    """
    gaps, totals = np.array(gaps_and_totals).T
    assert np.median(gaps) <= 0.2 * np.median(totals) + 2.0, gaps_and_totals


def test_synthetic_frames_give_hands_with_timings(pipe: HandPipeline, synthetic_frames: list) -> None:
    pipe.tracker.reset()
    coverage = []
    for frame, truth in synthetic_frames:
        result = pipe.process(frame)
        assert result.error == ""
        coverage.append(_check_timings(result.timings_ms))
        expected = _hands_in_view(truth, frame)
        assert len(expected) >= 1  # the fixture's frames show a hand
        assert len(result.hands) >= len(expected)
        # every true hand in view is found, with its joints near the true ones
        for t in expected:
            errors = [
                float(np.linalg.norm(h.pose.joints_xyz_mm - truth.joints_xyz_mm[t], axis=1).mean())
                for h in result.hands
            ]
            assert min(errors) < 40.0, errors  # mm: well under half a hand's length
        for hand in result.hands:
            assert hand.pose.joints_xyz_mm.shape == (pipe.joint_set.num_joints, 3)
            # uvd and xyz agree through the frame's intrinsics (independent re-projection)
            xyz = hand.pose.joints_xyz_mm.astype(np.float64)
            u = xyz[:, 0] / xyz[:, 2] * frame.intrinsics.fx + frame.intrinsics.cx
            np.testing.assert_allclose(hand.pose.joints_uvd[:, 0], u, atol=0.05)
            v = xyz[:, 1] / xyz[:, 2] * frame.intrinsics.fy + frame.intrinsics.cy
            w, h = frame.intrinsics.width, frame.intrinsics.height
            inside = (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5) & (xyz[:, 2] > 0)
            np.testing.assert_array_equal(hand.pose.visible, inside)  # joints beyond the edge are flagged
    _check_coverage(coverage)


def test_missing_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises((FileNotFoundError, ValueError), match=r"missing\.onnx"):
        HandPipeline(PipelineOptions(pose_model=tmp_path / "missing.onnx"))
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises((ValueError, RuntimeError), match=r"corrupt\.onnx"):
        HandPipeline(PipelineOptions(pose_model=bad))


def test_run_writes_jsonl_and_measures_accuracy(tmp_path) -> None:
    out = tmp_path / "poses.jsonl"
    summary = run_source("synthetic://topdown?realtime=0&seed=4", PipelineOptions(num_threads=1), out, max_frames=6)
    lines = out.read_text().splitlines()
    assert len(lines) == 7
    header = json.loads(lines[0])
    assert header["joint_names"][0] == "WRIST" and header["units"] == "mm" and header["schema"] == "depthhand.poses/2"
    records = [json.loads(x) for x in lines[1:]]
    assert [r["frame_index"] for r in records] == list(range(6))
    _check_coverage([_check_timings(r["timings_ms"], rounded_to_ms=0.001) for r in records])
    info = summary.to_dict()
    assert info["frames"] == 6 and info["accuracy"]["frames"] == 6
    # An easy synthetic take (one hand in view): every hand found, joints within a generous physical bound.
    assert info["accuracy"]["hand_recall"] >= 0.8
    assert info["accuracy"]["false_hands_per_frame"] <= 0.5
    assert info["accuracy"]["mean_error_mm"] <= 40.0
    # The same check, independently, from the JSONL against the source's own ground truth.
    with SyntheticSource(seed=4, realtime=False) as src:
        truths = [(src.read(), src.last_truth) for _ in range(6)]
    found = 0
    for r, (frame, truth) in zip(records, truths, strict=True):
        assert r["timestamp_us"] == frame.timestamp_us
        for t in _hands_in_view(truth, frame):
            errors = [
                float(np.linalg.norm(np.array(h["joints_xyz_mm"]) - truth.joints_xyz_mm[t], axis=1).mean())
                for h in r["hands"]
            ]
            if errors and min(errors) < 40.0:
                found += 1
    assert found >= 5  # of 6 frames with a hand in view


def test_open_pipeline_for_the_server() -> None:
    handle = open_pipeline("synthetic://topdown?realtime=0&seed=2", PipelineOptions(num_threads=1))
    try:
        item = next(iter(handle.frames))
        assert isinstance(item, LiveFrame) and isinstance(item.result, FrameResult)
        assert item.frame.depth_mm.shape == (480, 640) and item.truth is not None  # synthetic: truth rides along
        assert item.result.frame_index == item.frame.index == item.truth.frame_index
        assert handle.joint_set.name == "canonical21"
        # the default (auto: the int8 copy on a VNNI or AVX2 CPU), named for /api/status
        assert handle.pose_backend == resolve_backend("auto", path=shipped_weights(DEFAULT_POSE_MODEL))
    finally:
        handle.close()


def test_predict_png16_and_errors(tmp_path, synthetic_frames: list) -> None:
    paths = []
    for i, (frame, _truth) in enumerate(synthetic_frames):
        paths.append(tmp_path / ("d.png" if i == 0 else f"d{i}.png"))
        cv2.imwrite(str(paths[-1]), (frame.depth_mm * 8).astype(np.uint16))  # 0.125 mm units, like the SR305
    frame = synthetic_frames[0][0]
    np.testing.assert_allclose(read_depth_image(paths[0], "png16", 0.125), frame.depth_mm, atol=0.125)
    k = frame.intrinsics
    records = predict_files(
        paths, f"{k.fx},{k.fy},{k.cx},{k.cy}", "png16", 0.125, PipelineOptions(num_threads=1), tmp_path / "ovl"
    )
    assert [r["source"] for r in records] == [str(p) for p in paths]
    # Each image shows one right hand with known joints: predict finds exactly it, close to the truth.
    for record, (frame, truth) in zip(records, synthetic_frames, strict=True):
        assert "error" not in record
        assert [h.value for h in truth.handedness] == ["right"] and len(_hands_in_view(truth, frame)) == 1
        (hand,) = record["hands"]
        assert hand["handedness"] == "right" and hand["joint_set"] == "canonical21"
        pred = np.asarray(hand["joints_xyz_mm"])
        assert pred.shape == (21, 3)
        error = np.linalg.norm(pred - truth.joints_xyz_mm[0], axis=1)
        assert error.mean() < 30.0, error  # mm; the shipped model is ~8 mm on such frames
        # the image coordinates agree with the truth's too (a few pixels per joint, not a hand away)
        assert (
            np.median(np.linalg.norm(np.asarray(hand["joints_uvd"])[:, :2] - truth.joints_uvd[0, :, :2], axis=1)) < 20
        )
    assert (tmp_path / "ovl" / "d_overlay.png").is_file()
    with pytest.raises(ValueError, match="nyu-rgb expects"):
        read_depth_image(paths[0], "nyu-rgb")
    with pytest.raises(FileNotFoundError, match="missing"):
        read_depth_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="fx,fy,cx,cy"):
        parse_intrinsics("1,2,3")
    assert parse_intrinsics("nyu").fx == pytest.approx(588.03)


def test_shipped_models_find_and_pose_synthetic_hands() -> None:
    """The shipped detector + pose model on held-out live synthetic frames (seed not used in training)."""
    summary = run_source("synthetic://topdown?realtime=0&seed=21", PipelineOptions(num_threads=1), max_frames=15)
    acc = summary.accuracy
    assert acc["hand_recall"] >= 0.8
    assert acc["false_hands_per_frame"] <= 0.3
    assert acc["mean_error_mm"] <= 30.0
    assert acc["handedness_accuracy"] >= 0.8  # the pose's palm chirality, voted over frames by the tracker


def test_image_mode_carries_nothing_from_frame_to_frame(synthetic_frames: list) -> None:
    """video mode keeps track ids (and smooths); image mode gives each frame the same answer as on its own."""
    frames = [f for f, _ in synthetic_frames]
    with HandPipeline(PipelineOptions(num_threads=1, mode="image")) as image:
        alone = image.process(frames[-1])
        after = [image.process(f) for f in frames][-1]
    assert [h.track_id for h in alone.hands] == [h.track_id for h in after.hands]
    for a, b in zip(alone.hands, after.hands, strict=True):
        np.testing.assert_array_equal(a.pose.joints_xyz_mm, b.pose.joints_xyz_mm)
    with HandPipeline(PipelineOptions(num_threads=1)) as video:
        ids = [[h.track_id for h in video.process(f).hands] for f in frames]
    assert ids[0] == ids[-1]  # the same hand keeps its id
    with pytest.raises(ValueError, match="mode must be one of"):
        PipelineOptions(mode="burst")


def test_pipeline_estimate_is_the_estimator_plus_handedness_and_score(pipe: HandPipeline, synthetic_frames) -> None:
    frame = synthetic_frames[0][0]
    boxes = pipe.detector.detect(frame)[:1]
    timings: dict[str, float] = {}
    (pose,) = pipe.estimate(frame, boxes, timings)
    (plain,) = pipe.estimator.estimate(frame, np.array([boxes[0].center_xyz_mm]))
    np.testing.assert_array_equal(pose.joints_xyz_mm, plain.joints_xyz_mm)
    assert pose.score == pytest.approx(boxes[0].score) and set(timings) == {"crop", "pose"}


def test_check_frame_finds_every_bad_value_where_it_lies() -> None:
    """The reductions of ``check_frame`` against the elementwise definition, one bad pixel anywhere."""
    rng = np.random.default_rng(2)
    for bad in (np.nan, np.inf, -np.inf):
        for _ in range(5):
            depth = np.full((480, 640), 800, np.float32)
            depth[rng.integers(480), rng.integers(640)] = bad
            assert check_frame(DepthFrame(depth, K)) == "depth contains NaN or infinite values"
    for values, ok in (((0.0,), False), ((-5.0, 0.0), False), ((0.0, 0.5), True), ((-3.0, 700.0), True)):
        depth = np.full((480, 640), values[0], np.float32)
        depth[rng.integers(480), rng.integers(640)] = values[-1]
        expected = "" if (np.isfinite(depth).all() and (depth > 0).any()) else "no valid depth pixels"
        assert check_frame(DepthFrame(depth, K)) == expected and (expected == "") == ok
