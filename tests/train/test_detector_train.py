"""Tests of the hand-detector training code: targets, augmentation, real labels, a tiny end-to-end run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.detect.cnn_decode import STRIDE, decode_outputs
from depthhand.train.detector import DetectorTrainConfig, train_detector
from depthhand.train.detector_data import DetectorSample, augment_sample, load_real_labels, make_targets


def _sample() -> DetectorSample:
    depth = np.full((120, 160), 1500.0, np.float32)
    depth[40:60, 50:70] = 600.0  # a "hand" block
    return DetectorSample(
        depth_mm=depth,
        centers_uv=np.array([[59.3, 50.6]]),
        boxes_xyxy=np.array([[49.5, 39.5, 69.5, 59.5]]),
        right=np.array([True]),
    )


def test_targets_decode_back_to_labels() -> None:
    s = _sample()
    t = make_targets(s)
    assert t["heat"].shape == (1, 30, 40) and t["heat"].max() == 1.0
    assert t["mask"].sum() == 1
    # decoding the targets (offset already in cells, right as a probability) recovers centre and box
    (p,) = decode_outputs(t["heat"][0], t["right"][0], t["offset"], t["ltrb"], threshold=0.5)
    np.testing.assert_allclose(p.center_uv, s.centers_uv[0], atol=1e-5)
    np.testing.assert_allclose(p.box_xyxy, s.boxes_xyxy[0], atol=1e-4)
    assert p.right_prob == 1.0
    row, col = int(s.centers_uv[0, 1] // STRIDE), int(s.centers_uv[0, 0] // STRIDE)
    assert t["heat"][0, row, col] == 1.0


def test_augmentation_keeps_labels_on_the_hand() -> None:
    s = _sample()
    for seed in range(20):
        a = augment_sample(s, np.random.default_rng(seed))
        if len(a.right) == 0:
            continue  # centre shifted out of the image
        u, v = np.round(a.centers_uv[0]).astype(int)
        patch = a.depth_mm[max(0, v - 1) : v + 2, max(0, u - 1) : u + 2]
        vals = patch[patch > 0]
        assert vals.size == 0 or np.median(vals) < 800, (seed, np.median(vals))
        b = a.boxes_xyxy[0]
        assert b[0] < a.centers_uv[0, 0] < b[2] and b[1] < a.centers_uv[0, 1] < b[3]
        # zoom 0.8-1.25 and shift <= 24 px keep the unmirrored centre below u = 78.5, the mirrored one above 71.5
        if a.centers_uv[0, 0] > 78.5:
            assert not a.right[0]
        if a.centers_uv[0, 0] < 71.5:
            assert a.right[0]


def test_real_labels_map_into_input(shared_data: Path) -> None:
    frames = shared_data / "real" / "sr305-desk" / "frames"
    from depthhand.evaluate.real_labels import SR305_DESK_LABELS as labels

    samples = load_real_labels(labels, frames, "sr305")
    assert len(samples) == 11
    for s in samples:
        c, b = s.centers_uv[0], s.boxes_xyxy[0]
        assert b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3]
        assert 400 < float(np.median(s.depth_mm[int(c[1]) - 1 : int(c[1]) + 2, int(c[0]) - 1 : int(c[0]) + 2])) < 800
    with pytest.raises(ValueError, match="camera"):
        load_real_labels(labels, frames, "no-such-camera")


@pytest.mark.slow
def test_tiny_training_run_exports_loadable_onnx(tmp_path: Path) -> None:
    from depthhand.detect.cnn import CnnHandDetector
    from depthhand.geometry.camera import INTRINSICS
    from depthhand.structures import DepthFrame

    cfg = DetectorTrainConfig(
        cache_dirs=(tmp_path / "cache",),
        out=tmp_path / "det.onnx",
        render_count=12,
        epochs=1,
        batch_size=4,
        threads=1,
        max_steps=2,
    )
    summary = train_detector(cfg, progress=False)
    assert summary["steps"] == 2 and summary["onnx_bytes"] > 0
    assert (tmp_path / "det.pt").is_file()
    det = CnnHandDetector(cfg.out, threads=1)
    assert det.metadata["input_width"] == "160" and det.classes == ["hand"]
    intr = INTRINSICS["sr305"]
    depth = np.full((intr.height, intr.width), 900.0, np.float32)
    boxes = det.detect(DepthFrame(depth, intr))
    assert len(boxes) <= 4
