from __future__ import annotations

import numpy as np
import pytest

from depthhand.skeleton import Canonical21 as C
from depthhand.structures import Handedness
from depthhand.synth.hand_model import JOINT_LIMITS_DEG, NUM_DOF, Dof, clamp_to_limits, default_shape, sample_shape
from depthhand.synth.kinematics import (
    HandState,
    forward_kinematics,
    matrix_to_rotvec,
    rot_x,
    rotvec_to_matrix,
    translate_geometry,
)
from depthhand.synth.pose_prior import TEMPLATES, PoseTrajectory, sample_pose, sample_uniform, self_collision


def _expected_lengths(shape) -> dict[tuple[int, int], float]:
    """Bone lengths straight from the shape tables (independent of the kinematics)."""
    out = {
        (C.THUMB_CMC, C.THUMB_MCP): shape.thumb_lengths_mm[0],
        (C.THUMB_MCP, C.THUMB_IP): shape.thumb_lengths_mm[1],
        (C.THUMB_IP, C.THUMB_TIP): shape.thumb_lengths_mm[2],
    }
    for f in range(4):
        j0 = C.INDEX_MCP + 4 * f
        for k in range(3):
            out[(j0 + k, j0 + k + 1)] = shape.finger_lengths_mm[f, k]
    return out


def _random_state(rng: np.random.Generator) -> HandState:
    shape = sample_shape(rng)
    angles = rng.uniform(JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1])
    rot = rotvec_to_matrix(rng.normal(size=3) * 2)
    hand = Handedness.LEFT if rng.random() < 0.5 else Handedness.RIGHT
    return HandState(angles, rot, rng.uniform(-300, 300, 3) + [0, 0, 800], shape, hand)


def test_bone_lengths_preserved_under_every_pose(rng: np.random.Generator) -> None:
    for _ in range(200):
        state = _random_state(rng)
        j = forward_kinematics(state).joints_xyz_mm
        for (a, b), length in _expected_lengths(state.shape).items():
            assert np.linalg.norm(j[b] - j[a]) == pytest.approx(length, abs=1e-9)
        # palm is rigid: wrist-to-MCP distances equal the shape's MCP offsets
        for f in range(4):
            assert np.linalg.norm(j[C.INDEX_MCP + 4 * f] - j[C.WRIST]) == pytest.approx(
                np.linalg.norm(state.shape.mcp_xyz_mm[f]), abs=1e-9
            )


def test_rest_pose_fingers_straight_and_joint_order() -> None:
    geo = forward_kinematics(HandState())
    j = geo.joints_xyz_mm
    for f in range(4):
        j0 = C.INDEX_MCP + 4 * f
        segs = np.diff(j[j0 : j0 + 4], axis=0)
        cos = (
            np.sum(segs[1:] * segs[:-1], axis=1) / np.linalg.norm(segs[1:], axis=1) / np.linalg.norm(segs[:-1], axis=1)
        )
        assert np.all(cos > 0.9999)
    # hand length of the default shape ≈ 184 mm (wrist → middle tip)
    assert np.linalg.norm(j[C.MIDDLE_TIP] - j[C.WRIST]) == pytest.approx(184, abs=3)


def test_flexion_bends_towards_the_palm() -> None:
    a = np.zeros(NUM_DOF)
    a[Dof.INDEX_PIP] = 90.0
    j = forward_kinematics(HandState(angles_deg=a)).joints_xyz_mm  # identity rotation: +z is dorsal
    assert j[C.INDEX_DIP, 2] < j[C.INDEX_PIP, 2] - 20  # the middle phalanx points palmar (−z)


