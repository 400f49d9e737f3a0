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


def test_a_hand_on_a_partly_visible_true_hand_is_neither_matched_nor_false() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal([0, 0, 600], 20, (21, 3))
    edge = rng.normal([250, -200, 600], 20, (21, 3))  # a hand leaving the view: 6 of its 21 joints in the image
    vis = np.array([[True] * 21, [True] * 6 + [False] * 15])
    acc = LiveAccuracy(CANONICAL21)
    # the pipeline reports both hands, plus one near nothing
    acc.add(np.stack([a + 1, edge + 5, a + 800]), np.stack([a, edge]), vis)
    s = acc.summary()
    assert s["hand_recall"] == 1.0  # the partial hand is not required
    assert s["false_hands_per_frame"] == 1.0  # only the hand near nothing is false
    assert s["partial_hands_per_frame"] == 1.0
    assert s["mean_error_mm"] == pytest.approx(np.sqrt(3))  # the partial hand's error is not scored
    # one partial true hand excuses at most one prediction
    acc2 = LiveAccuracy(CANONICAL21)
    acc2.add(np.stack([edge + 5, edge - 5]), np.stack([edge]), vis[1:])
    assert acc2.summary()["false_hands_per_frame"] == 1.0 and np.isnan(acc2.summary()["hand_recall"])
