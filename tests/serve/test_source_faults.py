"""Source faults reach ``/api/status`` and the clients: the real server over a folder that breaks while it runs and
over a recording with a corrupt chunk, and the real publisher over a sensor that is unplugged and plugged back in."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.capture.live import Backoff
from depthhand.capture.recording import RecordingWriter
from depthhand.capture.stream import FrameStream
from depthhand.pipeline import LiveFrame
from depthhand.serve.pipeline import PipelineHandle
from depthhand.serve.publisher import FPS_WINDOW_S, Publisher
from depthhand.structures import CameraIntrinsics, DepthFrame, FrameResult
from tests.capture.test_recording import _chunk_offsets
from tests.capture.test_stream_faults import Camera, FakeSensor
from tests.capture.test_stream_faults import K as SENSOR_K

from .conftest import TOKEN, free_port, start_serve, stop
from .test_processes import http_json
from .test_ws_rest import communicator, reset_layer

K = CameraIntrinsics(60.0, 60.0, 31.5, 23.5, 64, 48)
SPEC = "intrinsics=60,60,31.5,23.5,64,48&scale=0.125"


def depth_raw(i: int) -> np.ndarray:
    """A tilted table at 600-710 mm (raw units of 0.125 mm), a little different in every frame."""
    rows = np.linspace(4800, 5600, K.height, dtype=np.float64)[:, None]
    return np.repeat(rows + 8 * i, K.width, axis=1).astype(np.uint16)


async def recv_json(ws, timeout: float = 10.0) -> dict:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def poll_status(port: int, done, timeout: float = 30.0) -> dict:
    t0 = time.monotonic()
    while True:
        status = await asyncio.to_thread(http_json, port, "/api/status")
        if done(status):
            return status
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"status never matched: {status}")
        await asyncio.sleep(0.05)


def test_a_folder_that_breaks_while_served_shows_in_status_and_hello(tmp_path: Path) -> None:
    websockets = pytest.importorskip("websockets")
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    paths = []
    for i in range(90):
        paths.append(frames_dir / f"{i:03d}.png")
        cv2.imwrite(str(paths[-1]), depth_raw(i))
    url = f"folder:{frames_dir}?{SPEC}&fps=20&realtime=1"
    port = free_port()
    proc = start_serve(["--source", url, "--detector", "classical"], tmp_path / "data", port=port)
    ws_url = f"ws://127.0.0.1:{port}/ws/hands?token={TOKEN}"
    try:

        async def main() -> tuple[dict, dict, list[dict], float]:
            async with websockets.connect(ws_url) as ws:
                hello = await recv_json(ws)
                if hello.get("waiting"):  # connected before the pipeline started: its hello comes next
                    hello = await recv_json(ws)
                assert hello["type"] == "hello" and hello["source"]["url"] == url
                assert hello["source"]["kind"] == "file" and not hello["source"]["ended"]
                running = await poll_status(port, lambda s: s["source"]["frames"] >= 3)
                assert running["source"]["state"] == "running" and running["source"]["errors"] == 0
                for p in paths[50:60]:  # ≥ 2 s of frames ahead of the reader (a loaded machine): deleted ...
                    p.unlink()
                for p in paths[60:65]:  # ... and overwritten with garbage
                    p.write_bytes(b"\x89PNG\r\n\x1a\n not really")
                flowing = await poll_status(port, lambda s: s["fps"] > 5 or s["source"]["ended"])
                told = []
                while True:  # a connected client is told when the source ends
                    msg = await recv_json(ws, 20.0)
                    if msg["type"] == "source":
                        told.append(msg["source"])
                        if msg["source"]["ended"]:
                            break
                t_end = time.monotonic()
            ended = await poll_status(port, lambda s: s["source"]["ended"] and s["ended"])
            # fps is the frames of the last FPS_WINDOW_S against now: it falls to 0 once nothing comes
            idle = await poll_status(port, lambda s: s["fps"] == 0.0, timeout=FPS_WINDOW_S + 3)
            assert time.monotonic() - t_end < FPS_WINDOW_S + 2
            assert idle["source"]["state"] == "ended"
            async with websockets.connect(ws_url) as late:  # a new client: hello says it ended, then silence
                late_hello = await recv_json(late)
                with pytest.raises(TimeoutError):
                    await recv_json(late, 1.0)
            return ended, late_hello, told, flowing["fps"]

        ended, late_hello, told, fps = asyncio.run(main())
    finally:
        stop(proc)
    src = ended["source"]
    assert src["state"] == "ended" and src["frames"] == 75 and ended["frames"] == 75
    assert src["skipped"] == 15 and src["errors"] == 15
    assert str(paths[64]) in src["last_error"] and "corrupt" in src["last_error"]
    assert ended["errors"] == 0  # the frames that came were processed without error
    assert told[-1]["state"] == "ended" and told[-1]["last_error"] == src["last_error"]
    assert late_hello["type"] == "hello" and late_hello["source"]["state"] == "ended" and late_hello["source"]["ended"]
    assert 5 < fps < 40  # paced at 20 fps


def test_a_recording_with_a_corrupt_chunk_is_served_past_it(tmp_path: Path) -> None:
    path = tmp_path / "take.dhrec"
    with RecordingWriter(path, K, chunk_frames=10) as rec:
        for i in range(100):
            rec.write(DepthFrame.from_raw(depth_raw(i), K, timestamp_us=i * 33_333, source_id="t", index=i))
    offsets = _chunk_offsets(path)
    assert len(offsets) == 10
    data = bytearray(path.read_bytes())
    middle = (offsets[4] + offsets[5]) // 2  # inside chunk 4's payload (frames 40..49)
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))
    port = free_port()
    proc = start_serve(["--source", f"rec:{path}", "--detector", "classical"], tmp_path / "data", port=port)
    try:
        status = asyncio.run(poll_status(port, lambda s: s["ended"], timeout=60))
    finally:
        stop(proc)
    src = status["source"]
    # serve skips a corrupt chunk by default: the 50 intact frames after it are served, the skip is counted
    assert src["state"] == "ended" and src["frames"] == 90 and status["frames"] == 90
    assert src["corrupt_chunks"] == 1 and src["skipped"] == 10 and src["errors"] == 1
    assert src["bytes_skipped"] == offsets[5] - offsets[4]
    assert f"corrupt chunk at byte {offsets[4]}: CRC mismatch" in src["last_error"]


def test_an_unplugged_sensor_is_reconnecting_in_status_and_clients_hear_of_it(serve_runtime) -> None:
    reset_layer()
    camera = Camera()
    backoff = Backoff(initial_s=0.01, max_s=0.3)
    stream = FrameStream("fake://cam", opener=lambda url: FakeSensor(camera, url), backoff=backoff)

    def items():
        for item in stream:
            f = item.frame
            yield LiveFrame(FrameResult(f.index, f.timestamp_us, (), {"pose": 0.1}, f.source_id, f.intrinsics), f)

    handle = PipelineHandle(
        items(), "fake://cam", intrinsics=SENSOR_K, source_status=stream.status, interrupt=stream.close
    )
    state = serve_runtime.state

    def source() -> dict:
        return state.get("status")["source"]

    async def until(predicate, timeout: float = 10.0) -> None:
        t0 = time.monotonic()
        while not predicate():
            assert time.monotonic() - t0 < timeout, state.get("status")
            await asyncio.sleep(0.02)

    async def next_source_message(comm, unlike: str = "") -> dict:
        while True:
            msg = await comm.receive_json_from(timeout=10)
            if msg["type"] == "source" and msg["source"]["state"] != unlike:
                return dict(msg["source"])

    async def main() -> list[str]:
        pub = Publisher(handle, state, serve_runtime.options.data_dir)
        pub.start(asyncio.get_running_loop())
        comm = communicator(f"token={TOKEN}")
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
        try:
            await until(lambda: source()["state"] == "running" and source()["frames"] > 5)
            camera.present = False
            heard = [await next_source_message(comm, unlike="running")]  # (starting → running came first)
            await until(lambda: source()["state"] == "reconnecting")
            assert state.get("hello")["source"]["state"] == "reconnecting"  # what a new client is told
            await until(lambda: state.get("status")["fps"] == 0.0, timeout=FPS_WINDOW_S + 2)
            camera.present = True
            while heard[-1]["state"] != "running":
                heard.append(await next_source_message(comm))
            await until(lambda: source()["reconnects"] == 1 and state.get("status")["fps"] > 10)
        finally:
            await comm.disconnect()
            pub.stop()
        return [h["state"] for h in heard]

    heard = asyncio.run(main())
    assert heard[0] == "reconnecting" and heard[-1] == "running"
    final = state.get("status")["source"]
    assert final["state"] == "stopped" and final["ended"] and "no device connected" in final["last_error"]
    reset_layer()


def test_commands_are_applied_while_the_source_sends_nothing(serve_runtime) -> None:
    """A camera that stops sending must not hold back a settings change (it used to wait for the next frame)."""
    import threading

    from depthhand.serve.commands import SetConfig, command_to_dict
    from depthhand.serve.publisher import SILENT_S

    reset_layer()
    release = threading.Event()

    def items():
        for i in range(3):
            f = DepthFrame(np.full((SENSOR_K.height, SENSOR_K.width), 900.0, np.float32), SENSOR_K, i * 33_333, "x", i)
            yield LiveFrame(FrameResult(i, f.timestamp_us, (), {"pose": 0.1}, "x", SENSOR_K), f)
        release.wait(30)  # a sensor that stopped sending

    handle = PipelineHandle(items(), "silent://cam", intrinsics=SENSOR_K, interrupt=release.set)
    state = serve_runtime.state
    pub = Publisher(handle, state, serve_runtime.options.data_dir)
    before = state.get("config")

    async def main() -> float:
        pub.start(asyncio.get_running_loop())
        try:
            t0 = time.monotonic()
            while state.get("status") is None or state.get("status")["frames"] < 3:
                assert time.monotonic() - t0 < 10
                await asyncio.sleep(0.02)
            enter = int(pub.controller.config()["touch"]["touch_debounce_frames"]) + 2
            state.push_command(command_to_dict(SetConfig({"touch_debounce_frames": enter}, {})))
            t0 = time.monotonic()
            # wait for the engine itself: the session's state store may hold this value from an earlier test
            while pub.engine.touch.touch_debounce_frames != enter:
                assert time.monotonic() - t0 < SILENT_S + 3, state.get("config")
                await asyncio.sleep(0.02)
            assert state.get("config")["touch"]["touch_debounce_frames"] == enter
            return enter
        finally:
            pub.stop()

    enter = asyncio.run(main())
    assert before is None or before["touch"]["touch_debounce_frames"] != enter
    assert pub.engine.touch.touch_debounce_frames == enter  # applied to the engine the next frame would use
    assert state.get("status")["frames"] == 3  # with no frame in between
    reset_layer()
