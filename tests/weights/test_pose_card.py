"""The shipped pose model's card describes the shipped file: hash, size, and its held-out accuracy figures."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest

from depthhand.evaluate.model import predict_synthetic_crops
from depthhand.pipeline import shipped_weights
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

SCENES = ("topdown", "frontal", "egocentric")  # the card's scene order: scene i uses rng [424242, i]


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    out: dict[str, Any] = json.loads(shipped_weights("depthhand_fast.json").read_text())
    return out


def test_card_names_the_shipped_file(card: dict[str, Any]) -> None:
    onnx = shipped_weights("depthhand_fast.onnx")
    assert card["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    assert card["bytes"] == onnx.stat().st_size


@pytest.mark.slow
@pytest.mark.parametrize("scene", ["topdown", "frontal"])
def test_card_accuracy_is_what_the_shipped_model_scores(card: dict[str, Any], scene: str) -> None:
    """Re-render the card's held-out crops and re-score them in float64, apart from ``evaluate_model``."""
    count = card["heldout_synthetic"][scene]["frames"]
    with PoseEstimator(PoseEstimatorOptions(shipped_weights("depthhand_fast.onnx"), num_threads=2)) as est:
        pred, meta = predict_synthetic_crops(est, count, np.random.default_rng([424242, SCENES.index(scene)]), scene)
    per_crop = np.sqrt(((pred - meta.joints_xyz_mm) ** 2).sum(axis=-1)).mean(axis=1)
    assert per_crop.mean() == pytest.approx(card["heldout_synthetic"][scene]["mean_mm"], abs=6e-4)
    served = card["heldout_synthetic_centre_in_image"][scene]
    keep = np.array(
        [
            c[2] > 0
            and -0.5 <= k.fx * c[0] / c[2] + k.cx < k.width - 0.5
            and -0.5 <= k.fy * c[1] / c[2] + k.cy < k.height - 0.5
            for c, k in zip(meta.center_xyz_mm, meta.intrinsics, strict=True)
        ]
    )
    assert served["frames"] == keep.sum()
    assert per_crop[keep].mean() == pytest.approx(served["mean_mm"], abs=6e-4)
