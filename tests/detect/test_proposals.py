from __future__ import annotations

import numpy as np
import pytest

from depthhand.detect.proposals import (
    Proposal,
    ProposalConfig,
    arm_end_proposals,
    combine,
    flat_surface,
    segment_blobs,
)
from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import HandBox, Handedness
from depthhand.synth.raycast import Primitives, render_depth

K = INTRINSICS["astra"]


def _box(xyz: tuple[float, float, float], score: float, half_px: float = 30.0) -> HandBox:
    x, y, z = xyz
    u, v = K.fx * x / z + K.cx, K.fy * y / z + K.cy
    return HandBox(np.array([u, v, z], np.float32), np.array(xyz, np.float32),
                   np.array([u - half_px, v - half_px, u + half_px, v + half_px], np.float32), score,
                   Handedness.UNKNOWN)  # fmt: skip


def _capsule_scene(tip_centre: np.ndarray, radius: float = 40.0, wall_mm: float | None = 1800.0) -> np.ndarray:
    base = np.array([tip_centre[0] - 60.0, 400.0, tip_centre[2] + 40.0])  # below the image: enters at the bottom
    prims = Primitives(cones=np.array([[*base, radius, *tip_centre, radius]]), cone_tags=np.array([1], np.int32))
    if wall_mm is not None:
        prims = prims + Primitives(planes=np.array([[0.0, 0.0, -1.0, -wall_mm]]), plane_tags=np.array([3], np.int32))
    depth, _ = render_depth(prims, K)
    return depth


@pytest.mark.parametrize("tip", [(30.0, -60.0, 650.0), (-120.0, 10.0, 500.0)])
def test_arm_end_proposal_finds_the_tip_of_an_analytic_arm(tip: tuple[float, float, float]) -> None:
    c = np.array(tip)
    depth = _capsule_scene(c)
    props, labels = arm_end_proposals(depth, K, ProposalConfig(max_hand_cm2=2000.0, max_extent_mm=400.0))
    assert len(props) == 1 and props[0].kind == "arm_end" and labels.max() >= 2  # the capsule and the wall
    base = np.array([c[0] - 60.0, 400.0, c[2] + 40.0])
    axis = (c - base) / np.linalg.norm(c - base)
    apex = c + 40.0 * axis  # the capsule's far end along its axis
    tip_est = props[0].tip_xyz_mm
    assert tip_est is not None
    assert np.linalg.norm((tip_est - apex)[:2]) < 6.0  # in the image plane
    assert abs(float(tip_est[2]) - apex[2]) < 15.0  # the visible cap surface lies in front of the apex
    # the proposal's hand centre lies on the arm, behind the tip
    assert 20.0 < np.dot(apex - props[0].center_xyz_mm, axis) < 150.0


def test_segment_blobs_cuts_at_depth_jumps() -> None:
    z = np.full((40, 60), 1500.0, np.float32)
    z[10:30, 10:30] = 700.0  # a near square in front of a wall
    z[10:30, 40:50] = 1510.0  # a shallow bump on the wall: the same blob
    labels, n = segment_blobs(z, 25.0, 0.04)
    assert n == 3  # background label 0, the square, the wall (with its bump)
    assert len(np.unique(labels[10:30, 10:30])) == 1 and labels[15, 15] != labels[15, 45] == labels[2, 2]


def test_combine_raises_supported_and_lowers_flat_and_entry_candidates() -> None:
    cfg = ProposalConfig(boost=0.5, support_sigma_mm=30.0, flat_factor=0.5, entry_factor=0.3, entry_mm=120.0)
    hand = _box((0.0, 0.0, 600.0), 0.4)
    other = _box((200.0, 0.0, 600.0), 0.45)
    prop = Proposal(np.array([5.0, 0.0, 600.0]), np.zeros(4, np.float32), "arm_end", 7)
    out = combine([hand, other], [prop], [False, False], cfg)
    support = np.exp(-0.5 * (5.0 / 30.0) ** 2)
    assert out[0].center_xyz_mm[0] == 0.0 and out[0].score == pytest.approx(0.4 + 0.6 * 0.5 * support)
    assert out[1].score == pytest.approx(0.45 + 0.55 * 0.5 * np.exp(-0.5 * (195.0 / 30.0) ** 2))
    # flat: halved; on the same blob as a far arm end (an elbow): × 0.3; no proposals: unchanged
    flat = combine([hand], [], [True], cfg)
    assert flat[0].score == pytest.approx(0.2)
    entry = combine([other], [prop], [False], cfg, blobs=[7])
    assert entry[0].score == pytest.approx(0.3 * (0.45 + 0.55 * 0.5 * np.exp(-0.5 * (195.0 / 30.0) ** 2)))
    assert combine([other], [prop], [False], cfg, blobs=[8])[0].score > 0.45  # another blob: no penalty
    assert len(combine([hand, other, hand], [], [False] * 3, cfg, max_hands=2)) == 2
    with pytest.raises(ValueError, match="flatness flags"):
        combine([hand], [], [], cfg)


def test_flat_surface_tells_a_wall_from_a_hand_before_it() -> None:
    cfg = ProposalConfig()
    wall = np.full((K.height, K.width), 600.0, np.float32)
    cand = _box((0.0, 0.0, 600.0), 0.5)
    assert flat_surface(wall, K, cand, cfg)
    scene = Primitives(spheres=np.array([[0.0, 0.0, 560.0, 45.0]]), sphere_tags=np.array([1], np.int32))
    scene = scene + Primitives(planes=np.array([[0.0, 0.0, -1.0, -640.0]]), plane_tags=np.array([3], np.int32))
    depth, _ = render_depth(scene, K)
    assert not flat_surface(depth, K, _box((0.0, 0.0, 530.0), 0.5), cfg)


def test_geo_detector_in_the_pipeline() -> None:
    from depthhand.pipeline import PipelineOptions, build_detector
    from depthhand.structures import DepthFrame
    from depthhand.synth.scenes import render_scene, sample_scene

    det = build_detector(PipelineOptions(detector="geo"))
    rng = np.random.default_rng(3)
    s = render_scene(sample_scene("frontal", rng, n_hands=1), rng)
    boxes = det.detect(DepthFrame(s.depth_mm, s.intrinsics))
    assert len(boxes) <= 2 and all(0.0 <= b.score <= 1.0 for b in boxes)
    assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True)
    with pytest.raises(TypeError):
        det.detect(s.depth_mm)  # type: ignore[arg-type]
