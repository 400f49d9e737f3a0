"""Tests of fine-tuning the detector from earlier weights and of hard-scene frames in the training caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from depthhand.detect.cnn_decode import normalize_depth
from depthhand.models.detector import build_detector
from depthhand.pipeline import shipped_weights
from depthhand.train.detector_data import generate_cache, is_hard_frame, load_cache, render_hard_detector_sample
from depthhand.train.detector_init import init_detector_weights, load_onnx_into, onnx_width

SHIPPED = shipped_weights("detector.onnx")


def _inputs(n: int = 16) -> torch.Tensor:
    """Depth images with a near block (a 'hand') on a far wall, at random places, normalised."""
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        d = np.full((120, 160), rng.uniform(900, 2500), np.float32)
        u, v = int(rng.integers(10, 130)), int(rng.integers(10, 90))
        d[v : v + 20, u : u + 18] = rng.uniform(350, 800)
        d[rng.random(d.shape) < 0.05] = 0.0
        out.append(normalize_depth(d))
    return torch.from_numpy(np.stack(out))


def test_onnx_export_loads_back_into_torch_with_the_same_outputs() -> None:
    import onnxruntime as ort

    x = _inputs()
    net = build_detector(onnx_width(SHIPPED))
    assert init_detector_weights(net, SHIPPED, x) == "onnx"
    ref = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"]).run(None, {"depth": x.numpy()})
    net.eval()
    with torch.no_grad():
        got = net(x, probabilities=True)
    for name, r in zip(("heat", "right", "offset", "ltrb"), ref, strict=True):
        np.testing.assert_allclose(got[name].numpy(), r, atol=1e-4, err_msg=name)
    # batch norm was given the calibration statistics: training mode on that batch computes the same function
    net.train()
    with torch.no_grad():
        train_heat = net(x, probabilities=True)["heat"].numpy()
    np.testing.assert_allclose(train_heat, ref[0], atol=1e-3)


def test_init_rejects_other_widths_and_suffixes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="weight"):
        load_onnx_into(build_detector(16), SHIPPED, _inputs())
    bad = tmp_path / "w.bin"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"\.onnx"):
        init_detector_weights(build_detector(32), bad, _inputs())
    with pytest.raises(FileNotFoundError):
        init_detector_weights(build_detector(32), tmp_path / "missing.onnx", _inputs())
    ckpt = tmp_path / "c.pt"
    src = build_detector(32)
    torch.save({"model": src.state_dict()}, ckpt)
    dst = build_detector(32)
    assert init_detector_weights(dst, ckpt, _inputs()) == "checkpoint"
    assert torch.equal(dst.stem[0].weight, src.stem[0].weight)


def test_hard_fraction_picks_frames_per_index() -> None:
    assert not any(is_hard_frame(7, i, 0.0) for i in range(200))
    assert all(is_hard_frame(7, i, 1.0) for i in range(200))
    frac = np.mean([is_hard_frame(7, i, 0.4) for i in range(2000)])
    assert 0.35 < frac < 0.45


def test_hard_cache_frames_have_labels_and_stay_off_the_held_out_seed(tmp_path: Path) -> None:
    from depthhand.evaluate.hard_set import HARD_SEED, hard_frame

    with pytest.raises(ValueError, match="held-out"):
        render_hard_detector_sample(HARD_SEED, 0)
    generate_cache(tmp_path / "c", 9, seed=5, chunk=9, progress=False, hard_fraction=1.0)
    arrays = load_cache([tmp_path / "c"])
    assert arrays["depth_mm"].shape == (9, 120, 160)
    n_hands = (arrays["right"] >= 0).sum(axis=1)
    assert n_hands[:8].min() >= 1 and n_hands[8] == 0  # frame 8 is the ninth case, no_hand
    # a training frame is not the held-out frame of the same case and index, even with seed 1
    held = hard_frame("arm_edges", 0, 1)
    small = render_hard_detector_sample(1, 0)
    from depthhand.detect.cnn_decode import downscale_depth

    assert not np.allclose(downscale_depth(held.depth_mm)[0], small.depth_mm)
    with pytest.raises(ValueError, match="cache rendered with"):
        generate_cache(tmp_path / "c", 9, seed=5, chunk=9, progress=False, hard_fraction=0.5)
    with pytest.raises(ValueError, match="hard_fraction"):
        generate_cache(tmp_path / "d", 9, seed=5, hard_fraction=1.5)
