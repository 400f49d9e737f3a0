from __future__ import annotations

import json

import numpy as np
import pytest

from depthhand.geometry.plane import fit_plane_from_depth, signed_height
from depthhand.interact.engine import Interaction
from depthhand.interact.evaluate import evaluate_touch
from depthhand.interact.schema import depth_message, frame_message, hello_message
from depthhand.interact.scripted import default_scene, demo_script, hover_script, scripted_frames, tap_script
from depthhand.interact.touch import EventType
from depthhand.skeleton import CANONICAL21, Finger


def test_scripted_geometry_is_consistent():
    plane, k = default_scene()
    for tf in scripted_frames(tap_script(), plane, k, duration_s=2.0):
        for (hand_id, finger), xyz in tf.touches.items():
            tip = tf.true_joints_xyz_mm[hand_id][CANONICAL21.tip(finger)]
            assert signed_height(tip, plane) <= 1.0 + 1e-9
            assert abs(signed_height(np.asarray(xyz), plane)) < 1e-9


def test_evaluate_touch_noise_free_is_perfect():
    plane, k = default_scene()
    rep = evaluate_touch(scripted_frames(tap_script(), plane, k, duration_s=20.0), plane)
    assert rep.true_contacts >= 10
    assert rep.precision == 1.0 and rep.recall == 1.0 and rep.false_touches == 0
    assert rep.position_error_mm["max"] < 1e-3


def test_evaluate_touch_with_noise_and_hover_false_touch_rate():
    plane, k = default_scene()
    rep = evaluate_touch(scripted_frames(tap_script(), plane, k, duration_s=20.0, noise_mm=3.0, seed=1), plane)
    assert rep.recall == 1.0 and rep.precision >= 0.9
    assert 0.3 < rep.position_error_mm["mean"] < 5.0  # ≈ σ/3 across the ray plus the tilt of the table
    hover = evaluate_touch(scripted_frames(hover_script(), plane, k, duration_s=20.0, noise_mm=3.0, seed=2), plane)
    assert hover.true_contacts == 0 and hover.false_touches_per_min == 0.0
    # the evaluator does count false touches: a hover dipping to 6 mm is a false touch every period
    low = evaluate_touch(scripted_frames(hover_script(min_tip_mm=6.0), plane, k, duration_s=10.0), plane)
    assert low.false_touches == 5 and low.precision == 0.0
    assert low.false_touches_per_min == pytest.approx(30.0)


def test_engine_events_pinch_and_messages_from_rendered_plane():
    plane_true, k = default_scene()
    frames = list(scripted_frames(demo_script(), plane_true, k, duration_s=4.0, render=True))
    fit = fit_plane_from_depth([f.depth_mm for f in frames[:10]], k)
    engine = Interaction(plane=fit.plane)
    types = []
    for tf in frames:
        out = engine.process(tf.result)
        types += [e.type for e in out.events]
    assert EventType.TOUCH_DOWN in types and EventType.TOUCH_UP in types
    assert EventType.PINCH_START in types and EventType.PINCH_END in types
    msg = frame_message(frames[-1].result, out, seq=5, t_send_us=123)
    text = json.dumps(msg)
    assert msg["hands"][0]["fingers"]["index"]["state"] in {"none", "hover", "touch"}
    assert len(msg["hands"][0]["joints_xyz_mm"]) == 21 and msg["t_send_us"] == 123 and len(text) < 6000
    hello = hello_message(CANONICAL21, k, None, 30.0, "scripted", 3)
    assert hello["skeleton"]["joints"][8] == "index_tip" and hello["skeleton"]["tips"]["index"] == 8
    dm = depth_message(frames[0].depth_mm, 1, 0)
    assert dm["png_b64"].startswith("iVBOR")  # PNG magic
    assert Finger.INDEX in {f.finger for f in out.hands[1].fingers}


def test_evaluate_on_the_synthetic_live_source():
    live_mod = pytest.importorskip("depthhand.synth.live")
    from depthhand.geometry.plane import Plane
    from depthhand.interact.evaluate import truth_frames_from_synthetic

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
    from depthhand.interact.evaluate import truth_frames_from_pipeline
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
