"""LiveAccuracy: matching, recall, false hands and handedness scoring against hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.evaluate.live import LiveAccuracy
from depthhand.skeleton import CANONICAL21
from depthhand.structures import Handedness

L, R = Handedness.LEFT, Handedness.RIGHT


def test_handedness_is_scored_on_matched_hands_only() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([0, 0, 600], 20, (21, 3))
    b = rng.normal([300, 0, 600], 20, (21, 3))
    acc = LiveAccuracy(CANONICAL21)
    # predictions listed in the other order; one right, one wrong
    acc.add(np.stack([b + 1, a + 1]), np.stack([a, b]), pred_handedness=[R, R], true_handedness=[L, R])
    # a false hand far away and an invisible true hand: neither is scored
    far = a + 1000
    vis = np.array([[True] * 21, [False] * 21])
    acc.add(np.stack([a, far]), np.stack([a, b]), vis, pred_handedness=[L, R], true_handedness=[L, R])
    s = acc.summary()
    assert s["hand_recall"] == 3 / 3 and s["false_hands_per_frame"] == 0.5
    assert s["handedness_accuracy"] == 2 / 3
    assert s["mean_error_mm"] == pytest.approx(np.sqrt(3) * 2 / 3)  # 1 mm per axis on two hands, 0 on the third
    assert "handedness_accuracy" not in LiveAccuracy(CANONICAL21).summary()
