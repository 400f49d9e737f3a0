"""Tests of the learned hand detector: decoding, preprocessing, the shipped ONNX model and input validation."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from depthhand.detect.cnn import DEFAULT_MODEL, CnnHandDetector
from depthhand.detect.cnn_decode import (
    STRIDE,
    decode_outputs,
    downscale_depth,
    encode_center,
    local_maxima,
    normalize_depth,
    surface_depth,
)
from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import DepthFrame, Handedness

CENTER_ERROR_BOUND_MM = 40.0
"""Documented bound for the shipped model on a clean frontal synthetic frame (see weights/detector.json)."""


def _maps(hg: int = 30, wg: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.zeros((hg, wg), np.float32),
        np.full((hg, wg), 0.5, np.float32),
        np.zeros((2, hg, wg), np.float32),
        np.zeros((4, hg, wg), np.float32),
    )


def test_local_maxima_single_winner_per_plateau() -> None:
    heat = np.zeros((6, 6), np.float32)
    heat[1, 1] = 0.9
    heat[4, 3:5] = 0.7  # plateau of two cells
    rc = local_maxima(heat, 0.5)
    assert sorted(map(tuple, rc.tolist())) == [(1, 1), (4, 3)]


def _maxima_by_definition(heat: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Cells ≥ threshold, > every earlier neighbour and ≥ every later one (row-major), one cell at a time."""
    hg, wg = heat.shape
    out = []
    for r in range(hg):
        for c in range(wg):
            v = heat[r, c]
            if not v >= threshold:
                continue
            ok = True
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    y, x = r + dy, c + dx
                    if (dy, dx) == (0, 0) or not (0 <= y < hg and 0 <= x < wg):
                        continue
                    ok &= bool(v > heat[y, x]) if (dy, dx) < (0, 0) else bool(v >= heat[y, x])
            if ok:
                out.append((r, c))
    return out


def test_local_maxima_match_the_definition_with_plateaus_borders_and_nans() -> None:
    rng = np.random.default_rng(5)
    for i in range(300):
        heat = rng.random((int(rng.integers(1, 9)), int(rng.integers(1, 9)))).astype(np.float32)
        if i % 2:
            heat = np.round(heat * 3) / 3  # plateaus
        if i % 7 == 0:
            heat[rng.random(heat.shape) < 0.15] = np.nan
        threshold = float(rng.choice([0.0, 0.3, 0.6]))
        rc = local_maxima(heat, threshold)
        assert rc.dtype == np.int64 and rc.shape[1:] == (2,)
        assert [tuple(x) for x in rc.tolist()] == _maxima_by_definition(heat, threshold)


def test_decode_peak_to_box_and_handedness() -> None:
    heat, right, offset, ltrb = _maps()
    heat[10, 20] = 0.95
    right[10, 20] = 0.9
    offset[:, 10, 20] = (0.25, 0.75)
    ltrb[:, 10, 20] = np.log([4.0, 6.0, 8.0, 10.0])
    (p,) = decode_outputs(heat, right, offset, ltrb, threshold=0.3)
    cu, cv = (20 + 0.25) * STRIDE, (10 + 0.75) * STRIDE
    np.testing.assert_allclose(p.center_uv, [cu, cv])
    np.testing.assert_allclose(p.box_xyxy, [cu - 4, cv - 6, cu + 8, cv + 10], rtol=1e-5)
    assert p.score == pytest.approx(0.95)
    assert p.right_prob == pytest.approx(0.9)
    row, col, ox, oy = encode_center(p.center_uv)
    assert (row, col) == (10, 20)
    np.testing.assert_allclose([ox, oy], [0.25, 0.75], atol=1e-9)


def test_decode_threshold_max_hands_and_order() -> None:
    heat, right, offset, ltrb = _maps()
    scores = [0.4, 0.9, 0.6, 0.8, 0.7, 0.5]
    for i, s in enumerate(scores):
        heat[5, 2 + 6 * i] = s  # far apart, small boxes: no suppression
    ltrb[:] = np.log(3.0)
    peaks = decode_outputs(heat, right, offset, ltrb, threshold=0.45, max_hands=4)
    assert [p.score for p in peaks] == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert len(decode_outputs(heat, right, offset, ltrb, threshold=0.95)) == 0


def test_decode_suppresses_second_peak_on_same_hand() -> None:
    heat, right, offset, ltrb = _maps()
    heat[10, 10] = 0.9
    heat[10, 12] = 0.8  # 8 input px away, box side 40 px → same hand
    heat[10, 30] = 0.7  # 80 px away → another hand
    ltrb[:] = np.log(20.0)
    peaks = decode_outputs(heat, right, offset, ltrb, threshold=0.3)
    assert [round(p.center_uv[0]) for p in peaks] == [40, 120]


def test_decode_rejects_mismatched_shapes() -> None:
    heat, right, offset, ltrb = _maps()
    with pytest.raises(ValueError, match="offset"):
        decode_outputs(heat, right, offset[:1], ltrb)


def test_downscale_is_valid_aware_and_letterboxed() -> None:
    depth = np.full((480, 848), 700.0, np.float32)
    depth[::2, ::2] = 0.0  # a quarter invalid: the mean of the valid pixels stays 700
    depth[100:140, 400:440] = np.nan
    small, lb = downscale_depth(depth)
    assert small.shape == (120, 160)
    content_h = round(480 * lb.scale)
    np.testing.assert_allclose(small[:content_h][small[:content_h] > 0], 700.0, rtol=1e-5)
    assert np.all(small[content_h:] == 0)  # padding
    uv = np.array([[0.0, 0.0], [847.0, 479.0], [123.4, 56.7]])
    np.testing.assert_allclose(lb.to_frame(lb.to_input(uv)), uv, atol=1e-9)


