"""The one reader of hand-labelled real frames: strict, and naming the file, frame and field it rejects."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.evaluate.real_labels import SR305_DESK_LABELS, load_box_labels, read_box_labels
from depthhand.structures import Handedness


def write(tmp_path: Path, frames: object) -> Path:
    p = tmp_path / "labels.json"
    p.write_text(json.dumps({"frames": frames}))
    return p


def test_shipped_labels_live_in_the_package_and_are_valid():
    import depthhand

    assert SR305_DESK_LABELS.is_relative_to(Path(depthhand.__file__).parent)
    labels = read_box_labels(SR305_DESK_LABELS)
    assert list(labels) == sorted(labels, key=int)  # frame order, numerically
    assert len(labels) == 11
    for lab in labels.values():
        b = lab["box_xyxy"]
        assert 0 <= b[0] < b[2] <= 640 and 0 <= b[1] < b[3] <= 480
        assert lab["handedness"] is Handedness.RIGHT


def test_frames_load_in_mm_with_centres_inside_the_boxes(tmp_path: Path):
    depth = np.zeros((480, 640), np.uint16)
    depth[100:200, 300:400] = 4000  # 500 mm at the SR305's 0.125 mm units
    for name in ("10", "9"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), depth)
    p = write(
        tmp_path,
        {
            "10": {"box_xyxy": [300, 100, 400, 200], "center_uvd": [350, 150, 500], "handedness": "left"},
            "9": {"box_xyxy": [300, 100, 400, 200]},
        },
    )
    out = load_box_labels(p, tmp_path, "sr305")
    assert [lab.name for lab in out] == ["9", "10"]
    assert out[0].center_depth_mm is None and out[0].handedness is Handedness.RIGHT
    np.testing.assert_allclose(out[0].center_uv, [350, 150])
    assert out[1].handedness is Handedness.LEFT and out[1].center_depth_mm == 500.0
    assert out[1].frame.depth_mm[150, 350] == pytest.approx(500.0) and out[1].frame.index == 10


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ({}, "non-empty 'frames'"),
        ({"0": {}}, "frame '0' has no 'box_xyxy'"),
        ({"0": {"box_xyxy": [1, 2, 3]}}, "'box_xyxy': expected a list of 4 finite numbers"),
        ({"0": {"box_xyxy": [10, 2, 3, 40]}}, "u0 < u1"),
        ({"0": {"box_xyxy": [1, 2, 3, 4], "center_uvd": [1, "a", 3]}}, "'center_uvd'"),
        ({"0": {"box_xyxy": [1, 2, 3, 4], "handedness": "both"}}, "'handedness'"),
    ],
)
def test_malformed_labels_name_the_file_frame_and_field(tmp_path: Path, frames: object, match: str):
    p = write(tmp_path, frames)
    with pytest.raises(ValueError, match=match) as e:
        read_box_labels(p)
    assert str(p) in str(e.value)


def test_missing_or_wrong_frames_are_named(tmp_path: Path):
    p = write(tmp_path, {"0": {"box_xyxy": [1, 2, 3, 4]}})
    with pytest.raises(FileNotFoundError, match=r"frame '0' not found"):
        load_box_labels(p, tmp_path)
    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((480, 640), np.uint8))
    with pytest.raises(ValueError, match="16-bit"):
        load_box_labels(p, tmp_path)
    with pytest.raises(ValueError, match="camera must be one of"):
        load_box_labels(p, tmp_path, "no-such-camera")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_box_labels(tmp_path / "bad.json")
