from __future__ import annotations

import itertools

import numpy as np
import pytest

from depthhand.structures import DepthFrame
from depthhand.synth.live import SyntheticLive
from depthhand.synth.scenes import TOUCH_MM


def test_live_stream_frames_and_truth() -> None:
    live = SyntheticLive(seed=1, noise=None)
    frames = []
    for n, (frame, truth) in enumerate(live):
        frames.append((frame, truth))
        if n == 59:
            break
    first, truth0 = frames[0]
    assert isinstance(first, DepthFrame)
    assert truth0.joints_xyz_mm.shape[0] >= 1  # a hand is in view from the first frame
    ts = [f.timestamp_us for f, _ in frames]
    assert np.all(np.diff(ts) == pytest.approx(1e6 / 30, abs=1))
    assert [f.index for f, _ in frames] == list(range(60))
    for frame, truth in frames:
        k = len(truth.track_ids)
        assert truth.joints_xyz_mm.shape == (k, 21, 3) and truth.touch.shape == (k, 5)
        assert np.array_equal(truth.touch, truth.fingertip_height_mm <= TOUCH_MM)
        assert np.all(truth.fingertip_height_mm > -1e-6)  # never inside the table
        # the table plane passes through the rendered table: n · p = d at a table pixel
        n, d = truth.table_plane[:3], truth.table_plane[3]
        intr = frame.intrinsics
        v, u = 5, 5
        z = frame.depth_mm[v, u]
        if z > 0:
            p = np.array([(u - intr.cx) / intr.fx * z, (v - intr.cy) / intr.fy * z, z])
            assert abs(n @ p - d) < 2.0
    # joints move smoothly between frames of the same track
    for (_, a), (_, b) in itertools.pairwise(frames):
        for i, tid in enumerate(a.track_ids):
            if tid in b.track_ids:
                j = b.track_ids.index(tid)
                assert np.abs(a.joints_xyz_mm[i] - b.joints_xyz_mm[j]).max() < 60.0


def test_live_is_deterministic() -> None:
    a = SyntheticLive(seed=4).next_frame()
    b = SyntheticLive(seed=4).next_frame()
    np.testing.assert_array_equal(a[0].depth_mm, b[0].depth_mm)
    np.testing.assert_array_equal(a[1].joints_xyz_mm, b[1].joints_xyz_mm)


def test_live_rejects_unsupported_scene() -> None:
    with pytest.raises(ValueError, match="topdown"):
        SyntheticLive(scene="frontal")