def test_left_hand_mirrors_right_hand(rng: np.random.Generator) -> None:
    state = _random_state(rng)
    right = HandState(state.angles_deg, np.eye(3), np.zeros(3), state.shape, Handedness.RIGHT)
    left = HandState(state.angles_deg, np.eye(3), np.zeros(3), state.shape, Handedness.LEFT)
    jr, jl = forward_kinematics(right).joints_xyz_mm, forward_kinematics(left).joints_xyz_mm
    np.testing.assert_allclose(jr * [-1, 1, 1], jl, atol=1e-9)
    # a right hand, back up (+z dorsal), fingers along +y: thumb on the −x side (anatomy)
    assert jr[C.THUMB_TIP, 0] < jr[C.PINKY_TIP, 0]


def test_global_pose_is_rigid(rng: np.random.Generator) -> None:
    state = _random_state(rng)
    local = forward_kinematics(HandState(state.angles_deg, np.eye(3), np.zeros(3), state.shape, state.handedness))
    posed = forward_kinematics(state)
    expect = local.joints_xyz_mm @ state.rotation.T + state.wrist_xyz_mm
    np.testing.assert_allclose(posed.joints_xyz_mm, expect, atol=1e-9)
    moved = translate_geometry(posed, [1.0, 2.0, 3.0])
    again = forward_kinematics(
        HandState(state.angles_deg, state.rotation, state.wrist_xyz_mm + [1.0, 2.0, 3.0], state.shape, state.handedness)
    )
    np.testing.assert_allclose(moved.cones, again.cones, atol=1e-9)


def test_rotvec_round_trip(rng: np.random.Generator) -> None:
    for _ in range(50):
        r = rng.normal(size=3)
        r *= rng.uniform(0, np.pi - 1e-3) / np.linalg.norm(r)
        m = rotvec_to_matrix(r)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(matrix_to_rotvec(m), r, atol=1e-8)
    np.testing.assert_allclose(rotvec_to_matrix([np.pi / 2, 0, 0]), rot_x(90.0), atol=1e-12)


def test_prior_samples_respect_joint_limits_and_avoid_collisions(rng: np.random.Generator) -> None:
    shape = default_shape()
    for _ in range(150):
        a = sample_pose(rng, shape)
        assert a.shape == (NUM_DOF,)
        assert np.all(a >= JOINT_LIMITS_DEG[:, 0] - 1e-9)
        assert np.all(a <= JOINT_LIMITS_DEG[:, 1] + 1e-9)
        assert not self_collision(a, shape)


def test_uniform_sampler_couples_dip_to_pip(rng: np.random.Generator) -> None:
    samples = np.array([sample_uniform(rng) for _ in range(400)])
    pip, dip = samples[:, Dof.MIDDLE_PIP], samples[:, Dof.MIDDLE_DIP]
    slope = np.polyfit(pip, dip, 1)[0]
    assert slope == pytest.approx(2 / 3, abs=0.08)


def test_templates_within_limits_and_collision_free() -> None:
    shape = default_shape()
    for name, a in TEMPLATES.items():
        np.testing.assert_allclose(clamp_to_limits(a), a, err_msg=name)
        assert not self_collision(a, shape), name


def test_self_collision_detects_crossed_fingers() -> None:
    a = np.zeros(NUM_DOF)
    a[Dof.INDEX_MCP_ABD] = -40.0  # index swung through the middle finger (beyond the limits)
    a[Dof.MIDDLE_MCP_ABD] = 10.0
    assert self_collision(a, default_shape())


def test_trajectory_is_smooth_and_within_limits() -> None:
    traj = PoseTrajectory(np.random.default_rng(3))
    frames = np.array([traj.step(1 / 30) for _ in range(150)])
    assert np.all(frames >= JOINT_LIMITS_DEG[:, 0] - 1e-9) and np.all(frames <= JOINT_LIMITS_DEG[:, 1] + 1e-9)
    assert np.abs(np.diff(frames, axis=0)).max() < 15.0  # degrees per frame at 30 fps


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="angles_deg"):
        HandState(angles_deg=np.zeros(3))
    with pytest.raises(ValueError, match="handedness"):
        HandState(handedness=Handedness.UNKNOWN)
    with pytest.raises(ValueError, match="scale_range"):
        sample_shape(np.random.default_rng(0), (1.2, 0.5))
