"""Detector evaluation (:mod:`depthhand.evaluate.detector`): box IoU, the matching rule, the tallies, real frames."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from depthhand.evaluate.detector import (
    MATCH_CENTER_MM,
    DetectionTally,
    box_iou,
    center_in_box,
    evaluate_real,
    tally_frame,
)
from depthhand.evaluate.real_labels import SR305_DESK_LABELS
from depthhand.structures import HandBox, Handedness


def _box(
    center_mm: tuple[float, float, float],
    box: tuple[float, float, float, float],
    score: float,
    hand: Handedness = Handedness.UNKNOWN,
) -> HandBox:
    """A detection with its centre at ``center_mm`` (camera mm) and the box's centre pixel."""
    u, v = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return HandBox(
        np.array([u, v, center_mm[2]]), np.array(center_mm, float), np.array(box, float), score=score, handedness=hand
    )


def test_box_iou() -> None:
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)
    assert box_iou([0, 0, 10, 10], [10, 0, 20, 10]) == 0.0  # touching edges
    assert box_iou([5, 5, 5, 5], [5, 5, 5, 5]) == 0.0  # empty union


def test_center_in_box_includes_the_edges() -> None:
    det = _box((0, 0, 500), (10, 20, 30, 40), 0.9)  # centre pixel (20, 30)
    assert center_in_box(det, [10, 20, 30, 40]) and center_in_box(det, [20, 30, 25, 35])
    assert not center_in_box(det, [21, 0, 40, 40]) and not center_in_box(det, [0, 31, 40, 40])


def test_empty_tally_summary() -> None:
    s = DetectionTally().summary()
    assert (s["gt_hands"], s["recall"], s["precision"], s["handedness_accuracy"]) == (0, 0.0, 0.0, 0.0)
    assert math.isnan(s["center_error_mean_mm"]) and math.isnan(s["center_error_p90_mm"])


def test_tally_frame_matching_rule() -> None:
    """Best score first; by centre distance or IoU; a hand that does not count neither scores nor penalises."""
    sample = SimpleNamespace(
        handedness=(Handedness.RIGHT, Handedness.LEFT, Handedness.LEFT),
        center_xyz_mm=np.array([[0.0, 0.0, 500.0], [300.0, 0.0, 500.0], [-300.0, 0.0, 600.0]]),
        boxes_xyxy=np.array([[100, 100, 200, 200], [400, 100, 500, 200], [0, 0, 50, 50]], np.float32),
    )
    counted = np.array([True, False, True])
    dets = [
        _box((10.0, 0.0, 500.0), (300, 300, 310, 310), 0.5, Handedness.RIGHT),  # near hand 0, but scored lower
        _box((5.0, 0.0, 500.0), (300, 300, 310, 310), 0.9, Handedness.RIGHT),  # hand 0: 5 mm, right
        _box((300.0, 5.0, 500.0), (400, 100, 500, 200), 0.8),  # hand 1, which does not count: ignored
        _box((-300.0, 0.0, 600.0 + 2 * MATCH_CENTER_MM), (0, 0, 50, 50), 0.7, Handedness.RIGHT),  # hand 2 by IoU
        _box((0.0, 900.0, 900.0), (600, 400, 620, 420), 0.6),  # nothing near: false positive
    ]
    tally = DetectionTally()
    tally_frame(tally, dets, sample, counted)  # a stand-in with the fields the matching reads
    assert (tally.gt, tally.tp, tally.fp, tally.hand_ok) == (2, 2, 2, 1)
    assert tally.errors_mm == pytest.approx([5.0, 2 * MATCH_CENTER_MM])
    s = tally.summary()
    assert (s["recall"], s["precision"], s["handedness_accuracy"]) == (1.0, 0.5, 0.5)
    assert s["center_error_median_mm"] == pytest.approx((5.0 + 2 * MATCH_CENTER_MM) / 2)


@pytest.mark.shared_data
def test_evaluate_real_finds_the_labelled_hand(shared_data: Path) -> None:
    """The shipped detector finds the labelled right hand in the SR305 desk frames (card: 11 of 11)."""
    result = evaluate_real(None, SR305_DESK_LABELS, shared_data / "real/sr305-desk/frames")
    assert result["frames"] == len(json.loads(SR305_DESK_LABELS.read_text())["frames"]) == 11
    assert result["right_hand_found"] >= 10, result["per_frame"]
    assert result["score_threshold"] == 0.3
    for row in result["per_frame"].values():
        if row["found"]:
            assert 0.0 < row["iou"] <= 1.0 and row["center_px_error"] >= 0.0
