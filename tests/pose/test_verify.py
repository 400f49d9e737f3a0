"""Pose-stage verification: each signal on analytic cases, the combined score on a rendered hand and on non-hands."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.verify import (
    DEFAULT_WEIGHTS,
    NO_HAND,
    SIGNAL_NAMES,
    HandVerifier,
    VerifySignals,
    VerifyWeights,
    hand_component,
    plausibility,
    verify_signals,
)
from depthhand.skeleton import CANONICAL21
from depthhand.structures import CameraIntrinsics, HandPose
from depthhand.track.tracker import TrackerConfig

CUBE = 250.0
SIZE = 96


def pose_of(joints_xyz_mm: np.ndarray, k: CameraIntrinsics) -> HandPose:
    j = np.asarray(joints_xyz_mm, np.float64)
    return HandPose(j.astype(np.float32), xyz_to_uvd(j, k).astype(np.float32), CANONICAL21)


def signals(depth: np.ndarray, k: CameraIntrinsics, joints: np.ndarray, center: np.ndarray) -> VerifySignals:
    patch = crop_depth(depth, make_crop(center, CUBE, k, SIZE))
    return verify_signals(patch, pose_of(joints, k), center, CUBE, k)


@cache
def rendered_hand() -> tuple[np.ndarray, CameraIntrinsics, np.ndarray, np.ndarray]:
    """A fist in front of a body, rendered with its true joints (a training-split hard scene, not the held-out set)."""
    from depthhand.evaluate.hard_set import hard_frame

    f = hard_frame("body_behind", 3, seed=5150)
    return f.depth_mm, f.intrinsics, f.joints_xyz_mm[0], f.center_xyz_mm[0]


def test_a_rendered_hand_with_its_true_joints_passes() -> None:
    depth, k, joints, center = rendered_hand()
    s = signals(depth, k, joints, center)
    assert s.on_hand >= 0.6 and s.bones == 1.0 and s.front == 0.0  # the fist's curled fingers are cut off the palm
    assert 0.0 < s.offset_mm < 20.0  # joint centres lie inside the fingers, behind the surface
    assert s.residual_mm < 5.0 and s.unexplained < 0.1 and s.free < 0.1
    assert plausibility(s) >= 0.9


def test_a_hand_resting_on_a_table_passes() -> None:
    """A top-down hand lying on the table (a training-stream scene, not the accuracy benchmarks' seed 2024)."""
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng([5151, 12])
    f = render_scene(sample_scene("topdown", rng, n_hands=1), rng)
    depth, k, joints, center = f.depth_mm, f.intrinsics, f.joints_xyz_mm[0], f.center_xyz_mm[0]
    patch = crop_depth(depth, make_crop(center, CUBE, k, SIZE))
    # the cause of the failure this guards against: cut at depth steps only, the hand's component is the table
    joined = hand_component(patch, CUBE / 2, CUBE / SIZE)
    assert joined.mean() > 0.7 and joined[0].mean() > 0.7
    s = signals(depth, k, joints, center)
    assert s.border < 0.1 and s.unexplained < 0.1 and s.residual_mm < 5.0 and 30.0 < s.area_cm2 < 200.0
    assert plausibility(s) >= TrackerConfig().birth_plausibility


def test_the_same_pose_on_the_body_beside_the_hand_fails() -> None:
    depth, k, joints, center = rendered_hand()
    shift = np.array([0.0, 0.0, 0.0])
    for dx in (-160.0, 160.0):  # onto the torso beside the hand, at the torso's depth
        c = center + np.array([dx, 60.0, 0.0])
        u, v, _ = xyz_to_uvd(c, k)
        z = float(depth[int(v), int(u)])
        if z > 0 and z - center[2] > 50:
            shift = np.array([dx, 60.0, z + 10.0 - center[2]])
            break
    assert shift.any(), "no torso pixel beside the hand"
    s = signals(depth, k, joints + shift, center + shift)
    # the torso behind fills the crop's border: what its support plane leaves of it, the capsules do not explain
    assert s.unexplained > 0.3
    assert plausibility(s) < 0.2


def _wall(depth_mm: float, k: CameraIntrinsics) -> np.ndarray:
    return np.full((k.height, k.width), depth_mm, np.float32)


def test_a_hand_pose_on_a_wall_or_in_free_space_fails() -> None:
    _, _, joints, center = rendered_hand()
    k = INTRINSICS["astra"]
    # the wall just behind the pose: every crop pixel is the wall, which its border's plane explains: no hand pixels
    wall = _wall(float(center[2]) + 15.0, k)
    s = signals(wall, k, joints, center)
    assert s == NO_HAND
    assert plausibility(s) < 0.2
    # the pose 100 mm in front of a wall: the joints float in free space
    far = _wall(float(center[2]) + 100.0, k)
    s = signals(far, k, joints, center)
    assert s.front == 1.0 and s.free == 1.0  # in front of the surface, where the sensor sees the wall behind
    assert plausibility(s) < 0.2


def test_a_held_ball_is_not_a_hand() -> None:
    """A 90 mm ball at 500 mm with a hand pose fitted onto it (what the network outputs on any blob)."""
    k = INTRINSICS["astra"]
    center = np.array([0.0, 0.0, 500.0])
    v, u = np.mgrid[0 : k.height, 0 : k.width]
    x, y = (u - k.cx) / k.fx, (v - k.cy) / k.fy
    # ray–sphere intersection: t² (x² + y² + 1) − 2 t · 545 + (545² − 45²) = 0
    a, b, c = x**2 + y**2 + 1.0, -2.0 * 545.0, 545.0**2 - 45.0**2
    disc = b * b - 4 * a * c
    depth = np.where(disc > 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), 0.0).astype(np.float32)
    _, _, joints, hc = rendered_hand()
    s = signals(depth, k, joints - hc + center, center)
    assert s.free > 0.3 and s.on_hand < 0.6  # the fingers reach past the ball into free space
    assert plausibility(s) < TrackerConfig().birth_plausibility  # a weak detection of it starts no hand


