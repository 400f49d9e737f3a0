"""The label-free real-frame checks against analytic cases and a rendered hand with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.evaluate import real_checks as rc
from depthhand.geometry.camera import INTRINSICS, depth_to_points, xyz_to_uvd
from depthhand.skeleton import CANONICAL21, Canonical21
from tests.evaluate.conftest import Scene

K = INTRINSICS["sr305"]
C = Canonical21


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_hand_mask_is_the_rendered_hand_and_not_the_wall(far_wall: Scene, near_wall: Scene) -> None:
    for scene in (far_wall, near_wall):
        m = rc.hand_mask(scene.depth, K, scene.centre_uvd, cube_mm=250.0)
        u0, v0, u1, v1 = m.window_xyxy
        body = np.zeros_like(m.mask)
        body[v0:v1, u0:u1] = np.isin(scene.part[v0:v1, u0:u1], (1, 2))  # hand + forearm inside the window
        assert not (m.mask & (scene.part == 3)).any()  # no wall pixel
        assert _iou(m.mask, body) > 0.97, _iou(m.mask, body)
        assert m.mask[m.seed_uv[1], m.seed_uv[0]] and m.pixels == int(m.mask.sum())
    # without the depth-step cut the near wall would join the hand: the cut is what separates them
    joined = rc.hand_mask(near_wall.depth, K, near_wall.centre_uvd, cube_mm=250.0, max_step_mm=1e6)
    assert (joined.mask & (near_wall.part == 3)).sum() > 1000


def test_hand_mask_degenerate_inputs_give_an_empty_mask(far_wall: Scene) -> None:
    for centre in ([np.nan, 100.0, 500.0], [320.0, 240.0, 0.0], [320.0, 240.0, 3000.0], [-2000.0, 240.0, 500.0]):
        m = rc.hand_mask(far_wall.depth, K, centre)
        assert m.pixels == 0 and tuple(m.seed_uv) == (-1, -1), centre
    assert rc.hand_mask(np.zeros_like(far_wall.depth), K, far_wall.centre_uvd).pixels == 0


def test_true_joints_are_on_the_hand_and_a_joint_moved_off_it_is_not(far_wall: Scene) -> None:
    m = rc.hand_mask(far_wall.depth, K, far_wall.centre_uvd).mask
    assert rc.joints_on_hand(far_wall.joints_uvd, m, K).all()
    moved = far_wall.joints_xyz.copy()
    moved[C.MIDDLE_TIP, 1] -= 50.0  # 50 mm beyond the fingertips, in the image plane
    moved[C.THUMB_TIP, 0] -= 50.0  # 50 mm further out on the thumb side (right hand: −x)
    on = rc.joints_on_hand(xyz_to_uvd(moved, K), m, K)
    assert not on[C.MIDDLE_TIP] and not on[C.THUMB_TIP]
    assert on.sum() == 19
    # the tolerance is metric: 5 mm at 500 mm is ~4.8 px on this camera
    edge = far_wall.joints_uvd[[C.MIDDLE_TIP]].copy()
    edge[0, 1] -= 3.0
    assert rc.joints_on_hand(edge, m, K)[0] and not rc.joints_on_hand(edge, m, K, tolerance_mm=0.0)[0]
    # not finite, behind the camera, outside the image
    bad = np.array([[np.nan, 10.0, 500.0], [300.0, 200.0, -5.0], [900.0, 200.0, 500.0]])
    assert not rc.joints_on_hand(bad, m, K).any()
    assert not rc.joints_on_hand(far_wall.joints_uvd, np.zeros_like(m), K).any()


def test_true_joints_lie_their_flesh_radius_behind_the_surface(far_wall: Scene) -> None:
    m = rc.hand_mask(far_wall.depth, K, far_wall.centre_uvd).mask
    off = rc.surface_offsets_mm(far_wall.joints_uvd, far_wall.depth, m, K)
    fingers = [C.INDEX_PIP, C.INDEX_DIP, C.MIDDLE_PIP, C.MIDDLE_DIP, C.RING_PIP, C.RING_DIP, C.PINKY_PIP]
    # a joint centre inside a finger, seen side-on, lies one radius behind the skin (perspective: within 1.5 mm)
    np.testing.assert_allclose(off[fingers], far_wall.radii[fingers], atol=1.5)
    assert np.all((off[fingers] > 5) & (off[fingers] < 15))
    # the tips are on the skin at the fingertips' end, at the depth of the tip sphere's centre: the disc around
    # them sees the sphere's front, between 0 and one tip radius nearer
    tips = [C.INDEX_TIP, C.MIDDLE_TIP, C.RING_TIP]
    assert np.all((off[tips] > 0) & (off[tips] < far_wall.radii[tips]))
    s = rc.summarise_offsets(off)
    assert s["n"] == 21 and s["front_10mm"] == 0.0 and s["behind_30mm"] == 0.0
    # a joint pulled 50 mm towards the camera is implausible; one off the hand has no surface
    uvd = far_wall.joints_uvd.copy()
    uvd[C.INDEX_PIP, 2] -= 50.0
    uvd[C.MIDDLE_TIP, :2] = [20.0, 20.0]
    off2 = rc.surface_offsets_mm(uvd, far_wall.depth, m, K)
    # (the disc is a little wider in pixels at the nearer depth: the same surface within 0.5 mm)
    assert off2[C.INDEX_PIP] == pytest.approx(off[C.INDEX_PIP] - 50.0, abs=0.5) and np.isnan(off2[C.MIDDLE_TIP])
    s2 = rc.summarise_offsets(off2)
    assert s2["n"] == 20 and s2["front_10mm"] == pytest.approx(1 / 20)


def test_summarise_offsets_counts_each_band() -> None:
    s = rc.summarise_offsets([-20.0, -10.0, 0.0, 10.0, 20.0, 31.0, np.nan])
    assert s["n"] == 6 and s["median_mm"] == pytest.approx(5.0)
    assert s["front_10mm"] == pytest.approx(1 / 6) and s["behind_30mm"] == pytest.approx(1 / 6)
    assert s["within_0_20mm"] == pytest.approx(3 / 6)
    assert rc.summarise_offsets([np.nan])["n"] == 0


def test_joint_groups_of_the_canonical_hand() -> None:
    g = rc.joint_groups(CANONICAL21)
    assert g["wrist"] == (0,) and g["tips"] == (4, 8, 12, 16, 20)
    assert g["knuckles"] == (1, 5, 9, 13, 17)
    assert sorted(g["fingers"]) == [2, 3, 6, 7, 10, 11, 14, 15, 18, 19]


def test_bone_ranges_hold_every_sampled_hand_and_reject_a_doubled_bone() -> None:
    from depthhand.synth.hand_model import JOINT_LIMITS_DEG, sample_shape
    from depthhand.synth.kinematics import HandState, forward_kinematics

    ranges = rc.human_bone_ranges_mm(CANONICAL21)
    assert ranges.shape == (len(CANONICAL21.bones), 2) and np.all(ranges[:, 0] < ranges[:, 1])
    rng = np.random.default_rng(5)
    for _ in range(30):  # random sizes of the generator, random angles within the limits
        angles = rng.uniform(JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1])
        j = forward_kinematics(HandState(angles_deg=angles, shape=sample_shape(rng))).joints_xyz_mm
        lengths = rc.bone_lengths_mm(j, CANONICAL21)
        assert np.all((lengths >= ranges[:, 0]) & (lengths <= ranges[:, 1]))
    j = forward_kinematics(HandState()).joints_xyz_mm
    j[C.INDEX_TIP] = j[C.INDEX_DIP] + 2 * (j[C.INDEX_TIP] - j[C.INDEX_DIP])  # 2x the distal bone
    lengths = rc.bone_lengths_mm(j, CANONICAL21)
    inside = (lengths >= ranges[:, 0]) & (lengths <= ranges[:, 1])
    assert list(np.flatnonzero(~inside)) == [CANONICAL21.bones.index((C.INDEX_DIP, C.INDEX_TIP))]


def test_bone_cv_is_zero_for_a_rigid_track_and_std_over_mean_otherwise() -> None:
    from depthhand.synth.kinematics import HandState, forward_kinematics

    j = forward_kinematics(HandState()).joints_xyz_mm
    rng = np.random.default_rng(0)
    track = np.stack([j + rng.normal(0, 100, 3) for _ in range(8)])  # translated only: lengths constant
    np.testing.assert_allclose(rc.bone_cv(rc.bone_lengths_mm(track, CANONICAL21)), 0.0, atol=1e-12)
    cv = rc.bone_cv(np.array([[10.0, 1.0], [20.0, np.nan], [10.0, np.nan], [20.0, np.nan]]))
    assert cv[0] == pytest.approx(5.0 / 15.0) and np.isnan(cv[1])  # population std; one finite length: NaN


def test_jitter_raw_and_without_the_palms_rigid_motion() -> None:
    from depthhand.synth.kinematics import HandState, forward_kinematics, rot_z

    j = forward_kinematics(HandState()).joints_xyz_mm
    still = np.stack([j] * 4)
    np.testing.assert_allclose(rc.joint_displacements_mm(still), 0.0, atol=1e-12)
    step = np.array([3.0, 4.0, 0.0])
    moving = np.stack([j + t * step for t in range(4)])
    np.testing.assert_allclose(rc.joint_displacements_mm(moving), 5.0)
    # rotating and translating: raw displacement is large, the articulation (palm aligned) is zero
    centre = j.mean(axis=0)
    turning = np.stack([(j - centre) @ rot_z(10.0 * t).T + centre + t * step for t in range(4)])
    assert rc.joint_displacements_mm(turning).max() > 10.0
    np.testing.assert_allclose(rc.joint_displacements_mm(turning, align=CANONICAL21.palm), 0.0, atol=1e-9)
    # a finger that moves relative to the palm keeps its displacement after the alignment
    bent = turning.copy()
    bent[2, C.INDEX_TIP] += [0.0, 0.0, 7.0]
    art = rc.joint_displacements_mm(bent, align=CANONICAL21.palm)
    assert art[1, C.INDEX_TIP] == pytest.approx(7.0) and art[2, C.INDEX_TIP] == pytest.approx(7.0)
    # a missing frame gives NaN on both sides of it
    gap = moving.copy()
    gap[2] = np.nan
    d = rc.joint_displacements_mm(gap, align=CANONICAL21.palm)
    assert np.isnan(d[1]).all() and np.isnan(d[2]).all() and np.isfinite(d[0]).all()


def test_point_segment_distances_analytic() -> None:
    d = rc.point_segment_distances_mm(
        [[5.0, 3.0, 0.0], [-4.0, 0.0, 3.0], [13.0, 4.0, 0.0]], [[0.0, 0.0, 0.0]], [[10.0, 0.0, 0.0]]
    )
    np.testing.assert_allclose(d[:, 0], [3.0, 5.0, 5.0])  # beside, behind the start, beyond the end


def test_capsule_residual_is_zero_on_the_capsule_surface() -> None:
    from depthhand.skeleton import JointSet

    two = JointSet("canonical21", Canonical21, ((0, 1),), (0,), (1,), ())
    joints = np.zeros((21, 3))
    joints[1] = [0.0, 0.0, 40.0]
    phi, z = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, 40, 9))
    ring = np.stack([6 * np.cos(phi).ravel(), 6 * np.sin(phi).ravel(), z.ravel()], axis=-1)
    np.testing.assert_allclose(rc.capsule_residuals_mm(ring, joints, two, [6.0]), 0.0, atol=1e-9)
    np.testing.assert_allclose(rc.capsule_residuals_mm(ring * [2, 2, 1], joints, two, [6.0]), 6.0, atol=1e-9)
    np.testing.assert_allclose(rc.capsule_residuals_mm(ring * [0.5, 0.5, 1], joints, two, [6.0]), 3.0, atol=1e-9)


def test_capsule_residual_of_the_true_skeleton_is_small_and_grows_when_it_moves(far_wall: Scene) -> None:
    m = rc.hand_mask(far_wall.depth, K, far_wall.centre_uvd).mask
    pts = depth_to_points(np.where(m, far_wall.depth, 0), K)
    side = rc.hand_side_points(pts, far_wall.joints_xyz, CANONICAL21)
    assert 0.3 < side.mean() < 0.9  # the forearm below the wrist is left out
    hand = pts[side]
    truth = rc.capsule_residuals_mm(hand, far_wall.joints_xyz, CANONICAL21)
    shifted = rc.capsule_residuals_mm(hand, far_wall.joints_xyz + [15.0, 0.0, 0.0], CANONICAL21)
    assert np.median(truth) < 2.0 and truth.mean() < 2.0, (np.median(truth), truth.mean())  # palm: no capsule
    # moved by 15 mm sideways (points then fall to the neighbouring finger's capsule) or 15 mm deeper
    assert shifted.mean() > 3 * truth.mean()
    deeper = rc.capsule_residuals_mm(hand, far_wall.joints_xyz + [0.0, 0.0, 15.0], CANONICAL21)
    assert deeper.mean() > 5 * truth.mean()
    radii = rc.bone_radii_mm(CANONICAL21)
    assert radii.shape == (20,) and np.all((radii > 4) & (radii < 20))
