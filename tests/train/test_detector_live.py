"""Tests of the live-style detector training frames and ``SyntheticLive.skip`` (``--live-fraction``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS
from depthhand.synth.live import SyntheticLive
from depthhand.train.detector_data import generate_cache, load_cache
from depthhand.train.detector_live import (
    LIVE_SEED_FLOOR,
    is_live_frame,
    live_labels,
    live_stream_seed,
    render_live_detector_sample,
)


def test_skip_advances_without_rendering_and_next_frame_keeps_its_stream() -> None:
    a, b = SyntheticLive(seed=3, noise=None), SyntheticLive(seed=3, noise=None)
    for _ in range(3):  # next_frame is next_frame_with_sample without the sample
        fa, ta = a.next_frame()
        fb, tb, sample = b.next_frame_with_sample()
        np.testing.assert_array_equal(fa.depth_mm, fb.depth_mm)
        np.testing.assert_array_equal(ta.joints_xyz_mm, tb.joints_xyz_mm)
        assert sample.boxes_xyxy.shape == (len(tb.track_ids), 4)
    c, d = SyntheticLive(seed=3, noise=None), SyntheticLive(seed=3, noise=None)
    c.skip(40)
    d.skip(40)
    fc, tc = c.next_frame()
    fd, _ = d.next_frame()
    assert fc.index == 40 and fc.timestamp_us == round(40 * 1e6 / 30)
    np.testing.assert_array_equal(fc.depth_mm, fd.depth_mm)  # deterministic
    first = SyntheticLive(seed=3, noise=None).next_frame()[1]
    assert not np.allclose(tc.joints_xyz_mm[0], first.joints_xyz_mm[0])  # the hands moved
    with pytest.raises(ValueError, match=">= 0"):
        c.skip(-1)


def test_live_frames_are_picked_per_index_and_use_large_stream_seeds() -> None:
    assert not any(is_live_frame(7, i, 0.0) for i in range(200))
    assert all(is_live_frame(7, i, 1.0) for i in range(200))
    assert 0.25 < np.mean([is_live_frame(7, i, 0.3) for i in range(2000)]) < 0.35
    seeds = [live_stream_seed(5001, i) for i in range(50)]
    assert min(seeds) >= LIVE_SEED_FLOOR and len(set(seeds)) == 50  # never a benchmark's small seed
    assert live_stream_seed(5001, 3) == seeds[3] and live_stream_seed(5002, 3) != seeds[3]


def _fake_sample(joints_u: list[float], center_u: float) -> SimpleNamespace:
    intr = INTRINSICS["astra"]
    uvd = np.zeros((1, 21, 3))
    uvd[0, :, 0] = joints_u
    uvd[0, :, 1] = intr.height / 2
    uvd[0, :, 2] = 800.0
    z = 800.0
    center = np.array([[(center_u - intr.cx) / intr.fx * z, 0.0, z]])
    return SimpleNamespace(
        intrinsics=intr,
        handedness=("right",),
        center_xyz_mm=center,
        visibility=np.ones((1, 21), bool),
        joints_uvd=uvd,
    )


def test_live_labels_drop_hands_mostly_outside_the_image() -> None:
    w = INTRINSICS["astra"].width
    inside = [w - 20.0] * 11 + [w + 30.0] * 10  # 11 of 21 joints inside
    assert live_labels(_fake_sample(inside, w - 5.0)).tolist() == [True]
    outside = [w - 20.0] * 10 + [w + 30.0] * 11  # 10 of 21: the live benchmark does not count this hand
    assert live_labels(_fake_sample(outside, w - 5.0)).tolist() == [False]
    assert live_labels(_fake_sample([w - 20.0] * 21, w + 5.0)).tolist() == [False]  # centre outside


def test_live_cache_frames_match_the_renderer_and_record_the_fraction(tmp_path: Path) -> None:
    generate_cache(tmp_path / "c", 3, seed=5001, chunk=3, progress=False, live_fraction=1.0)
    meta = json.loads((tmp_path / "c" / "cache.json").read_text())
    assert meta["live_fraction"] == 1.0 and meta["hard_fraction"] == 0.0
    arrays = load_cache([tmp_path / "c"])
    assert arrays["depth_mm"].shape == (3, 120, 160)
    one = render_live_detector_sample(5001, 2)
    np.testing.assert_array_equal(arrays["depth_mm"][2], np.clip(np.round(one.depth_mm), 0, 65535))
    assert ((arrays["right"][2] >= 0).sum()) == len(one.right)
    assert (arrays["depth_mm"] > 0).mean() > 0.5  # a table scene fills most of the frame
    with pytest.raises(ValueError, match="cache rendered with"):
        generate_cache(tmp_path / "c", 3, seed=5001, chunk=3, progress=False)
    with pytest.raises(ValueError, match="live_fraction"):
        generate_cache(tmp_path / "d", 3, seed=5001, live_fraction=-0.1)


def test_cli_rejects_a_bad_live_fraction(tmp_path: Path) -> None:
    from depthhand.commands import train_detector

    parser = argparse.ArgumentParser()
    train_detector.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "d.onnx"), "--live-fraction", "1.5"])
    with pytest.raises(ValueError, match="--live-fraction"):
        train_detector.run(args)
    assert parser.parse_args(["--out", "x.onnx"]).live_fraction == 0.0
