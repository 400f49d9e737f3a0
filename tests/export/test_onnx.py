from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from depthhand.cli import main
from depthhand.export.onnx import export_onnx, parity_check, quantization_drift, quantize_onnx, realistic_patches
from depthhand.models.registry import create_model


def _perturb_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BatchNorm statistics so the parity check exercises the folded affine."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)


@pytest.fixture(scope="module")
def fast_onnx(tmp_path_factory):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create_model("depthhand_fast", joint_set="nyu14").eval()
    _perturb_bn(model)
    torch.nn.init.normal_(model.head.weight, std=0.05)  # make the votes and weights depend on the input
    path = tmp_path_factory.mktemp("onnx") / "fast.onnx"
    report = export_onnx(model, path)
    return model, report


def test_fast_export_parity_and_metadata(fast_onnx):
    model, report = fast_onnx
    assert max(report.max_abs_diff.values()) <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    assert meta["depthhand.joint_set"] == "nyu14"
    assert meta["depthhand.cube_mm"] == "250"
    assert meta["depthhand.input_size"] == "96"
    assert meta["depthhand.output_space"] == "uvd_crop"
    assert meta["depthhand.model"] == "depthhand_fast"
    assert "cube_z/2" in meta["depthhand.normalisation"]
    # Independent parity with a batch size different from the export's dummy (dynamic batch axis).
    x = realistic_patches(np.random.default_rng(9), 5)
    sess = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"patch": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x))["joints"].numpy()
    assert got.shape == (5, 14, 3)
    assert np.abs(got - ref).max() <= 1e-4
    assert np.abs(ref).max() > 1e-2  # not a trivially constant output


def test_realistic_patches_look_like_hands():
    p = realistic_patches(np.random.default_rng(0), 4)
    assert p.shape == (4, 1, 96, 96) and p.dtype == np.float32
    fg = (p < 1).mean(axis=(1, 2, 3))
    assert np.all((fg > 0.05) & (fg < 0.6))
    assert p.min() >= -1 and np.all(p[:, :, 0, 0] == 1.0)


def test_static_int8_drift_is_small(fast_onnx, tmp_path):
    _, report = fast_onnx
    q = quantize_onnx(report.path, "static", out_path=tmp_path / "q.onnx")
    meta = {p.key: p.value for p in onnx.load(str(q)).metadata_props}
    assert meta["depthhand.joint_set"] == "nyu14"
    drift = quantization_drift(report.path, q)
    assert 0 < drift["max_abs_diff"] < 0.1


def test_export_cli(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", "depthhand_fast", "--out", str(out)]) == 0
    assert "parity" in capsys.readouterr().out and out.is_file()
    assert main(["export", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(out)]) == 1


@pytest.mark.slow
def test_crossinfonet_export_parity(tmp_path):
    torch.manual_seed(0)
    model = create_model("crossinfonet_nyu14").eval()
    _perturb_bn(model)
    report = export_onnx(model, tmp_path / "cin.onnx")
    assert max(report.max_abs_diff.values()) <= 1e-4
    assert max(parity_check(model, report.path, seed=4).values()) <= 1e-4
    q = quantize_onnx(report.path, "dynamic")
    assert quantization_drift(report.path, q)["mean_joint_mm"] < 5.0


def test_failed_parity_check_keeps_the_previous_model(tmp_path):
    """A model that fails the parity check never replaces the file already there (nor leaves a temp file)."""
    torch.manual_seed(1)
    model = create_model("depthhand_fast", joint_set="nyu14").eval()
    torch.nn.init.normal_(model.head.weight, std=0.05)
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous model")
    with pytest.raises(ValueError, match=r"differs from PyTorch.*nothing was written"):
        export_onnx(model, path, tolerance=0.0)  # fp32 ORT vs PyTorch is never bit-identical here
    assert path.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    report = export_onnx(model, path)  # the default tolerance passes and replaces it
    assert onnx.load(str(path)).metadata_props and max(report.max_abs_diff.values()) <= 1e-4
