from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.detect.background import BackgroundDetector, BackgroundDetectorConfig, BackgroundModel
from depthhand.detect.base import HandDetector
from depthhand.detect.classical import ClassicalDetector, ClassicalDetectorConfig
from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import CameraIntrinsics, DepthFrame
from depthhand.synth.toyscene import ToyArm, toy_frame

K = INTRINSICS["astra"]
THREE_ON_TABLE = [
    ToyArm((0, 300), (200, 260)),
    ToyArm((640, 100), (430, 180), hand_height_mm=100),
    ToyArm((300, 480), (330, 330), hand_height_mm=40),
]
RAISED = [
    ToyArm((0, 300), (220, 250), hand_height_mm=350, arm_height_mm=300),
    ToyArm((640, 120), (430, 200), hand_height_mm=320, arm_height_mm=280),
]


def _match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each true centre, distance (mm) to the nearest detection."""
    return np.linalg.norm(truth[:, None, :] - found[None, :, :], axis=-1).min(axis=1)


@pytest.fixture(scope="module")
def model() -> BackgroundModel:
    return BackgroundModel.learn([toy_frame([], K, i, seed=i)[0] for i in range(8)])


def test_both_detectors_satisfy_the_protocol(model: BackgroundModel) -> None:
    assert isinstance(ClassicalDetector(), HandDetector)
    assert isinstance(BackgroundDetector(model), HandDetector)


def test_background_detector_finds_hands_lying_on_the_table(model: BackgroundModel) -> None:
    det = BackgroundDetector(model)
    for seed in range(3):
        frame, truth = toy_frame(THREE_ON_TABLE, K, 1, seed=100 + seed)
        hands = det.detect(frame)
        assert len(hands) == 3
        found = np.array([h.center_xyz_mm for h in hands], np.float64)
        assert _match(found, truth).max() < 15.0  # hand centres, not arms (an arm is > 100 mm away)
        for h in hands:
            x0, y0, x1, y1 = h.box_xyxy
            assert x0 <= h.center_uvd[0] <= x1 and y0 <= h.center_uvd[1] <= y1


def test_background_detector_on_empty_and_bad_frames(model: BackgroundModel) -> None:
    det = BackgroundDetector(model)
    assert det.detect(toy_frame([], K, 0, seed=55)[0]) == []
    assert det.detect(DepthFrame(np.zeros((480, 640), np.float32), K)) == []
    nan = np.full((480, 640), np.nan, np.float32)
    assert det.detect(DepthFrame(nan, K)) == []
    with pytest.raises(ValueError, match="background model is"):
        det.detect(DepthFrame(np.zeros((240, 320), np.float32), INTRINSICS["icvl"]))
    with pytest.raises(TypeError, match="DepthFrame"):
        det.detect(np.zeros((480, 640), np.float32))  # type: ignore[arg-type]


def test_background_model_threshold_and_unknown_pixels() -> None:
    frames = [toy_frame([], K, i, seed=i, noise_mm=3.0)[0] for i in range(9)]
    m = BackgroundModel.learn(frames)
    sigma = np.nanmedian(m.sigma_mm)
    assert 2.4 < sigma < 3.6  # robust σ of N(0, 3 mm) noise from 9 samples
    # pixels invalid in every learning frame are unknown; a valid pixel there later is foreground
    holes = [DepthFrame(np.where(np.arange(640) < 40, 0, f.depth_mm).astype(np.float32), K) for f in frames]
    m2 = BackgroundModel.learn(holes)
    assert np.isnan(m2.depth_mm[:, :40]).all() and np.isfinite(m2.depth_mm[:, 100]).all()
    frame = toy_frame([], K, 0, seed=77)[0]
    _, fg = BackgroundDetector(m2).foreground(frame)
    assert fg[:, : 40 // 4].mean() > 0.9 and fg[:, 100 // 4 :].mean() < 0.01
    _, fg = BackgroundDetector(m2, BackgroundDetectorConfig(unknown_is_foreground=False)).foreground(frame)
    assert fg.mean() < 0.01


def test_background_model_save_load(tmp_path: Path, model: BackgroundModel) -> None:
    path = model.save(tmp_path / "bg.npz")
    back = BackgroundModel.load(path)
    np.testing.assert_array_equal(back.depth_mm, model.depth_mm)
    np.testing.assert_array_equal(back.sigma_mm, model.sigma_mm)
    assert back.intrinsics == model.intrinsics and back.frames == model.frames
    with pytest.raises(FileNotFoundError):
        BackgroundModel.load(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a depthhand background model"):
        BackgroundModel.load(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="at least 3"):
        BackgroundModel.learn([toy_frame([], K)[0]])


def test_classical_detector_finds_raised_hands_not_arms() -> None:
    det = ClassicalDetector()
    for seed in range(3):
        frame, truth = toy_frame(RAISED, K, 0, seed=seed)
        hands = det.detect(frame)
        assert len(hands) == 2
        found = np.array([h.center_xyz_mm for h in hands], np.float64)
        assert _match(found, truth).max() < 20.0
    one = ClassicalDetector(ClassicalDetectorConfig(max_hands=1)).detect(toy_frame(RAISED, K, 0)[0])
    assert len(one) == 1
    nearest = np.argmin(toy_frame(RAISED, K, 0)[1][:, 2])
    assert np.linalg.norm(one[0].center_xyz_mm - toy_frame(RAISED, K, 0)[1][nearest]) < 20.0  # nearest first


@pytest.mark.parametrize(
    "depth",
    [
        np.zeros((480, 640), np.float32),  # all invalid
        np.full((480, 640), np.nan, np.float32),  # NaNs
        np.full((480, 640), np.inf, np.float32),
        np.full((480, 640), 5e7, np.float32),  # absurd depths
        np.full((480, 640), -300.0, np.float32),
        np.full((480, 640), 800.0, np.float32),  # a flat wall: no hand
    ],
)
def test_classical_detector_bad_frames_give_no_hand(depth: np.ndarray) -> None:
    assert ClassicalDetector().detect(DepthFrame(depth, K)) == []


def test_classical_detector_survives_nan_sprinkled_hands() -> None:
    frame, truth = toy_frame(RAISED, K, 0, seed=3)
    depth = frame.depth_mm.copy()
    rng = np.random.default_rng(0)
    depth[rng.random(depth.shape) < 0.05] = np.nan
    depth[rng.random(depth.shape) < 0.01] = 1e9
    hands = ClassicalDetector().detect(DepthFrame(depth, K))
    assert len(hands) == 2
    assert _match(np.array([h.center_xyz_mm for h in hands], np.float64), truth).max() < 20.0
    assert all(np.all(np.isfinite(h.center_xyz_mm)) for h in hands)


def test_classical_detector_input_validation() -> None:
    with pytest.raises(TypeError, match="DepthFrame"):
        ClassicalDetector().detect(np.zeros((480, 640), np.uint16))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_hands"):
        ClassicalDetectorConfig(max_hands=5)
    with pytest.raises(ValueError, match="near_mm < far_mm"):
        ClassicalDetectorConfig(near_mm=900, far_mm=100)
    with pytest.raises(ValueError, match="min_area_cm2"):
        ClassicalDetectorConfig(min_area_cm2=500)
    with pytest.raises(ValueError, match="float32"):
        DepthFrame(np.zeros((480, 640), np.uint16), K)  # wrong dtype is refused before a detector sees it


def test_small_images_and_steps() -> None:
    k = CameraIntrinsics(240.0, 240.0, 159.5, 119.5, 320, 240)
    arms = [ToyArm((0, 150), (110, 125), hand_height_mm=350, arm_height_mm=300)]
    frame, truth = toy_frame(arms, k, 0, seed=1)
    for step in (1, 2, 4):
        hands = ClassicalDetector(ClassicalDetectorConfig(step=step)).detect(frame)
        assert len(hands) == 1, step
        assert np.linalg.norm(hands[0].center_xyz_mm - truth[0]) < 20.0, step


def test_background_from_a_plane_finds_hands() -> None:
    from depthhand.geometry.plane import Plane

    plane = Plane.from_point_normal([0.0, 0.0, 900.0], [0.0, 0.0, -1.0])
    det = BackgroundDetector(BackgroundModel.from_plane(plane, K, sigma_mm=1.0))
    assert np.allclose(det.model.depth_mm, 900.0)
    frame, truth = toy_frame(THREE_ON_TABLE, K, 0, seed=4, tilt_mm_per_px=0.0)
    hands = det.detect(frame)
    assert len(hands) == 3
    assert _match(np.array([h.center_xyz_mm for h in hands], np.float64), truth).max() < 15.0


def test_high_percentile_learns_the_table_behind_a_lingering_hand() -> None:
    arm = [ToyArm((0, 240), (320, 240))]
    # the hand is present in 60 % of the learning frames: the median learns the hand, the 90th percentile the table
    frames = [toy_frame(arm if i % 5 < 3 else [], K, i, seed=i)[0] for i in range(20)]
    hand_px = (240, 320)
    median = BackgroundModel.learn(frames)
    p90 = BackgroundModel.learn(frames, percentile=90.0)
    assert median.depth_mm[hand_px] < 900.0 + 0.05 * 240 - 40.0  # the hand (60 mm above the table)
    assert abs(p90.depth_mm[hand_px] - (900.0 + 0.05 * 240)) < 5.0  # the table
    frame, truth = toy_frame(arm, K, 99, seed=99)
    assert BackgroundDetector(median).detect(frame) == []  # the hand became background
    (hand,) = BackgroundDetector(p90).detect(frame)
    assert np.linalg.norm(hand.center_xyz_mm - truth[0]) < 15.0
    with pytest.raises(ValueError, match="percentile"):
        BackgroundModel.learn(frames, percentile=120.0)


def test_nan_percentile_matches_numpy() -> None:
    from depthhand.detect.background import nan_percentile

    rng = np.random.default_rng(0)
    stack = rng.normal(800, 20, (7, 9, 11)).astype(np.float32)
    stack[rng.random(stack.shape) < 0.3] = np.nan
    stack[:, 0, 0] = np.nan
    for q in (0.0, 10.0, 50.0, 90.0, 100.0):
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            ref = np.nanpercentile(stack.astype(np.float64), q, axis=0)
        np.testing.assert_allclose(nan_percentile(stack, q), ref, rtol=1e-6, equal_nan=True)


def test_background_arm_ending_inside_the_image_enters_at_its_raised_end(model: BackgroundModel) -> None:
    # the arm does not reach the border (cut off by the view cone in real set-ups): the raised end is the shoulder
    arm = [ToyArm((60, 240), (420, 250), hand_height_mm=40, arm_height_mm=150)]
    frame, truth = toy_frame(arm, K, 0, seed=8)
    (hand,) = BackgroundDetector(model).detect(frame)
    assert np.linalg.norm(hand.center_xyz_mm - truth[0]) < 20.0


def test_com_helpers_against_brute_force() -> None:
    from depthhand.detect.com import (
        blob_points,
        center_of_mass,
        distance_to_set,
        extremity_mask,
        far_axis_end,
        refine_in_cube,
    )

    rng = np.random.default_rng(0)
    pts = rng.normal(0, 50, (500, 3))
    anchors = rng.normal(0, 50, (30, 3))
    brute = np.sqrt(((pts[:, None] - anchors[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(distance_to_set(pts, anchors), brute, atol=0.01)
    # a rod along x from x=0 (entry) to x=400 mm: the hand part is the last 180 mm
    rod = np.stack([np.linspace(0, 400, 401), np.zeros(401), np.full(401, 600.0)], axis=1)
    keep, reach = extremity_mask(rod, rod[:, 0] < 1, 180.0, reach_percentile=100.0)
    assert reach == pytest.approx(400.0) and keep.sum() == 181 and rod[keep, 0].min() == pytest.approx(220.0)
    entry = far_axis_end(rod + [[0, 0, 1]] * rod[:, :1] * 0.1)  # the x=400 end is deeper
    assert rod[entry, 0].min() >= 360.0
    assert far_axis_end(rod, key=-rod[:, 0])[0]  # a key makes the x=0 end the entry
    # cube refinement walks from a rough start to the cluster's centre and ignores a far cluster
    cluster = np.concatenate([rng.normal([0, 0, 600], 20, (300, 3)), rng.normal([400, 0, 600], 20, (300, 3))])
    c = refine_in_cube(cluster, np.array([60.0, 30.0, 620.0]), cube_mm=250.0, iterations=5)
    np.testing.assert_allclose(c, cluster[:300].mean(0), atol=1.0)
    assert center_of_mass(np.zeros((0, 3))) is None
    np.testing.assert_allclose(center_of_mass(cluster[:2], np.array([1.0, 3.0])), (cluster[0] + 3 * cluster[1]) / 4)
    depth = np.zeros((4, 5), np.float32)
    depth[1, 2] = 800.0
    bp = blob_points(depth, depth > 0, K, step=4, offset=(10, 20))
    from depthhand.geometry.camera import uvd_to_xyz

    np.testing.assert_allclose(bp.xyz_mm[0], uvd_to_xyz([10 + 2 * 4, 20 + 1 * 4, 800.0], K))
    assert bp.area_mm2[0] == pytest.approx((800.0 * 4) ** 2 / (K.fx * K.fy))
