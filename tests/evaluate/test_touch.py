"""Touch evaluation (:mod:`depthhand.evaluate.touch`): scripted truth, the synthetic live source, the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.evaluate.touch import evaluate_touch
from depthhand.geometry.plane import signed_height
from depthhand.interact.touch import TouchSettings
from depthhand.synth.scripted import default_scene, hover_script, scripted_frames, tap_script


def test_evaluate_touch_noise_free_is_perfect():
    plane, k = default_scene()
    rep = evaluate_touch(scripted_frames(tap_script(), plane, k, duration_s=20.0), plane)
    assert rep.true_contacts >= 10
    assert rep.precision == 1.0 and rep.recall == 1.0 and rep.false_touches == 0
    assert rep.position_error_mm["max"] < 1e-3


def test_evaluate_touch_with_noise_and_hover_false_touch_rate():
    plane, k = default_scene()
    pose = TouchSettings(rule="pose")  # the figures below are the pose rule's thresholds (10 / 18 mm)
    rep = evaluate_touch(scripted_frames(tap_script(), plane, k, duration_s=20.0, noise_mm=3.0, seed=1), plane, pose)
    assert rep.recall == 1.0 and rep.precision >= 0.9
    assert 0.3 < rep.position_error_mm["mean"] < 5.0  # ≈ σ/3 across the ray plus the tilt of the table
    hover = evaluate_touch(
        scripted_frames(hover_script(), plane, k, duration_s=20.0, noise_mm=3.0, seed=2), plane, pose
    )
    assert hover.true_contacts == 0 and hover.false_touches_per_min == 0.0
    # the evaluator does count false touches: a hover dipping to 6 mm is a false touch every period
    low = evaluate_touch(scripted_frames(hover_script(min_tip_mm=6.0), plane, k, duration_s=10.0), plane, pose)
    assert low.false_touches == 5 and low.precision == 0.0
    assert low.false_touches_per_min == pytest.approx(30.0)


def test_evaluate_on_the_synthetic_live_source():
    live_mod = pytest.importorskip("depthhand.synth.live")
    from depthhand.evaluate.touch import truth_frames_from_synthetic
    from depthhand.geometry.plane import Plane

    live = live_mod.SyntheticLive(seed=1)
    frames = list(truth_frames_from_synthetic(iter(live), 40))
    assert len(frames) == 40 and frames[0].depth_mm is not None
    tp = live.rig.plane
    plane = Plane(np.asarray(tp[:3], float), -float(tp[3]))
    # the adapter's plane convention matches: true touch points lie on the table
    for tf in frames:
        for xyz in tf.touches.values():
            assert abs(signed_height(np.asarray(xyz), plane)) < 1e-6
    rep = evaluate_touch(frames, plane)
    assert rep.frames == 40 and 0.0 <= rep.precision <= 1.0


def test_pipeline_adapter_relabels_found_hands_with_their_true_ids():
    """End-to-end touch scoring: pipeline hands take the id of the nearest true hand; false hands get ids ≥ 10,000."""
    live_mod = pytest.importorskip("depthhand.synth.live")
    from depthhand.evaluate.touch import truth_frames_from_pipeline
    from depthhand.pipeline import HandPipeline

    live = live_mod.SyntheticLive(seed=1)
    pairs = [p for _, p in zip(range(30), live, strict=False)]
    with HandPipeline() as pipe:
        frames = list(truth_frames_from_pipeline(pairs, 30, pipe))
    assert len(frames) == 30
    matched = 0
    for tf, (_, truth) in zip(frames, pairs, strict=True):
        ids = [h.track_id for h in tf.result.hands]
        assert len(ids) == len(set(ids))
        for hand in tf.result.hands:
            if hand.track_id < 10_000:
                assert hand.track_id in truth.track_ids
                k = truth.track_ids.index(hand.track_id)
                err = np.linalg.norm(hand.pose.joints_xyz_mm - truth.joints_xyz_mm[k], axis=-1).mean()
                assert err < 40.0  # the same hand, not a swap (pose error here is ~8-14 mm)
                matched += 1
    assert matched >= 0.8 * sum(len(t.track_ids) for _, t in pairs)


def _stress_offset(condition: str, noise: str | None, height_mm: float, seed: int) -> np.ndarray:
    """The pose error model's (21, 3) offset of one rendered stress sequence (jitter off), mm."""
    pytest.importorskip("numba")
    from depthhand.evaluate.touch import truth_frames_from_stress
    from depthhand.synth.touch_scenes import stress_sequence

    stress = list(stress_sequence(condition, seed, noise, height_mm, duration_s=2 / 30, warmup_s=0.0))
    frames = list(truth_frames_from_stress(stress, bias_mm=4.0, jitter_mm=0.0, seed=seed))
    offsets = [
        tf.result.hands[0].pose.joints_xyz_mm - sf.joints_xyz_mm[1] for tf, sf in zip(frames, stress, strict=True)
    ]
    np.testing.assert_allclose(offsets[0], offsets[1], atol=1e-3)  # one offset per sequence
    return offsets[0]


def test_stress_pose_offset_is_drawn_per_sequence():
    """Sequences of one seed get their own offset; the same sequence twice gets the same one."""
    a = _stress_offset("tap80_low", "tof", 800.0, seed=0)
    np.testing.assert_array_equal(a, _stress_offset("tap80_low", "tof", 800.0, seed=0))
    for other in (("hover", "tof", 800.0), ("tap80_low", "active_stereo", 800.0), ("tap80_low", "tof", 1200.0)):
        b = _stress_offset(*other, seed=0)
        assert np.abs(a - b).max() > 1.0, other  # independent draws of σ 4 mm differ by far more than float error
    assert 2.0 < float(np.std(a)) < 6.0  # σ 4 mm kept
