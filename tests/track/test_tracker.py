from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from depthhand.skeleton import CANONICAL21
from depthhand.structures import HandBox, Handedness, HandPose
from depthhand.track.tracker import HandTracker, TrackerConfig, majority, pose_center

DT_US = 33_333
K = INTRINSICS["astra"]
SHAPE = np.random.default_rng(42).normal(0, 25, (21, 3))
SHAPE -= SHAPE.mean(axis=0)


def hand(
    center_mm: np.ndarray, handedness: Handedness = Handedness.UNKNOWN, noise: float = 0.0, seed: int = 0
) -> HandPose:
    xyz = SHAPE + center_mm + np.random.default_rng(seed).normal(0, noise, SHAPE.shape)
    return HandPose(xyz.astype(np.float32), xyz_to_uvd(xyz, K).astype(np.float32), CANONICAL21, handedness=handedness)


def truth_id(tracked_center: np.ndarray, truths: list[np.ndarray]) -> int:
    return int(np.argmin([np.linalg.norm(tracked_center - t) for t in truths]))


@pytest.mark.parametrize("y_gap_mm", [40.0, 0.0])
def test_two_hands_crossing_keep_their_ids(y_gap_mm: float) -> None:
    """Hands move towards each other at 600 mm/s each and cross (0 mm gap: they pass through the same point)."""
    tracker = HandTracker(TrackerConfig(beta=0.05))
    rng = np.random.default_rng(0)
    ids_of: dict[int, set[int]] = {0: set(), 1: set()}
    n = 40
    for i in range(n):
        x = -300.0 + 600.0 * i / (n - 1)
        truths = [np.array([x, -y_gap_mm / 2, 600.0]), np.array([-x, y_gap_mm / 2, 600.0])]
        order = rng.permutation(2)  # detections arrive in any order
        hands = tracker.update([hand(truths[k], noise=2.0, seed=i * 2 + k) for k in order], i * DT_US)
        assert len(hands) == 2 and all(h.lost_frames == 0 for h in hands)
        for h in hands:
            ids_of[truth_id(pose_center(h.pose), truths)].add(h.track_id)
    assert ids_of[0] == {1} and ids_of[1] == {2}


def test_coasting_then_new_id_after_the_coasting_period() -> None:
    cfg = TrackerConfig(max_coast_frames=5)
    tracker = HandTracker(cfg)
    c = np.array([0.0, 0.0, 700.0])
    t = 0
    ids = []
    for _ in range(10):
        (h,) = tracker.update([hand(c)], t)
        ids.append(h.track_id)
        t += DT_US
    for k in range(1, 4):  # a 3-frame dropout: the track coasts and keeps its id
        (h,) = tracker.update([], t)
        assert h.lost_frames == k and h.box is None and h.track_id == 1
        t += DT_US
    (h,) = tracker.update([hand(c)], t)
    assert h.track_id == 1 and h.lost_frames == 0
    t += DT_US
    for _ in range(cfg.max_coast_frames):
        assert len(tracker.update([], t)) == 1
        t += DT_US
    assert tracker.update([], t) == []  # coasting period over: dropped
    t += DT_US
    (h,) = tracker.update([hand(c)], t)
    assert h.track_id == 2 and h.age_frames == 0  # re-entering hand: new id
    assert set(ids) == {1}


def test_far_jump_starts_a_new_track_and_gate_widens_while_coasting() -> None:
    tracker = HandTracker(TrackerConfig(gate_mm=100.0, gate_growth=0.5, max_coast_frames=3))
    tracker.update([hand(np.array([0.0, 0.0, 600.0]))], 0)
    hands = tracker.update([hand(np.array([300.0, 0.0, 600.0]))], DT_US)
    assert sorted((h.track_id, h.lost_frames) for h in hands) == [(1, 1), (2, 0)]
    tracker = HandTracker(TrackerConfig(gate_mm=100.0, gate_growth=0.5, max_coast_frames=3))
    tracker.update([hand(np.array([0.0, 0.0, 600.0]))], 0)
    tracker.update([], DT_US)
    tracker.update([], 2 * DT_US)  # gate is now 100·(1 + 0.5·2) = 200 mm
    (h,) = tracker.update([hand(np.array([180.0, 0.0, 600.0]))], 3 * DT_US)
    assert h.track_id == 1