def test_normalize_depth_channels() -> None:
    x = normalize_depth(np.array([[0.0, 600.0, 3000.0, 9000.0]], np.float32), far_mm=3000.0)
    np.testing.assert_allclose(x[0, 0], [0.0, 0.8, 0.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(x[1, 0], [0.0, 1.0, 1.0, 1.0])


def test_surface_depth_takes_near_layer() -> None:
    depth = np.full((50, 50), 800.0, np.float32)
    depth[20:30, 18:32] = 500.0  # the hand in front of the body
    depth[25, 25] = 0.0
    depth[24, 24] = 200.0  # one flying pixel
    assert surface_depth(depth, (25, 25), 10) == pytest.approx(500.0)
    assert surface_depth(np.zeros((10, 10), np.float32), (5, 5), 3) == 0.0


@pytest.fixture(scope="module")
def detector() -> CnnHandDetector:
    return CnnHandDetector(DEFAULT_MODEL, threads=1)


def test_shipped_model_finds_synthetic_hand(detector: CnnHandDetector) -> None:
    from depthhand.synth.scenes import render_scene, sample_scene

    errors = []
    for seed in range(3):
        rng = np.random.default_rng([424242, seed])
        scene = sample_scene("frontal", rng, INTRINSICS["sr305"], n_hands=1, distractors=False)
        sample = render_scene(scene, rng, noise=None)
        boxes = detector.detect(DepthFrame(sample.depth_mm, sample.intrinsics))
        assert 1 <= len(boxes) <= 4
        best = min(boxes, key=lambda b: np.linalg.norm(b.center_xyz_mm - sample.center_xyz_mm[0]))
        errors.append(float(np.linalg.norm(best.center_xyz_mm - sample.center_xyz_mm[0])))
        assert best.box_xyxy[0] < best.center_uvd[0] < best.box_xyxy[2]
    assert max(errors) < CENTER_ERROR_BOUND_MM, errors


def test_centre_decoded_off_the_frame_is_kept_on_the_image(detector: CnnHandDetector) -> None:
    from depthhand.detect.cnn_decode import Letterbox, Peak
    from depthhand.geometry.camera import inside_image

    intr = INTRINSICS["sr305"]
    depth = np.full((intr.height, intr.width), 600.0, np.float32)
    lb = Letterbox(0.25, intr.width // 4, intr.height // 4 + 8)  # 8 input rows of padding below the frame
    off = lb.to_input(np.array([intr.width + 6.0, intr.height + 20.0]))  # right of and below the frame
    peak = Peak(off, np.array([off[0] - 10, off[1] - 10, off[0], off[1]]), 0.9, 0.9)
    assert lb.to_frame(peak.center_uv)[0] > intr.width
    box = detector._to_hand_box(peak, DepthFrame(depth, intr), lb)
    assert box is not None
    np.testing.assert_allclose(box.center_uvd[:2], [intr.width - 1, intr.height - 1])
    assert inside_image(box.center_xyz_mm.astype(np.float64), intr)


def test_empty_and_nan_frames_give_no_hands(detector: CnnHandDetector) -> None:
    intr = INTRINSICS["sr305"]
    zeros = np.zeros((intr.height, intr.width), np.float32)
    assert detector.detect(DepthFrame(zeros, intr)) == []
    assert detector.detect(DepthFrame(np.full_like(zeros, np.nan), intr)) == []


def test_wrong_input_type_raises(detector: CnnHandDetector) -> None:
    with pytest.raises(TypeError, match="DepthFrame"):
        detector.detect(np.zeros((480, 640), np.uint16))  # type: ignore[arg-type]


def test_missing_and_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        CnnHandDetector(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(ValueError, match="cannot load"):
        CnnHandDetector(bad)


def test_model_without_detector_metadata_is_rejected(tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(DEFAULT_MODEL))
    del model.metadata_props[:]
    path = tmp_path / "nometa.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="not a depthhand hand-detector"):
        CnnHandDetector(path)


def test_runtime_module_does_not_import_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from depthhand.detect.cnn import CnnHandDetector\n"
        "CnnHandDetector()\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_handedness_values_are_enum(detector: CnnHandDetector) -> None:
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng(7)
    sample = render_scene(sample_scene("topdown", rng, n_hands=2), rng, noise="default")
    boxes = detector.detect(DepthFrame(sample.depth_mm, sample.intrinsics))
    assert len(boxes) <= 4
    assert all(isinstance(b.handedness, Handedness) and 0 <= b.score <= 1 for b in boxes)
    assert all(b.box_xyxy.dtype == np.float32 and b.center_uvd.shape == (3,) for b in boxes)


def test_latency_benchmark_reports_fields() -> None:
    from depthhand.bench.core import run_benchmarks

    (result,) = run_benchmarks(["detect.cnn"], quick=True)
    assert result.unit == "ms" and result.samples == 20 and result.details["n"] == 20
    d = result.details
    assert d["median_ms"] == result.value
    # a 640x480 CNN detection takes between 10 µs and 10 s; the statistics are ordered as statistics must be
    assert math.isfinite(result.value) and 0.01 < result.value < 10_000, d
    assert 0 < d["min_ms"] <= d["median_ms"] <= d["p95_ms"] and d["min_ms"] <= d["mean_ms"], d
    assert result.details["model_bytes"] == DEFAULT_MODEL.stat().st_size
    assert d["frame"] == "640x480"
