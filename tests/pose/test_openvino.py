"""The optional OpenVINO backend agrees with ONNX Runtime on the shipped pose model (the [openvino] extra)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from depthhand.pipeline import DEFAULT_POSE_MODEL, PipelineOptions, shipped_weights
from depthhand.pose.backends import Backend, OnnxRuntimeBackend, open_backend


@pytest.fixture
def ort_and_openvino() -> Iterator[tuple[Backend, Backend]]:
    """ONNX Runtime fp32 and OpenVINO fp32 on the shipped pose model, one thread each (closed afterwards)."""
    pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
    path = shipped_weights(DEFAULT_POSE_MODEL)
    ort = OnnxRuntimeBackend(path, num_threads=1)
    ov = open_backend(path, "openvino", num_threads=1)
    try:
        yield ort, ov
    finally:
        ort.close()
        ov.close()


def test_openvino_matches_onnxruntime_on_the_shipped_model(ort_and_openvino: tuple[Backend, Backend]) -> None:
    from depthhand.export.onnx import realistic_patches

    ort, ov = ort_and_openvino
    patches = realistic_patches(np.random.default_rng(3), 8)
    a, b = ort.run(patches), ov.run(patches)
    assert a.shape == b.shape == (8, 21, 3)
    assert float(np.abs(a - b).max()) <= 1e-4  # normalised units, the export parity tolerance
    assert float(np.abs(a).max()) > 0.05  # not trivially zero


def test_the_pipeline_runs_on_openvino() -> None:
    pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
    from depthhand.capture.stream import open_stream
    from depthhand.pipeline import HandPipeline

    frames = [c.frame for c in open_stream("synthetic://topdown?realtime=0&seed=4", 3)]
    with HandPipeline(PipelineOptions(pose_backend="openvino", num_threads=1)) as pipe:
        results = [pipe.process(f) for f in frames]
    assert any(r.hands for r in results)


def test_openvino_bf16_stays_close_to_fp32() -> None:
    pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
    from depthhand.synth.crops import generate_crops

    path = shipped_weights(DEFAULT_POSE_MODEL)
    patches = generate_crops(16, np.random.default_rng(5), "topdown")[0][:, None]  # hand crops, not blobs
    f32, bf16 = open_backend(path, "openvino", num_threads=1), open_backend(path, "openvino-bf16", num_threads=1)
    try:
        a, b = f32.run(patches), bf16.run(patches)
        chosen = bf16.precision  # type: ignore[attr-defined]
    finally:
        f32.close()
        bf16.close()
    from depthhand.pose.cpu_features import cpu_has_bf16

    if cpu_has_bf16():
        assert chosen == "bf16"
        assert float(np.abs(a - b).max()) > 1e-5  # really a different arithmetic
    # bf16 keeps 8 bits of mantissa: joints move by well under a millimetre on average (cube 250 mm: × 125 mm)
    shift_mm = np.linalg.norm((a - b) * 125.0, axis=-1)
    assert float(shift_mm.mean()) < 1.0 and float(shift_mm.max()) < 10.0
    with pytest.raises(ValueError, match="expected one of auto, onnxruntime, onnxruntime-int8, openvino, openvino"):
        open_backend(path, "tensorrt")


def test_openvino_results_survive_the_next_call_and_prepare(ort_and_openvino: tuple[Backend, Backend]) -> None:
    """The backend reuses one infer request with the input shared: each result must be its own copy, whatever
    batch comes next, and ``prepare`` (a run of every batch size on zeros) must not disturb later results."""
    from depthhand.export.onnx import realistic_patches

    ort, ov = ort_and_openvino
    patches = realistic_patches(np.random.default_rng(5), 6)
    ov.prepare(3)
    first = ov.run(patches[:2])
    kept = first.copy()
    second = ov.run(patches[2:])
    assert np.array_equal(first, kept)  # not overwritten by the next call
    assert first.shape == (2, 21, 3) and second.shape == (4, 21, 3)
    ref = ort.run(patches)
    assert float(np.abs(np.concatenate([first, second]) - ref).max()) <= 1e-4
