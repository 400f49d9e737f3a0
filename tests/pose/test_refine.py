"""Model-based refinement (depthhand.pose.refine): fits on rendered hands with known truth."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS
from depthhand.skeleton import CANONICAL21, NYU14
from depthhand.structures import DepthFrame, Handedness, HandPose
from depthhand.synth.hand_model import JOINT_LIMITS_DEG, NUM_DOF, Dof, default_shape, finger_dofs, scale_shape
from depthhand.synth.kinematics import PART_ARM, HandState, forward_kinematics, rot_x, rot_z
from depthhand.synth.pose_prior import TEMPLATES
from depthhand.synth.raycast import Primitives, plane_row, render_depth

pytest.importorskip("numba")

from depthhand.pose import refine_kernels as rk
from depthhand.pose import refine_model as rm
from depthhand.pose import refine_start as rst
from depthhand.pose.refine import (
    HandRefiner,
    RefinementUnavailable,
    ShapeEstimate,
    build_refiner,
    refinement_unavailable,
)
from depthhand.pose.refine_options import RefineOptions, RefineWeights

K = INTRINSICS["sr305"]


def hand_state(template: str, hand: Handedness, scale: float = 1.0, roll: float = 0.0) -> HandState:
    """A hand facing the camera with its back (fingers up in the image), 500 mm away."""
    angles = TEMPLATES[template].copy()
    angles[[Dof.WRIST_FLEX, Dof.WRIST_DEV]] = 0.0
    # hand frame → camera: fingers (+y) up in the image (−y camera), back of the hand (+z) towards the camera (−z)
    rot = rot_z(roll) @ np.diag([1.0, -1.0, -1.0]) @ rot_x(15.0)
    return HandState(angles, rot, np.array([10.0, 60.0, 500.0]), scale_shape(default_shape(), scale), hand)


def render(state: HandState, background_mm: float = 900.0) -> DepthFrame:
    """The hand, its forearm and a wall ``background_mm`` away, noise-free."""
    geo = forward_kinematics(state)
    prims = Primitives(
        cones=geo.cones,
        cone_tags=np.ones(len(geo.cones), np.int32),
        planes=plane_row([0.0, 0.0, -1.0], [0.0, 0.0, background_mm])[None],
        plane_tags=np.zeros(1, np.int32),
    )
    depth, _ = render_depth(prims, K)
    return DepthFrame(depth, K)


def truth_joints(state: HandState) -> np.ndarray:
    return forward_kinematics(state).joints_xyz_mm


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=1).mean())


@pytest.fixture(scope="module")
def refiner() -> HandRefiner:
    return HandRefiner()


def test_kernel_model_is_the_generators_hand() -> None:
    """The kernels' nodes and cones equal ``forward_kinematics`` (without the forearm) for both hands."""
    rng = np.random.default_rng(3)
    shape = default_shape()
    packed, radii = rm.pack_shape(shape), rm.cone_radii(shape)
    for hand, mirror in ((Handedness.LEFT, 1.0), (Handedness.RIGHT, -1.0)):
        angles = np.clip(rng.uniform(-30, 90, NUM_DOF), JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1])
        angles[:2] = 0.0
        rot, t = rot_z(rng.uniform(-180, 180)) @ rot_x(rng.uniform(-90, 90)), rng.normal(0, 50, 3) + [0, 0, 600]
        state = HandState(angles, rot, t, shape, hand)
        geo = forward_kinematics(state)
        nodes, dnodes = np.empty((rk.NN, 3)), np.empty((rk.NA, rk.NN, 3))
        rk.pose_nodes(packed, rot, t, 1.0, mirror, angles, nodes, dnodes)
        np.testing.assert_allclose(nodes[:21], geo.joints_xyz_mm, atol=1e-9)
        cones = np.concatenate([nodes[rm.CONE_NODES[:, 0]], radii[:, :1], nodes[rm.CONE_NODES[:, 1]], radii[:, 1:]], 1)
        np.testing.assert_allclose(cones, geo.cones[geo.cone_parts != PART_ARM], atol=1e-9)
        # the articulation Jacobian against central differences of the numpy kinematics
        for k in (0, 1, 3, 5, 9, 19):
            step = np.zeros(NUM_DOF)
            step[2 + k] = 0.01
            hi = forward_kinematics(HandState(angles + step, rot, t, shape, hand)).joints_xyz_mm
            lo = forward_kinematics(HandState(angles - step, rot, t, shape, hand)).joints_xyz_mm
            np.testing.assert_allclose(dnodes[k, :21], (hi - lo) / 0.02, atol=1e-3)


