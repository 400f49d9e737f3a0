"""The interaction engine on scripted frames: scripted geometry, touch / pinch events, wire messages."""

from __future__ import annotations

import json

import numpy as np

from depthhand.geometry.plane import fit_plane_from_depth, signed_height
from depthhand.interact.engine import Interaction
from depthhand.interact.schema import depth_message, flow_block, frame_message, hello_message
from depthhand.interact.touch import EventType
from depthhand.skeleton import CANONICAL21, Finger
from depthhand.synth.scripted import default_scene, demo_script, scripted_frames, tap_script


def test_scripted_geometry_is_consistent():
    plane, k = default_scene()
    for tf in scripted_frames(tap_script(), plane, k, duration_s=2.0):
        for (hand_id, finger), xyz in tf.touches.items():
            tip = tf.true_joints_xyz_mm[hand_id][CANONICAL21.tip(finger)]
            assert signed_height(tip, plane) <= 1.0 + 1e-9
            assert abs(signed_height(np.asarray(xyz), plane)) < 1e-9


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
    hello = hello_message(CANONICAL21, k, None, 30.0, "scripted")
    assert hello["skeleton"]["joints"][8] == "index_tip" and hello["skeleton"]["tips"]["index"] == 8
    assert "flow" not in hello  # each connection adds its own (flow_block)
    assert flow_block(True, 3) == {"mode": "ack", "ack": True, "window": 3, "ack_every": 2}
    assert flow_block(False, 1) == {"mode": "latest", "ack": False, "window": 1, "ack_every": 1}
    dm = depth_message(frames[0].depth_mm, 1, 0)
    assert dm["png_b64"].startswith("iVBOR")  # PNG magic
    assert Finger.INDEX in {f.finger for f in out.hands[1].fingers}
