"""Selective int8 quantisation (``depthhand.export.quantize``) on the shipped pose model, with few crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.export.quantize import CALIBRATION_SEED, SENSITIVITY_SEED, quantize_selective, synthetic_crops
from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
from depthhand.pose.backends import INT8_FLOAT_KEY, OnnxRuntimeBackend, OnnxRuntimeInt8Backend, int8_status

pytestmark = pytest.mark.slow  # 22 calibrations of the model: about 15 s on 2 cores


def test_quantize_keeps_the_sensitive_convolutions_in_float(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    src = tmp_path / "model.onnx"
    src.write_bytes(shipped_weights(DEFAULT_POSE_MODEL).read_bytes())
    cal = synthetic_crops(24, CALIBRATION_SEED, 96, 250.0)  # the shipped recipe's seed, fewer crops
    mes = synthetic_crops(24, SENSITIVITY_SEED, 96, 250.0)
    lines: list[str] = []
    report = quantize_selective(src, calibration=cal, measurement=mes, progress=lines.append)
    assert report.path == tmp_path / "model.int8.onnx" and int8_status(src) is None
    assert len(lines) == len(report.sensitivity_mm) == 22
    assert list(cwd.iterdir()) == []  # ONNX Runtime's shape pass leaves its partial model in the cwd otherwise
    # The stem and the voting head are the sensitive ones (1-3 mm alone); most layers move the joints far less.
    assert {"/model/stem/stem.0/Conv", "/model/head/Conv"} <= set(report.kept_float)
    assert len(report.quantized) >= 12
    assert all(report.sensitivity_mm[c] <= 0.6 for c in report.quantized)
    assert all(report.sensitivity_mm[c] > 0.6 for c in report.kept_float)
    # The written graph: the quantised convolutions read a DequantizeLinear'd weight, the float ones a float one.
    proto = onnx.load(str(report.path))
    dq_outputs = {o for n in proto.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    conv_weight_q = {n.name: n.input[1] in dq_outputs for n in proto.graph.node if n.op_type == "Conv"}
    assert {c for c, q in conv_weight_q.items() if q} == set(report.quantized)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta[INT8_FLOAT_KEY].split(",") == list(report.kept_float)
    assert meta["depthhand.cube_mm"] == "250"
    # The shift it reports is the shift the runtime sees (float64 recomputation over the same crops' raw outputs).
    fp32, q8 = OnnxRuntimeBackend(src, 1), OnnxRuntimeInt8Backend(src, 1)
    raw = np.abs(q8.run(mes.patches) - fp32.run(mes.patches))
    assert 0.0 < float(raw.mean()) < 0.05  # normalised units: a real but small change
    assert 0.0 < report.shift_mm < 2.0 and report.p99_shift_mm >= report.shift_mm


def test_quantize_rejects_a_bad_budget_and_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_conv_shift_mm must be > 0"):
        quantize_selective(shipped_weights(DEFAULT_POSE_MODEL), tmp_path / "x.onnx", max_conv_shift_mm=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        quantize_selective(tmp_path / "missing.onnx")