def test_handedness_is_a_majority_vote() -> None:
    rng = np.random.default_rng(3)
    tracker = HandTracker(TrackerConfig(handedness_window=15))
    c = np.array([0.0, 0.0, 600.0])
    labels = []
    for i in range(60):
        r = rng.random()
        vote = Handedness.RIGHT if r < 0.7 else (Handedness.LEFT if r < 0.9 else Handedness.UNKNOWN)
        (h,) = tracker.update([hand(c, vote)], i * DT_US)
        labels.append(h.pose.handedness)
    assert all(lab is Handedness.RIGHT for lab in labels[15:])
    assert majority([]) is Handedness.UNKNOWN
    assert majority([Handedness.LEFT, Handedness.RIGHT]) is Handedness.RIGHT  # tie → most recent
    assert majority([Handedness.UNKNOWN, Handedness.LEFT]) is Handedness.LEFT


def test_box_handedness_is_used_when_the_pose_has_none() -> None:
    tracker = HandTracker()
    c = np.array([0.0, 0.0, 600.0])
    box = HandBox(
        xyz_to_uvd(c, K).astype(np.float32), c.astype(np.float32), np.zeros(4, np.float32), 0.9, Handedness.LEFT
    )
    (h,) = tracker.update([hand(c)], 0, boxes=[box])
    assert h.pose.handedness is Handedness.LEFT and h.box is box


def test_smoothing_reduces_joint_jitter_and_projects_uvd() -> None:
    tracker = HandTracker(TrackerConfig(min_cutoff=1.0, beta=0.0))
    c = np.array([50.0, -20.0, 650.0])
    raw, smooth = [], []
    for i in range(300):
        p = hand(c, noise=3.0, seed=i)
        (h,) = tracker.update([p], i * DT_US, intrinsics=K)
        raw.append(p.joints_xyz_mm)
        smooth.append(h.pose.joints_xyz_mm)
        np.testing.assert_allclose(h.pose.joints_uvd, xyz_to_uvd(h.pose.joints_xyz_mm, K), rtol=1e-4, atol=1e-3)
    raw_std = np.std(np.array(raw)[50:], axis=0).mean()
    smooth_std = np.std(np.array(smooth)[50:], axis=0).mean()
    assert smooth_std < 0.4 * raw_std  # measured ≈ 0.31 (first-order low-pass at 1 Hz, 30 fps)


def test_visibility_follows_the_smoothed_joints() -> None:
    # A hand straddling the image's left edge: the tracked pose flags the smoothed joints beyond it.
    tracker = HandTracker(TrackerConfig(min_cutoff=1.0, beta=0.0))
    c = np.array([(0.0 - K.cx) * 650.0 / K.fx, 0.0, 650.0])
    for i in range(10):
        p = hand(c, noise=3.0, seed=i)  # its own flags say every joint is visible
        (h,) = tracker.update([p], i * DT_US, intrinsics=K)
        u, v, d = h.pose.joints_uvd.astype(np.float64).T
        inside = (d > 0) & (u >= -0.5) & (u < K.width - 0.5) & (v >= -0.5) & (v < K.height - 0.5)
        assert inside.any() and not inside.all()
        np.testing.assert_array_equal(h.pose.visible, inside)


def test_limits_and_bad_input() -> None:
    tracker = HandTracker(TrackerConfig(max_hands=2))
    centers = [np.array([x, 0.0, 600.0]) for x in (-300.0, 0.0, 300.0)]
    assert len(tracker.update([hand(c) for c in centers], 0)) == 2
    with pytest.raises(ValueError, match="one box"):
        tracker.update([hand(centers[0])], DT_US, boxes=[])
    nan_pose = hand(centers[0])
    nan_pose.joints_xyz_mm[:] = np.nan
    out = tracker.update([nan_pose], 2 * DT_US)  # unusable detection: ignored, tracks coast
    assert all(h.lost_frames == 1 for h in out)
    tracker.update([hand(centers[0])], 2 * DT_US)  # same timestamp again: no crash
    quiet = HandTracker(TrackerConfig(emit_coasting=False))
    quiet.update([hand(centers[0])], 0)
    assert quiet.update([], DT_US) == [] and quiet.num_tracks == 1
    with pytest.raises(ValueError, match="gate_mm"):
        TrackerConfig(gate_mm=0.0)


