"""Handedness from the palm chirality: analytic hands, mirror/rigid-motion invariance, synthetic hands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from depthhand.pose.handedness import chirality_mm, handedness_from_joints
from depthhand.skeleton import Canonical21 as C
from depthhand.skeleton import joint_mapping
from depthhand.structures import Handedness


def anatomical_right_hand() -> np.ndarray:
    """A right hand written down joint by joint: palm towards the camera (−z), fingers up (−y), thumb at +x.

    The thumb is opposed, i.e. its joints stand 20–40 mm off the palm on the palmar side (towards the camera).
    """
    j = np.zeros((21, 3))
    j[C.WRIST] = (0, 0, 500)
    for k, (mcp, x) in enumerate([(C.INDEX_MCP, 30), (C.MIDDLE_MCP, 10), (C.RING_MCP, -10), (C.PINKY_MCP, -30)]):
        for step in range(4):  # MCP, PIP, DIP, TIP straight up
            j[mcp + step] = (x, -90 - 30 * step + 5 * k, 500)
    j[C.THUMB_CMC] = (25, -25, 490)
    j[C.THUMB_MCP] = (45, -45, 475)
    j[C.THUMB_IP] = (55, -70, 465)
    j[C.THUMB_TIP] = (60, -90, 460)
    return j


def test_anatomical_right_hand_is_right_and_its_mirror_left() -> None:
    right = anatomical_right_hand()
    assert chirality_mm(right) > 20
    assert handedness_from_joints(right) is Handedness.RIGHT
    left = right * np.array([-1.0, 1.0, 1.0])
    assert handedness_from_joints(left) is Handedness.LEFT
    assert chirality_mm(left) == pytest.approx(-chirality_mm(right), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    quat=st.tuples(*[st.floats(-1, 1) for _ in range(4)]).filter(lambda q: sum(v * v for v in q) > 0.1),
    shift=st.tuples(*[st.floats(-300, 300) for _ in range(3)]),
    axis=st.integers(0, 2),
)
def test_rigid_motion_keeps_and_reflection_flips_the_sign(
    quat: tuple[float, float, float, float], shift: tuple[float, float, float], axis: int
) -> None:
    hand = anatomical_right_hand()
    rot = Rotation.from_quat(quat).as_matrix()
    moved = hand @ rot.T + np.asarray(shift)
    assert chirality_mm(moved) == pytest.approx(chirality_mm(hand), rel=1e-9)
    mirror = np.ones(3)
    mirror[axis] = -1.0
    assert chirality_mm(moved * mirror) == pytest.approx(-chirality_mm(hand), rel=1e-9)


def test_flat_hand_is_unknown_and_nan_is_unknown() -> None:
    flat = anatomical_right_hand()
    flat[[C.THUMB_CMC, C.THUMB_MCP, C.THUMB_IP, C.THUMB_TIP], 2] = 500.0  # thumb in the palm plane
    assert abs(chirality_mm(flat)) < 1.0
    assert handedness_from_joints(flat) is Handedness.UNKNOWN
    assert handedness_from_joints(np.full((21, 3), np.nan)) is Handedness.UNKNOWN


def test_other_joint_sets_map_through_the_canonical_hand() -> None:
    right = anatomical_right_hand()
    msra = joint_mapping("canonical21", "msra21").apply(right)
    assert chirality_mm(msra, "msra21") == pytest.approx(chirality_mm(right))
    batch = np.stack([right, right * np.array([-1.0, 1.0, 1.0])])
    np.testing.assert_allclose(np.sign(chirality_mm(batch)), [1.0, -1.0])
    nyu = joint_mapping("canonical21", "nyu14").apply(right)
    assert handedness_from_joints(nyu, "nyu14") is Handedness.UNKNOWN  # NYU-14 has no MCPs
    with pytest.raises(ValueError, match="lacks"):
        chirality_mm(nyu, "nyu14")
    with pytest.raises(ValueError, match="expected"):
        chirality_mm(np.zeros((20, 3)))


def test_synthetic_hands_of_every_scene_have_the_anatomical_chirality() -> None:
    """The synthetic generator's LEFT/RIGHT agrees with the anatomical rule on every hand it samples."""
    from depthhand.synth.scenes import SCENES, sample_scene

    checked = 0
    for family in SCENES:
        for i in range(40):
            scene = sample_scene(family, np.random.default_rng([77, i]), distractors=False)
            for state, geo in zip(scene.hands, scene.geometries, strict=True):
                assert handedness_from_joints(geo.joints_xyz_mm, margin_mm=0.0) is state.handedness
                checked += 1
    assert checked >= 120


def test_one_pose_takes_the_same_formula_as_a_batch() -> None:
    """The per-pose float path (the pipeline's) against the vectorised batch path, incl. degenerate and NaN poses."""
    rng = np.random.default_rng(3)
    poses = rng.normal(0.0, 60.0, (50, 21, 3)) + [0.0, 0.0, 600.0]
    poses[1, [0, 5, 17]] = poses[1, 0]  # wrist = index MCP = pinky MCP: no palm normal
    poses[2, 3] = np.nan  # a thumb joint unknown
    batched = chirality_mm(poses)
    single = np.array([float(chirality_mm(p)) for p in poses])
    np.testing.assert_allclose(single, batched, rtol=1e-9, atol=1e-9)
    assert single[1] == 0.0 and np.isnan(single[2])
    assert single.shape == (50,) and np.isfinite(single[3:]).all()
