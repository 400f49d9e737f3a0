"""In-process tests: real Publisher + scripted hands + Channels WebsocketCommunicator + Django test client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.interact.calibration import Calibration, save_calibration
from depthhand.pipeline import LiveFrame
from depthhand.serve.pipeline import PipelineHandle
from depthhand.serve.publisher import Publisher
from depthhand.structures import DepthFrame
from depthhand.synth.scripted import default_scene, scripted_frames, tap_script

from .conftest import TOKEN


def communicator(query: str = f"token={TOKEN}&flow=ack", headers=None):
    from channels.testing import WebsocketCommunicator

    from depthhand.serve.asgi import application

    return WebsocketCommunicator(
        application, f"/ws/hands?{query}", headers=[(b"origin", b"http://localhost:8000"), *(headers or [])]
    )


def reset_layer() -> None:
    from channels.layers import channel_layers

    channel_layers.backends.clear()


class JsonlRecorder:
    """A real recorder: writes one JSON line per start/stop call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, path):
        self.path.write_text(json.dumps({"started": path}) + "\n")
        return {"path": path}

    def stop(self):
        with self.path.open("a") as fh:
            fh.write(json.dumps({"stopped": True}) + "\n")
        return {"frames": 0}


def live_frames(truth_frames):
    """Scripted truth frames as the server's live items (the scripted poses stand in for the pipeline's)."""
    for tf in truth_frames:
        r = tf.result
        yield LiveFrame(r, DepthFrame(tf.depth_mm, r.intrinsics, r.timestamp_us, "scripted", r.frame_index), tf)


def make_publisher(rt, seconds: float = 6.0, realtime: bool = True, fps: float = 60.0, recorder=None) -> Publisher:
    plane, k = default_scene()
    frames = scripted_frames(
        tap_script(period_s=1.0), plane, k, fps=fps, duration_s=seconds, render=True, realtime=realtime
    )
    handle = PipelineHandle(
        live_frames(frames), "test-scripted", intrinsics=k, fps=fps, recorder=recorder, pose_backend="test-backend"
    )
    # a calibration with the true plane, so touches happen
    save_calibration(Calibration(plane=plane), rt.options.data_dir / "calibration.json")
    return Publisher(handle, rt.state, rt.options.data_dir, depth_every=6)


