"""``confirm_followed``: pairing followed hands with the same frame's detections (analytic cases)."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.structures import HandBox
from depthhand.track.follow import FollowConfig, confirm_followed


def _box(x: float, y: float, z: float = 600.0, score: float = 0.8) -> HandBox:
    return HandBox(np.zeros(3, np.float32), np.array([x, y, z], np.float32), np.zeros(4, np.float32), score)


def test_near_detections_confirm_and_far_ones_are_new() -> None:
    palms = [[0.0, 0.0, 600.0], [200.0, 0.0, 600.0]]
    dets = [_box(400.0, 0.0), _box(230.0, 40.0), _box(10.0, 0.0)]  # new, 50 mm from hand 1, 10 mm from hand 0
    assert confirm_followed(palms, dets, 60.0) == ([0, 1], [2, 1], [0])
    # a tighter gate leaves hand 1 unconfirmed and its detection new
    assert confirm_followed(palms, dets, 49.0) == ([0], [2], [0, 1])


def test_nearest_pairs_first_and_each_at_most_once() -> None:
    palms = [[0.0, 0.0, 600.0], [30.0, 0.0, 600.0]]
    dets = [_box(28.0, 0.0)]  # nearer hand 1 (2 mm) than hand 0 (28 mm)
    assert confirm_followed(palms, dets, 60.0) == ([1], [0], [])
    dets2 = [_box(5.0, 0.0), _box(0.0, 0.0)]  # two detections on hand 0: the nearer pairs, the other is new
    assert confirm_followed([[0.0, 0.0, 600.0]], dets2, 60.0) == ([0], [1], [0])


def test_nothing_to_pair_and_nan_palms() -> None:
    assert confirm_followed(np.zeros((0, 3)), [_box(0, 0)], 60.0) == ([], [], [0])
    assert confirm_followed([[0.0, 0.0, 600.0]], [], 60.0) == ([], [], [])
    assert confirm_followed([[np.nan, 0.0, 600.0]], [_box(0, 0)], 60.0) == ([], [], [0])


def test_the_gate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="confirm_gate_mm must be positive"):
        FollowConfig(confirm_gate_mm=0.0)
