from __future__ import annotations

import csv

import numpy as np
import pytest

from depthhand.cli import main
from depthhand.train.checkpoint import load_checkpoint


def _crops(path, n=12, j=14):
    rng = np.random.default_rng(0)
    patches = np.ones((n, 96, 96), np.float32)
    patches[:, 30:66, 30:66] = rng.uniform(-0.5, 0.5, (n, 36, 36))
    joints = rng.uniform(-0.4, 0.4, (n, j, 3)).astype(np.float32)
    np.savez(path, patches=patches, joints_crop=joints, joints_uvd_crop=joints)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["depthhand_fast", "crossinfonet_nyu14"])
def test_train_cli_smoke(tmp_path, model, capsys):
    data = tmp_path / "crops.npz"
    _crops(data)
    out = tmp_path / "run"
    args = ["train", "--data", f"crops:{data}", "--model", model, "--epochs", "1", "--batch-size", "4",
            "--workers", "0", "--max-steps", "1", "--out", str(out), "--no-progress", "--val-fraction", "0.25",
            "--threads", "1", "--device", "cpu"]  # fmt: skip
    if model == "depthhand_fast":
        args += ["--joint-set", "nyu14"]
    assert main(args) == 0
    assert "val error" in capsys.readouterr().out
    state = load_checkpoint(out / "last.pt")
    assert state["model_cfg"]["name"] == model and state["model_cfg"]["joint_set"] == "nyu14"
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) == 1 and float(rows[0]["val_mean_err_mm"]) > 0
    assert any((out / "tb").iterdir())
    if model == "depthhand_fast":  # the checkpoint exports and keeps its joint set
        onnx_path = tmp_path / "m.onnx"
        assert main(["export", "--checkpoint", str(out / "best.pt"), "--out", str(onnx_path)]) == 0
        from depthhand.pose.backends import read_metadata

        meta = read_metadata(onnx_path)
        assert meta["depthhand.joint_set"] == "nyu14" and meta["depthhand.output_space"] == "uvd_crop"


def test_train_cli_errors(tmp_path):
    assert main(["train", "--data", "nyu:/nonexistent:test", "--model", "depthhand_fast", "--out", str(tmp_path)]) == 1
    assert main(["train", "--data", "crops:/nonexistent.npz", "--out", str(tmp_path)]) == 1


def test_train_cli_refuses_rotation_out_of_range(tmp_path, capsys):
    data = tmp_path / "crops.npz"
    _crops(data, j=21)
    assert main(["train", "--data", f"crops:{data}", "--rotation-deg", "200", "--out", str(tmp_path / "r")]) == 1
    assert "--rotation-deg must be in [0, 180]" in capsys.readouterr().err