def test_ws_rejects_missing_or_wrong_token(serve_runtime):
    reset_layer()

    async def main():
        for query in ("", "token=wrong-token-000000000000"):
            comm = communicator(query)
            connected, code = await comm.connect()
            assert not connected and code == 4401
        comm = communicator("", headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
        connected, _ = await comm.connect()
        assert connected
        hello = await comm.receive_json_from()
        assert hello["type"] == "hello"
        await comm.disconnect()

    asyncio.run(main())


@pytest.mark.slow
def test_hello_frames_events_depth_and_slow_client(serve_runtime):
    reset_layer()

    async def main():
        pub = make_publisher(serve_runtime, seconds=4.0)
        pub.start(asyncio.get_running_loop())
        fast, slow = communicator(), communicator()
        assert (await fast.connect())[0] and (await slow.connect())[0]
        hello = await fast.receive_json_from(timeout=5)
        assert hello["type"] == "hello" and hello["v"] == 2 and hello["axes"] == "x_right,y_down,z_forward"
        assert hello["skeleton"]["name"] == "canonical21" and len(hello["skeleton"]["bones"]) == 20
        assert hello["sensor"]["width"] == 160 and hello["calibration"]["plane"] is not None
        await slow.receive_json_from(timeout=5)
        frames, events, depth = [], [], 0
        while len(frames) < 150:
            msg = await fast.receive_json_from(timeout=5)
            if msg["type"] == "frame":
                frames.append(msg)
                await fast.send_json_to({"type": "ack", "seq": msg["seq"]})
            elif msg["type"] == "depth":
                depth += 1
            elif msg["type"] != "hello":
                events.append(msg)
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        # an acking client gets most frames (some may be replaced when this test process lags under CPU load)
        assert len(seqs) >= (seqs[-1] - seqs[0] + 1) // 2
        f = frames[-1]
        assert len(f["hands"][0]["joints_xyz_mm"]) == 21 and f["hands"][0]["handedness"] == "right"
        assert f["timestamp_us"] <= f["t_send_us"] <= f["t_relay_us"]
        assert set(f["hands"][0]["fingers"]) == {"thumb", "index", "middle", "ring", "pinky"}
        downs = [e for e in events if e["type"] == "touch_down"]
        ups = [e for e in events if e["type"] == "touch_up"]
        assert downs and ups and downs[0]["finger"] == "index"
        assert ups[0]["contact_id"] == downs[0]["contact_id"]  # stable id from down to up
        assert depth >= 3
        # the slow client never acked: it got exactly `window` frames and then only events
        slow_frames = []
        while not await slow.receive_nothing(timeout=0.05, interval=0.01):
            msg = await slow.receive_json_from()
            if msg["type"] == "frame":
                slow_frames.append(msg["seq"])
        assert len(slow_frames) == 3
        # once it acks, it gets the newest frame, not the backlog
        await slow.send_json_to({"type": "ack", "seq": slow_frames[-1]})
        latest_fast = frames[-1]["seq"]
        msg = await slow.receive_json_from(timeout=2)
        while msg["type"] != "frame":
            msg = await slow.receive_json_from(timeout=2)
        assert msg["seq"] >= latest_fast - 3
        assert serve_runtime.clients.to_dict()["frames_replaced"] > 100
        pub.stop()
        await fast.disconnect()
        await slow.disconnect()

    try:
        asyncio.run(main())
    finally:
        reset_layer()


def test_rest_status_config_validation_auth_openapi(serve_runtime, tmp_path):
    from django.test import Client

    reset_layer()
    c = Client(HTTP_HOST="localhost")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert c.get("/admin/").status_code == 404  # admin only with serve --admin
    spec = c.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/calibration/solve" in spec["paths"]
    assert c.get("/api/status").status_code == 401  # reads need the token too (unless --public-read)
    assert c.get("/api/status", **auth).status_code == 200
    assert c.get(f"/api/status?token={TOKEN}").status_code == 200
    # writes need the token
    assert c.put("/api/config", "{}", content_type="application/json").status_code == 401
    assert (
        c.post(
            "/api/recording?token=nope-nope-nope-nope", '{"action": "start"}', content_type="application/json"
        ).status_code
        == 401
    )
    bad = [
        ({"touch": {"touch_enter_mm": "x"}}, "must be a number"),
        ({"touch": {"touch_enter_mm": 30.0}}, "touch_enter_mm < touch_exit_mm"),
        ({"touch": {"fingers": ["toe"]}}, "finger names"),
        ({"colour": 1}, "unknown field"),
        ({"touch": {"touch_debounce_frames": 0}}, "≥ 1"),
        ({"touch": {"rule": "elbow"}}, "rule"),
    ]
    for body, msg in bad:
        r = c.put("/api/config", json.dumps(body), content_type="application/json", **auth)
        assert r.status_code == 400 and msg in r.json()["error"], (body, r.json())
    r = c.put("/api/config", "{not json", content_type="application/json", **auth)
    assert r.status_code == 400
    # a valid change reaches the pipeline and the config it reports
    recorder_log = tmp_path / "rec.jsonl"

    async def run_pipeline():
        pub = make_publisher(serve_runtime, seconds=1.5, recorder=JsonlRecorder(recorder_log))
        pub.start(asyncio.get_running_loop())
        while pub.running:
            await asyncio.sleep(0.05)
        pub.stop()  # its status thread would go on taking the shared state's commands in later tests

    r = c.put(
        "/api/config",
        json.dumps({"touch": {"touch_enter_mm": 8.0, "fingers": ["index"], "rule": "pixels"}}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 202
    # what a publisher whose pipeline has a recorder advertises (no source of the real server records yet)
    serve_runtime.state.set("capabilities", {"recorder": True})
    try:
        r = c.post(f"/api/recording?token={TOKEN}", json.dumps({"action": "start", "path": "x"}), "application/json")
        assert r.status_code == 401  # writes take the token from the header only
        r = c.post("/api/recording", json.dumps({"action": "start", "path": "x"}), "application/json", **auth)
        assert r.status_code == 202
        asyncio.run(run_pipeline())
    finally:
        serve_runtime.state.set("capabilities", {})
    cfg = c.get("/api/config", **auth).json()
    assert cfg["touch"]["touch_enter_mm"] == 8.0 and cfg["touch"]["fingers"] == ["index"]
    assert cfg["touch"]["rule"] == "pixels"
    status = c.get("/api/status", **auth).json()
    assert status["frames"] > 30 and status["fps"] > 10 and status["recording"]["active"] is True
    assert json.loads(recorder_log.read_text().splitlines()[0]) == {"started": "x"}
    assert "serialize" in status["latency_ms"] and status["errors"] == 0
    assert status["pose_backend"] == "test-backend"  # the handle's, as open_pipeline names the resolved one


def test_calibration_session_flow_over_rest(serve_runtime):
    from django.test import Client

    from depthhand.geometry.plane import local_to_plane
    from depthhand.geometry.projector import apply_homography, invert_homography
    from depthhand.synth.calibration_user import true_projector_homography

    c = Client(HTTP_HOST="localhost")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    plane, _ = default_scene()
    save_calibration(Calibration(plane=plane), serve_runtime.options.data_dir / "calibration.json")
    assert c.post(
        "/api/calibration/points",
        json.dumps({"index": 0, "xyz_mm": [0, 0, 900]}),
        content_type="application/json",
        **auth,
    ).status_code in (409,)
    r = c.post(
        "/api/calibration/session", json.dumps({"width": 1280, "height": 800}), content_type="application/json", **auth
    )
    targets = np.array(r.json()["targets"])
    assert targets.shape == (9, 2)
    h_inv = invert_homography(true_projector_homography())
    for i, t in enumerate(targets):
        ab = apply_homography(h_inv, t)
        xyz = local_to_plane(np.array([ab[0], ab[1], 4.0]), plane)  # touched 4 mm above the surface
        r = c.post(
            "/api/calibration/points",
            json.dumps({"index": i, "xyz_mm": xyz.tolist()}),
            content_type="application/json",
            **auth,
        )
        assert r.status_code == 200, r.json()
    r = c.post(
        "/api/calibration/points",
        json.dumps({"index": 3, "xyz_mm": [0, 0, 1]}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 409
    r = c.post("/api/calibration/solve", "{}", content_type="application/json", **auth)
    assert r.status_code == 200
    assert r.json()["errors"]["H"]["max_px"] < 1e-3
    stored = c.get("/api/calibration", **auth).json()["calibration"]
    assert np.allclose(np.reshape(stored["H"], (3, 3)) @ np.eye(3), np.reshape(stored["H"], (3, 3)))
    assert stored["plane"] == pytest.approx(plane.to_list())


def test_browser_origin_must_be_an_allowed_host(serve_runtime):
    reset_layer()

    async def main():
        from channels.testing import WebsocketCommunicator

        from depthhand.serve.asgi import application

        evil = WebsocketCommunicator(
            application, f"/ws/hands?token={TOKEN}", headers=[(b"origin", b"http://evil.example")]
        )
        connected, _ = await evil.connect()
        assert not connected
        ok = WebsocketCommunicator(
            application, f"/ws/hands?token={TOKEN}", headers=[(b"origin", b"http://localhost:8000")]
        )
        connected, _ = await ok.connect()
        assert connected
        await ok.disconnect()

    asyncio.run(main())


def test_publisher_follows_the_pipelines_skeleton_and_survives_bad_items(serve_runtime):
    from depthhand.geometry.camera import xyz_to_uvd
    from depthhand.skeleton import NYU14, joint_mapping
    from depthhand.structures import FrameResult, HandPose, TrackedHand

    reset_layer()
    plane, k = default_scene()
    mapping = joint_mapping("canonical21", "nyu14")

    def frames():
        for i, item in enumerate(live_frames(scripted_frames(tap_script(), plane, k, duration_s=1.0, render=True))):
            if i == 3:
                yield "not a frame"  # one bad item: logged, counted, skipped
            joints = mapping.apply(item.truth.true_joints_xyz_mm[1]).astype(np.float32)
            pose = HandPose(joints, xyz_to_uvd(joints, k).astype(np.float32), NYU14)
            result = FrameResult(i, item.result.timestamp_us, (TrackedHand(1, pose),), {"pose": 1.0}, "nyu", k)
            yield LiveFrame(result, item.frame)

    async def main():
        save_calibration(Calibration(plane=plane), serve_runtime.options.data_dir / "calibration.json")
        pub = Publisher(
            PipelineHandle(frames(), "nyu-test", intrinsics=k), serve_runtime.state, serve_runtime.options.data_dir
        )
        pub.start(asyncio.get_running_loop())
        while pub.running:
            await asyncio.sleep(0.05)
        pub.stop()

    asyncio.run(main())
    hello = serve_runtime.state.get("hello")
    assert hello["skeleton"]["name"] == "nyu14" and len(hello["skeleton"]["joints"]) == 14
    status = serve_runtime.state.get("status")
    assert status["errors"] == 1 and "pipeline item must be" in status["last_error"]
    assert status["frames"] == 30 and status["ended"] is True
    reset_layer()


def test_plane_fit_on_request_recovers_the_table(serve_runtime, tmp_path):
    """``--fit-plane`` / ``request_plane_fit``: the plane comes from the next frames, hands being outliers."""
    plane, k = default_scene()
    frames = scripted_frames(tap_script(period_s=1.0), plane, k, fps=30, duration_s=1.0, render=True, realtime=False)
    handle = PipelineHandle(live_frames(frames), "test-scripted", intrinsics=k, fps=30)
    pub = Publisher(handle, serve_runtime.state, tmp_path)  # empty data dir: no calibration yet
    assert pub.engine.plane is None
    pub.request_plane_fit(5)
    for item in list(handle.frames)[:5]:
        pub.controller.observe(item.frame.depth_mm, k)
    assert pub.engine.plane is not None
    assert abs(float(pub.engine.plane.normal @ plane.normal)) > 0.9999
    assert (tmp_path / "calibration.json").is_file()


def test_a_client_connected_before_the_pipeline_started_gets_the_real_hello_next(serve_runtime):
    """The server listens before the pipeline publishes its hello: an early client gets "waiting", then the hello."""
    reset_layer()
    state = serve_runtime.state
    with state._lock:  # a server that has not published a hello yet
        state._values.pop("hello", None)

    async def main():
        comm = communicator()
        assert (await comm.connect())[0]
        first = await comm.receive_json_from(timeout=5)
        pub = make_publisher(serve_runtime, seconds=2.0)
        pub.start(asyncio.get_running_loop())
        try:
            while True:
                msg = await comm.receive_json_from(timeout=5)
                if msg["type"] == "hello":
                    return first, msg
        finally:
            await comm.disconnect()
            pub.stop()

    first, second = asyncio.run(main())
    assert first["type"] == "hello" and first.get("waiting") is True
    assert "waiting" not in second and second["skeleton"]["joints"][8] == "index_tip"
    assert second["flow"]["mode"] == "ack"
    reset_layer()
