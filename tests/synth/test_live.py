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


def test_live_touch_truth_is_foot_of_tip_sphere_centre() -> None:
    """The e2e truth contact is the foot of the fingertip sphere's centre (as in touch_scenes), not of the tip joint.

    Reference: the hand geometry of the same frame rebuilt in float64 from a copy of the stream's state (the
    stream's own step: agents, trajectories, ``table_hand``), its tip spheres' centres projected onto the table by
    ``c − (n · c − d) n``.
    """
    import copy

    from depthhand.evaluate.touch import synthetic_truth_frame
    from depthhand.skeleton import CANONICAL21, Finger
    from depthhand.structures import FrameResult
    from depthhand.synth import scene_layout as sl

    live = SyntheticLive(seed=1, noise=None)
    live.skip(69)  # the next frame has a touching thumb
    twin = copy.deepcopy(live)
    frame, truth = live.next_frame()
    dt = 1.0 / twin.fps
    twin._advance_agents(dt)
    centres = []
    for a in twin._agents:
        angles = a.traj.step(dt)
        _, geo = sl.table_hand(twin.rig, a.handedness, angles, a.shape, a.xy, a.yaw, a.clearance, a.pitch, a.roll)
        centres.append(np.asarray(geo.tip_spheres[:, :3], dtype=np.float64))
    assert truth.tip_centres_xyz_mm is not None
    np.testing.assert_allclose(truth.tip_centres_xyz_mm, np.stack(centres), atol=1e-9)
    n, d = np.asarray(truth.table_plane[:3], np.float64), float(truth.table_plane[3])
    tf = synthetic_truth_frame(FrameResult(frame.index, frame.timestamp_us, (), {}, "t", frame.intrinsics), truth)
    assert truth.touch.any() and len(tf.touches) == int(truth.touch.sum())
    for k, track_id in enumerate(truth.track_ids):
        for f in Finger:
            if not truth.touch[k, int(f)]:
                continue
            c = centres[k][int(f)]
            want = c - (n @ c - d) * n
            np.testing.assert_allclose(tf.touches[(track_id, f)], want, atol=1e-6)
            # the tip joint's foot is a different point (the centre lies ≈ one tip radius behind the joint)
            j = truth.joints_xyz_mm[k, CANONICAL21.tip(f)]
            assert np.linalg.norm((j - (n @ j - d) * n) - want) > 3.0