def test_start_recovers_finger_angles_from_exact_joints() -> None:
    """The closed-form start gives the generator's finger angles back from its own joints."""
    state = hand_state("claw", Handedness.RIGHT)
    template = rm.Template.from_shape(state.shape)
    j = truth_joints(state)
    rot, _, angles, rms = rk_initial(j, template, -1.0)
    assert rms < 1e-6
    np.testing.assert_allclose(rot, state.rotation, atol=1e-9)
    for f in range(4):
        idx = list(finger_dofs(f))
        np.testing.assert_allclose(angles[idx], state.angles_deg[idx], atol=1e-6)


def rk_initial(j: np.ndarray, template: rm.Template, mirror: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rot, t, angles = np.empty((3, 3)), np.empty(3), np.empty(NUM_DOF)
    mu, _ = rm.articulation_prior()
    limits = np.ascontiguousarray(JOINT_LIMITS_DEG[2:])
    rms = rst.initial_pose(j, np.ones(21), template.rest, template.packed, 1.0, mirror, mu[:4], limits, rot, t, angles)
    return rot, t, angles, rms


@pytest.mark.parametrize(("template", "hand"), [("relaxed", Handedness.RIGHT), ("v", Handedness.LEFT),
                                                ("power_sphere", Handedness.RIGHT)])  # fmt: skip
def test_refinement_corrects_noisy_joints(refiner: HandRefiner, template: str, hand: Handedness) -> None:
    """From the truth + N(0, 10 mm) per coordinate (≈ 14.5 mm per joint), the fit lands within about a third."""
    state = hand_state(template, hand)
    frame, truth = render(state), truth_joints(state)
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(3):
        noisy = truth + rng.normal(0.0, 10.0, truth.shape)
        result = refiner.fit(frame, noisy, hand)
        assert result.used and result.points > 100
        errors.append((mean_error(noisy, truth), mean_error(result.joints_xyz_mm, truth)))
    before, after = np.mean(errors, axis=0)
    assert after < 0.35 * before, errors


def test_good_start_stays_good(refiner: HandRefiner) -> None:
    """From the exact joints, the fit stays within a couple of millimetres of them."""
    for template, hand in (("fist", Handedness.RIGHT), ("spread", Handedness.LEFT), ("pinch", Handedness.RIGHT)):
        state = hand_state(template, hand, roll=20.0)
        frame, truth = render(state), truth_joints(state)
        result = refiner.fit(frame, truth, hand)
        assert mean_error(result.joints_xyz_mm, truth) < 2.0, template
        assert result.residual_mm < 1.0, template


def test_free_space_pushes_a_finger_off_the_background() -> None:
    """A straight index finger where the sensor sees the wall (the true one is half curled) is moved off the wall."""
    state = hand_state("fist", Handedness.RIGHT)
    index_dofs = list(finger_dofs(0))
    angles = state.angles_deg.copy()
    angles[index_dofs] = (45.0, 0.0, 45.0, 30.0)  # half curled
    state = HandState(angles, state.rotation, state.wrist_xyz_mm, state.shape, Handedness.RIGHT)
    frame, truth = render(state), truth_joints(state)
    angles[index_dofs] = (20.0, 0.0, 10.0, 5.0)  # nearly straight: over the wall
    start = truth_joints(HandState(angles, state.rotation, state.wrist_xyz_mm, state.shape, Handedness.RIGHT))
    index = [6, 7, 8]
    results = {}
    for free in (0.0, RefineWeights().free):
        fitter = HandRefiner(RefineOptions(weights=RefineWeights(free=free)))
        results[free] = fitter.fit(frame, start, Handedness.RIGHT)
    off, on = results[0.0], results[RefineWeights().free]
    err_off = mean_error(off.joints_xyz_mm[index], truth[index])
    err_on = mean_error(on.joints_xyz_mm[index], truth[index])
    assert err_on < 0.7 * err_off, (err_on, err_off)
    assert on.free_violations < off.free_violations


def test_joint_limits_hold(refiner: HandRefiner) -> None:
    """Joints that ask for impossible angles (fingers bent backwards) give angles within the limits."""
    state = hand_state("flat", Handedness.LEFT)
    frame = render(state)
    angles = state.angles_deg.copy()
    for f in range(4):
        mcp, _, pip, dip = finger_dofs(f)
        angles[[mcp, pip, dip]] = (-60.0, -40.0, -40.0)  # far past the extension limits
    rot, t = state.rotation, state.wrist_xyz_mm
    bad = forward_kinematics(HandState(angles, rot, t, state.shape, state.handedness)).joints_xyz_mm
    result = refiner.fit(frame, bad, Handedness.LEFT)
    lo, hi = JOINT_LIMITS_DEG[2:, 0], JOINT_LIMITS_DEG[2:, 1]
    assert np.all(result.angles_deg[2:] >= lo - 1e-9) and np.all(result.angles_deg[2:] <= hi + 1e-9)
    assert np.any(np.isclose(result.angles_deg[2:], lo))  # it pressed against them


def test_fit_is_deterministic(refiner: HandRefiner) -> None:
    state = hand_state("relaxed", Handedness.RIGHT)
    frame = render(state)
    start = truth_joints(state) + np.random.default_rng(5).normal(0, 8, (21, 3))
    a = refiner.fit(frame, start, Handedness.RIGHT)
    b = HandRefiner().fit(frame, start, Handedness.RIGHT)
    np.testing.assert_array_equal(a.joints_xyz_mm, b.joints_xyz_mm)
    assert a.residual_mm == b.residual_mm


def test_scale_is_learned_per_track() -> None:
    """A small hand tracked over frames: the track's scale settles near the truth; another track starts afresh."""
    state = hand_state("spread", Handedness.RIGHT, scale=0.85)
    frame, truth = render(state), truth_joints(state)
    refiner = HandRefiner()
    rng = np.random.default_rng(2)
    joint_set = CANONICAL21
    for _ in range(6):
        noisy = (truth + rng.normal(0, 4, truth.shape)).astype(np.float32)
        pose = HandPose(noisy, noisy, joint_set, handedness=Handedness.RIGHT)
        out = refiner.refine(frame, [pose], tracks=[(7, truth.mean(axis=0))])
        assert len(out) == 1 and refiner.last_results[0] is not None
    track = refiner.tracks[7]
    assert track.shape.frames >= 5
    assert abs(track.shape.scale - 0.85) < 0.04, track.shape
    refiner.refine(frame, [pose], tracks=[(8, truth.mean(axis=0))])
    assert set(refiner.tracks) == {8} and refiner.tracks[8].shape.frames == 1


def test_shape_estimate_weights_frames() -> None:
    est = ShapeEstimate()
    est.update(0.9, 1.0)
    est.update(1.1, 3.0)
    assert est.scale == pytest.approx(1.05) and est.information == 4.0 and est.frames == 2
    est.update(float("nan"), 1.0)
    est.update(2.0, 0.0)
    assert est.frames == 2


def test_refine_passes_other_skeletons_through(refiner: HandRefiner) -> None:
    frame = render(hand_state("flat", Handedness.RIGHT))
    pose = HandPose(np.zeros((14, 3), np.float32), np.zeros((14, 3), np.float32), NYU14)
    assert refiner.refine(frame, [pose]) == [pose]


def test_without_numba_refinement_is_off_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    why = refinement_unavailable()
    assert "numba" in why and "depthhand[refine]" in why
    with pytest.raises(RefinementUnavailable, match="numba"):
        HandRefiner()
    with pytest.warns(RuntimeWarning, match="needs numba.*running without refinement"):
        assert build_refiner(True, CANONICAL21) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build_refiner(False, CANONICAL21) is None  # not asked for: silent


def test_other_skeleton_models_run_without_refinement() -> None:
    with pytest.warns(RuntimeWarning, match="canonical21"):
        assert build_refiner(True, NYU14) is None
    assert isinstance(build_refiner(True, CANONICAL21), HandRefiner)


def test_command_line_switch() -> None:
    import argparse

    from depthhand.commands._pipeline_args import add_pipeline_arguments, pipeline_options
    from depthhand.pipeline import DEFAULT_REFINE

    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    assert pipeline_options(parser.parse_args([])).refine is DEFAULT_REFINE
    assert pipeline_options(parser.parse_args(["--no-refine"])).refine is False
    assert pipeline_options(parser.parse_args(["--refine"])).refine is True


def test_pipeline_refines_each_hand_with_a_timing() -> None:
    """``PipelineOptions(refine=True)``: the tracked hands carry the fitted joints; ``refine`` is timed."""
    from depthhand.pipeline import HandPipeline, PipelineOptions

    state = hand_state("spread", Handedness.RIGHT)
    frame = render(state)
    with HandPipeline(PipelineOptions(refine=True, mode="image")) as pipe:
        assert pipe.refiner is not None
        result = pipe.process(frame)
        assert result.error == "" and "refine" in result.timings_ms and result.timings_ms["refine"] >= 0
        assert len(result.hands) >= 1 and len(pipe.refiner.last_results) == len(result.hands)
        fit = pipe.refiner.last_results[0]
        assert fit is not None and fit.used
        np.testing.assert_allclose(result.hands[0].pose.joints_xyz_mm, fit.joints_xyz_mm, atol=1e-3)
    with HandPipeline(PipelineOptions(refine=False)) as pipe:
        assert pipe.refiner is None and "refine" not in pipe.process(frame).timings_ms
