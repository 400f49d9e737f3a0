from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.structures import CameraIntrinsics, DepthFrame


@pytest.fixture(scope="session")
def fast_model_path(tmp_path_factory) -> Path:
    """An exported depthhand_fast (random weights, non-trivial head) for the estimator tests."""
    import torch

    from depthhand.export.onnx import export_onnx
    from depthhand.models.registry import create_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create_model("depthhand_fast", joint_set="canonical21").eval()
    torch.nn.init.normal_(model.head.weight, std=0.05)
    path = tmp_path_factory.mktemp("pose") / "fast.onnx"
    export_onnx(model, path)
    return path


@pytest.fixture
def two_hand_frame() -> tuple[DepthFrame, np.ndarray]:
    """A 160×120 frame with two box-shaped 'hands' and their centres (mm)."""
    intr = CameraIntrinsics(150.0, 150.0, 80.0, 60.0, 160, 120)
    depth = np.zeros((120, 160), np.float32)
    depth[40:70, 30:60] = 500.0 + np.linspace(0, 30, 30, dtype=np.float32)[None, :]
    depth[50:90, 100:130] = 650.0
    centers = np.array([[(45 - 80) * 510 / 150, (55 - 60) * 510 / 150, 510.0], [(115 - 80) * 650 / 150, 10.0, 660.0]])
    return DepthFrame(depth, intr), centers