def _box(center: np.ndarray, score: float) -> HandBox:
    return HandBox(xyz_to_uvd(center, K).astype(np.float32), center.astype(np.float32), np.zeros(4, np.float32), score)


def test_weak_detections_continue_tracks_but_never_start_them() -> None:
    tracker = HandTracker(TrackerConfig(birth_score=0.5))
    c = np.array([0.0, 0.0, 600.0])
    assert tracker.update([hand(c)], 0, boxes=[_box(c, 0.45)]) == []  # too weak to start a hand
    (h,) = tracker.update([hand(c)], DT_US, boxes=[_box(c, 0.7)])
    for i in range(2, 6):  # the same hand scoring below the birth threshold keeps its id and stays found
        c = c + np.array([5.0, 0.0, 0.0])
        (k,) = tracker.update([hand(c)], i * DT_US, boxes=[_box(c, 0.35)])
        assert k.track_id == h.track_id and k.lost_frames == 0
    far = np.array([300.0, 0.0, 600.0])  # a weak detection elsewhere does not appear
    out = tracker.update([hand(c), hand(far)], 6 * DT_US, boxes=[_box(c, 0.35), _box(far, 0.4)])
    assert [o.track_id for o in out] == [h.track_id]
    # without a box the pose's score decides; birth_score 0 accepts every detection
    assert HandTracker(TrackerConfig(birth_score=0.0)).update([hand(c)], 0, boxes=[_box(c, 0.01)])
    with pytest.raises(ValueError, match="birth_score"):
        TrackerConfig(birth_score=1.5)


def test_plausible_weak_detections_start_tracks_and_implausible_ones_none() -> None:
    cfg = TrackerConfig()  # birth 0.5; from 0.3 with plausibility >= 0.8; none below plausibility 0.2
    c = np.array([0.0, 0.0, 600.0])
    assert HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.35)], plausibility=[0.85])
    assert not HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.35)], plausibility=[0.75])
    assert not HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.25)], plausibility=[0.99])
    assert not HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.9)], plausibility=[0.1])
    assert HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.9)], plausibility=[0.3])
    assert HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.9)])  # without plausibilities: the score alone
    assert cfg.starts_track(0.35, None) is False and cfg.starts_track(0.35, 0.8) is True
    with pytest.raises(ValueError, match="plausibilities"):
        HandTracker(cfg).update([hand(c)], 0, [_box(c, 0.9)], plausibility=[0.9, 0.9])
    with pytest.raises(ValueError, match="min_plausibility"):
        TrackerConfig(min_plausibility=-0.1)


def test_a_track_that_stays_implausible_is_dropped() -> None:
    tracker = HandTracker(TrackerConfig(drop_implausible_frames=3, max_coast_frames=10))
    c = np.array([0.0, 0.0, 600.0])
    (h,) = tracker.update([hand(c)], 0, [_box(c, 0.9)], plausibility=[0.9])
    for i, p in enumerate((0.1, 0.1, 0.9, 0.1, 0.1), start=1):  # an implausible run broken by a plausible frame
        (k,) = tracker.update([hand(c)], i * DT_US, [_box(c, 0.9)], plausibility=[p])
        assert k.track_id == h.track_id and k.lost_frames == 0
    assert tracker.update([hand(c)], 6 * DT_US, [_box(c, 0.9)], plausibility=[0.1]) == []  # third in a row
    # 0 = never dropped
    keep = HandTracker(TrackerConfig(drop_implausible_frames=0))
    keep.update([hand(c)], 0, [_box(c, 0.9)], plausibility=[0.9])
    for i in range(1, 8):
        assert keep.update([hand(c)], i * DT_US, [_box(c, 0.9)], plausibility=[0.0])
