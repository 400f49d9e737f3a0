"""``--pose-backend auto``: the selection rule with injected CPU flags, and what it picks on this machine."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
from depthhand.pose.backends import BACKENDS, cpu_has_bf16, openvino_installed, resolve_backend
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

CPUINFO = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512bw {extra}\nbugs\t\t: {bugs}\n"
)


@pytest.mark.parametrize(
    ("extra", "bugs", "expected"),
    [
        ("avx512_bf16", "", True),
        ("amx_bf16 amx_tile", "", True),
        ("avx512_vnni", "", False),
        ("avx512_bf16x", "", False),  # a longer flag is not the flag
        ("", "avx512_bf16", False),  # only the flags line counts
    ],
)
def test_bf16_from_the_cpuinfo_flags(extra: str, bugs: str, expected: bool) -> None:
    assert cpu_has_bf16(CPUINFO.format(extra=extra, bugs=bugs)) is expected


def test_bf16_from_openvino_where_there_is_no_cpuinfo() -> None:
    assert cpu_has_bf16("", ["FP32", "BF16", "INT8"]) is True
    assert cpu_has_bf16("", ["FP32", "FP16", "INT8"]) is False


@pytest.mark.parametrize(
    ("has_openvino", "has_bf16", "expected"),
    [
        (True, True, "openvino-bf16"),
        (True, False, "onnxruntime"),
        (False, True, "onnxruntime"),
        (False, False, "onnxruntime"),
    ],
)
def test_auto_picks_openvino_bf16_only_with_both(has_openvino: bool, has_bf16: bool, expected: str) -> None:
    assert resolve_backend("auto", has_openvino=has_openvino, has_bf16=has_bf16) == expected


def test_named_backends_resolve_to_themselves() -> None:
    for name in BACKENDS[1:]:
        assert resolve_backend(name, has_openvino=False, has_bf16=False) == name
    with pytest.raises(ValueError, match="unknown pose backend 'tensorrt'; expected one of auto, onnxruntime"):
        resolve_backend("tensorrt")


def test_auto_on_this_machine() -> None:
    """With the extra on a bf16 CPU, auto really runs OpenVINO in bf16, and the accuracy stays within 0.1 mm."""
    from depthhand.evaluate.drift import backend_drift
    from depthhand.synth.crops import generate_crops

    path = shipped_weights(DEFAULT_POSE_MODEL)
    patches = generate_crops(8, np.random.default_rng(11), "topdown")[0][:, None]
    with (
        PoseEstimator(PoseEstimatorOptions(path, "auto", num_threads=1)) as auto,
        PoseEstimator(PoseEstimatorOptions(path, "onnxruntime", num_threads=1)) as ort,
    ):
        a, b = auto.run_network(patches), ort.run_network(patches)
        chosen = auto._backend
    if not (openvino_installed() and cpu_has_bf16()):
        assert auto.backend == "onnxruntime"
        np.testing.assert_array_equal(a, b)
        return
    assert auto.backend == "openvino-bf16" and type(chosen).__name__ == "OpenVinoBackend"
    assert chosen.precision == "bf16"  # type: ignore[union-attr]
    assert float(np.abs(a - b).max()) > 1e-5  # really another arithmetic, not ONNX Runtime again
    drift = backend_drift("auto", 64, scenes=("topdown",))["topdown"]  # the card's first held-out crops
    assert drift["frames"] > 40 and drift["ref_mean_mm"] > 2.0  # a real error to drift from
    assert abs(drift["error_change_mm"]) <= 0.1
    assert 0.0 < drift["mean_shift_mm"] < 1.0
