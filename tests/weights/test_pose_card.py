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


def test_card_backends_block_describes_the_held_out_crops(card: dict[str, Any]) -> None:
    """The bf16 drift figures are on the card's own centre-in-image crops, and within the 0.1 mm target."""
    from depthhand.pose.backends import BACKENDS

    block = card["backends"]
    assert set(block["latency_ms_batch1_2threads"]) <= set(BACKENDS) and block["default"] in BACKENDS
    assert "pose.bf16_drift" in block["command"] and block["machine"]
    for scene, drift in block["openvino-bf16_vs_onnxruntime"].items():
        served = card["heldout_synthetic_centre_in_image"][scene]
        assert drift["frames"] == served["frames"]
        assert drift["ref_mean_mm"] == pytest.approx(served["mean_mm"], abs=6e-4)  # the card's fp32 figure
        assert drift["mean_mm"] - drift["ref_mean_mm"] == pytest.approx(drift["error_change_mm"], abs=2e-3)
        assert abs(drift["error_change_mm"]) <= block["accuracy_drift_target_mm"] == 0.1
        assert 0.0 < drift["median_shift_mm"] <= drift["mean_shift_mm"] <= drift["max_shift_mm"]


@pytest.mark.slow
def test_card_bf16_drift_is_what_this_cpu_measures(card: dict[str, Any]) -> None:
    """Re-measure the top-down drift where OpenVINO and a bf16 CPU are present (other CPUs may round otherwise)."""
    from depthhand.evaluate.drift import backend_drift
    from depthhand.pose.cpu_features import cpu_has_bf16, openvino_installed

    if not (openvino_installed() and cpu_has_bf16()):
        pytest.skip("needs the [openvino] extra and a CPU with native bf16")
    recorded = card["backends"]["openvino-bf16_vs_onnxruntime"]["topdown"]
    drift = backend_drift("openvino-bf16", 1000, scenes=("topdown",))["topdown"]
    assert drift["ref_mean_mm"] == pytest.approx(recorded["ref_mean_mm"], abs=6e-4)
    assert drift["mean_shift_mm"] == pytest.approx(recorded["mean_shift_mm"], rel=0.25)
    assert abs(drift["error_change_mm"]) <= 0.1


def test_card_int8_block_names_the_shipped_copy_and_its_drift(card: dict[str, Any]) -> None:
    """The int8 copy on the card is the file beside the model, made from the shipped fp32 file, within 0.1 mm."""
    import onnx

    from depthhand.pose.backends import model_fingerprint

    block = card["backends"]
    q8 = shipped_weights("depthhand_fast.int8.onnx")
    assert block["int8"]["sha256"] == hashlib.sha256(q8.read_bytes()).hexdigest()
    assert block["int8"]["source_fingerprint"] == model_fingerprint(shipped_weights("depthhand_fast.onnx"))
    meta = {p.key: p.value for p in onnx.load(str(q8), load_external_data=False).metadata_props}
    assert meta["depthhand.int8.float_convs"].split(",") == block["int8"]["float_convs"]
    for scene, drift in block["onnxruntime-int8_vs_onnxruntime"].items():
        served = card["heldout_synthetic_centre_in_image"][scene]
        assert drift["frames"] == served["frames"]
        assert drift["ref_mean_mm"] == pytest.approx(served["mean_mm"], abs=6e-4)
        assert abs(drift["error_change_mm"]) <= block["accuracy_drift_target_mm"] == 0.1
        assert 0.0 < drift["median_shift_mm"] <= drift["mean_shift_mm"] <= drift["max_shift_mm"]


@pytest.mark.slow
def test_card_int8_drift_is_what_this_cpu_measures(card: dict[str, Any]) -> None:
    """Re-measure the top-down int8 drift (ONNX Runtime's int8 kernels differ between CPUs: a loose tolerance)."""
    from depthhand.evaluate.drift import backend_drift

    recorded = card["backends"]["onnxruntime-int8_vs_onnxruntime"]["topdown"]
    drift = backend_drift("onnxruntime-int8", 1000, scenes=("topdown",))["topdown"]
    assert drift["ref_mean_mm"] == pytest.approx(recorded["ref_mean_mm"], abs=6e-4)
    assert drift["mean_shift_mm"] == pytest.approx(recorded["mean_shift_mm"], rel=0.25)
    assert abs(drift["error_change_mm"]) <= 0.1