def test_bone_signal_and_no_hand() -> None:
    depth, k, joints, center = rendered_hand()
    palm = joints[0]
    big = palm + (joints - palm) * 2.0  # a hand twice the largest human size
    assert signals(depth, k, big, center).bones < 0.2
    assert signals(np.zeros_like(depth), k, joints, center) == NO_HAND
    assert plausibility(NO_HAND) < 0.01


def test_hand_component_cuts_depth_steps_and_keeps_the_centre() -> None:
    p = np.ones((32, 32), np.float32)
    p[8:24, 8:24] = 0.0  # the hand, at the centre's depth
    p[:, 26:] = 0.4  # a surface 50 mm behind it (half_z 125 mm): cut from it by the step
    p[8:24, 24:26] = 0.1  # touching the hand, 12.5 mm behind: joins it
    mask = hand_component(p, 125.0, 2.6)
    # both pixels of a step are cut (the outline against the background too): a one-pixel seam
    assert mask[9:23, 9:25].all() and not mask[:, 25:].any() and not mask[:9].any() and not mask[:, :9].any()
    assert not hand_component(np.ones((8, 8), np.float32), 125.0, 2.6).any()


def test_weights_are_checked_and_the_verifier_batches() -> None:
    with pytest.raises(ValueError, match="10 means"):
        VerifyWeights((0.0,), (1.0,), (1.0,), 0.0)
    with pytest.raises(ValueError, match="scale must be positive"):
        dataclasses.replace(DEFAULT_WEIGHTS, scale=(0.0,) * len(SIGNAL_NAMES))
    depth, k, joints, center = rendered_hand()
    patch = crop_depth(depth, make_crop(center, CUBE, k, SIZE))
    verifier = HandVerifier(CUBE)
    got = verifier.scores(np.stack([patch, patch])[:, None], [pose_of(joints, k)] * 2, [center, center], k)
    assert len(got) == 2 and got[0] == got[1] == plausibility(signals(depth, k, joints, center))
