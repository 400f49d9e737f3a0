"""depthhand.client against the real server (uvicorn + Channels subprocess, scripted scene, true calibration)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from depthhand.client import (
    AuthenticationError,
    ConnectError,
    Event,
    Frame,
    Hello,
    HoverEvent,
    PinchEvent,
    Reconnecting,
    TouchEvent,
    connect,
    frames,
    messages,
)
from tests.serve.conftest import TOKEN, free_port, start_serve, stop

pytest.importorskip("websockets")
pytest.importorskip("channels")

REPO = Path(__file__).resolve().parents[2]
SOURCE = "scripted://demo?fps=30"


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A server on the scripted demo scene with the scene's true projector calibration."""
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import scripted_calibration

    data = tmp_path_factory.mktemp("client-calibrated")
    save_calibration(scripted_calibration(), data / "calibration.json")
    port = free_port()
    proc = start_serve(["--source", SOURCE], data, port=port)
    yield f"ws://127.0.0.1:{port}/ws/hands"
    stop(proc)


async def _collect(client, seconds: float, until=None) -> list:
    out: list = []
    t0 = time.monotonic()
    async for msg in client:
        out.append(msg)
        if time.monotonic() - t0 > seconds or (until is not None and until(out)):
            break
    return out


async def _raw(url: str, query: str = "", seconds: float = 2.0, ack: bool = False) -> list[dict]:
    """A plain websockets client (the reference): every message as JSON."""
    import websockets

    out = []
    async with websockets.connect(f"{url}?token={TOKEN}{query}", max_size=2**22) as ws:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            try:
                out.append(json.loads(await asyncio.wait_for(ws.recv(), max(0.05, seconds - time.monotonic() + t0))))
            except TimeoutError:
                break
    return out


def test_typed_frames_and_events_match_the_wire(calibrated):
    from depthhand.synth.calibration_user import scripted_calibration
    from depthhand.synth.scripted import default_scene

    async def main():
        async with connect(calibrated, TOKEN) as client:
            typed, raw = await asyncio.gather(_collect(client, 3.5), _raw(calibrated, seconds=3.5))
        return typed, raw, client

    typed, raw, client = asyncio.run(main())
    hello = typed[0]
    hellos = [m for m in typed if isinstance(m, Hello)]
    assert isinstance(hello, Hello) and client.hello is hellos[-1]
    # the camera becomes known with the first frame: a second hello says so
    assert hellos[-1].intrinsics == default_scene()[1]
    assert hello.skeleton is not None and len(hello.skeleton.joints) == 21 and hello.skeleton.index("index") == 8
    assert hello.skeleton.index("index_tip") == 8 and hello.flow.mode == "latest"
    assert hello.source is not None and hello.source.url == SOURCE
    cal = hello.calibration
    assert cal is not None and cal.can_map and cal.projector_size == (1280, 800)

    got = [m for m in typed if isinstance(m, Frame)]
    assert len(got) >= 40  # 3.5 s at 30 fps is 105
    seqs = [f.seq for f in got]
    assert all(b > a for a, b in itertools.pairwise(seqs))
    truth = scripted_calibration()
    reference = {m["seq"]: m for m in raw if m["type"] == "frame"}
    compared = 0
    for f in got:
        for hand in f.hands:
            assert hand.joints_xyz_mm.shape == (21, 3) and hand.joints_uvd.shape == (21, 3)
            assert hand.joints_projector_px is not None and hand.joints_projector_px.shape == (21, 2)
            assert not hand.joints_xyz_mm.flags.writeable
            # projector pixels: the server's equal the true calibration's mapping of the joints (0.01 mm rounding)
            np.testing.assert_allclose(hand.joints_projector_px, truth.to_projector(hand.joints_xyz_mm), atol=0.1)
            # the calibration the hello carries maps the same way
            np.testing.assert_allclose(cal.to_projector(hand.joints_xyz_mm), hand.joints_projector_px, atol=0.1)
            assert hand.handedness in ("left", "right") and set(hand.fingers) >= {"index"}
        if f.seq in reference:  # the same frame as a plain client saw it: equal values
            ref = reference[f.seq]
            assert [h["track_id"] for h in ref["hands"]] == [h.track_id for h in f.hands]
            for h_ref, hand in zip(ref["hands"], f.hands, strict=True):
                np.testing.assert_array_equal(hand.joints_xyz_mm, np.array(h_ref["joints_xyz_mm"]))
                np.testing.assert_array_equal(hand.joints_projector_px, np.array(h_ref["joints_projector_px"]))
                assert hand.fingers["index"].state == h_ref["fingers"]["index"]["state"]
            assert f.frame_index == ref["frame_index"] and f.timestamp_us == ref["timestamp_us"]
            compared += 1
    assert compared >= 20

    events = [m for m in typed if isinstance(m, Event)]
    raw_events = [m for m in raw if m["type"].startswith(("touch_", "hover_", "pinch_"))]
    assert raw_events and events  # the demo taps every 1.6 s and pinches every 3 s
    classes = {"touch": TouchEvent, "hover": HoverEvent, "pinch": PinchEvent}
    for e in events:
        assert type(e) is classes[e.kind] and e.type == f"{e.kind}_{e.phase}"
        assert len(e.xyz_mm) == 3
    by_id = {m["event_id"]: m for m in raw_events}
    common = [e for e in events if e.event_id in by_id]
    assert common
    for e in common:
        ref = by_id[e.event_id]
        assert (e.type, e.track_id, e.finger, e.contact_id) == (
            ref["type"],
            ref["track_id"],
            ref["finger"],
            ref["contact_id"],
        )
        assert e.projector_px == (None if ref["projector_px"] is None else tuple(ref["projector_px"]))
    assert client.stats.frames == len(got) and client.stats.bad_messages == 0


def test_ack_mode_keeps_frames_flowing_beyond_the_window(calibrated):
    async def main():
        stalled = await _raw(calibrated, "&flow=ack", seconds=1.5)  # a client that never acks
        async with connect(calibrated, TOKEN, flow="ack") as client:
            typed = await _collect(client, 2.5)
        return stalled, typed, client

    stalled, typed, client = asyncio.run(main())
    hello = next(m for m in stalled if m["type"] == "hello")
    window = hello["flow"]["window"]
    assert sum(m["type"] == "frame" for m in stalled) == window  # it stalls after the window
    assert isinstance(typed[0], Hello) and typed[0].flow.mode == "ack" and typed[0].flow.window == window
    got = [m.seq for m in typed if isinstance(m, Frame)]
    assert len(got) >= 4 * window and got == sorted(got)
    assert client.stats.acks_sent >= len(got) // typed[0].flow.ack_every - 1


def test_a_slow_application_gets_the_newest_frame_not_a_backlog(calibrated):
    async def main():
        taken = []
        async with connect(calibrated, TOKEN) as client:
            async for msg in client:
                if isinstance(msg, Frame):
                    taken.append((msg.seq, client.stats.last_seq))
                    if len(taken) == 6:
                        break
                    await asyncio.sleep(0.3)  # ≈ 9 frames arrive meanwhile
        return taken, client

    taken, client = asyncio.run(main())
    # after each pause the frame taken is the newest one received, not the next of a backlog
    assert all(seq == newest for seq, newest in taken[1:]), taken
    assert np.diff([seq for seq, _ in taken[1:]]).min() >= 2
    assert client.stats.frames_dropped >= 5


def test_sync_iterator(calibrated):
    got = []
    for frame in frames(calibrated, TOKEN):
        got.append(frame)
        if len(got) == 5:
            break
    assert all(isinstance(f, Frame) for f in got) and [f.seq for f in got] == sorted(f.seq for f in got)
    # leaving the loop closed the connection and stopped the client's thread
    assert not [t for t in threading.enumerate() if t.name == "depthhand-client-loop"]
    with messages(calibrated, TOKEN, flow="ack") as sync:
        first = next(sync)
        assert isinstance(first, Hello) and first.flow.mode == "ack" and sync.client.hello is first


def test_bad_token_and_bad_urls_fail_at_once(calibrated):
    async def first(url: str, token: str = TOKEN, **kw):
        async def go():
            async for msg in connect(url, token, **kw):
                return msg

        return await asyncio.wait_for(go(), 10)  # a retry loop would time out here

    t0 = time.monotonic()
    with pytest.raises(AuthenticationError, match="token is wrong"):
        asyncio.run(first(calibrated, "wrong-token-000000000000"))
    assert time.monotonic() - t0 < 5  # no reconnect loop
    with pytest.raises(ConnectError, match=r"cannot connect to ws://127\.0\.0\.1"):
        asyncio.run(first(f"ws://127.0.0.1:{free_port()}/ws/hands"))
    for url in ("ftp://127.0.0.1/ws/hands", "ws://", "127.0.0.1:8000", "ws://127.0.0.1:99999/ws/hands"):
        with pytest.raises(ValueError, match="server URL"):
            connect(url, TOKEN)
    with pytest.raises(ValueError, match="flow must be one of"):
        connect(calibrated, TOKEN, flow="none")
    with pytest.raises(ValueError, match="token"):
        connect(calibrated, "")
    # http:// and a bare host:port work (the path defaults to /ws/hands)
    assert isinstance(asyncio.run(first(calibrated.replace("ws://", "http://").removesuffix("/ws/hands"))), Hello)


def test_example_prints_the_index_tip_in_projector_pixels(calibrated):
    from depthhand.synth.calibration_user import scripted_calibration

    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "print_index_tip.py"), "--url", calibrated, "--count", "10"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "DEPTHHAND_TOKEN": TOKEN},
    )
    assert out.returncode == 0, out.stderr
    lines = [ln.split() for ln in out.stdout.splitlines() if ln.startswith("seq ")]
    assert len(lines) >= 10
    truth = scripted_calibration()
    for parts in lines:
        px = np.array([float(v) for v in parts[parts.index("index_tip_px") + 1].split(",")])
        xyz = np.array([float(v) for v in parts[parts.index("xyz_mm") + 1].split(",")])
        np.testing.assert_allclose(px, truth.to_projector(xyz), atol=0.1)
    bad = subprocess.run(
        [sys.executable, str(REPO / "examples" / "print_index_tip.py"), "--url", calibrated, "--token", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "token is wrong" in bad.stderr and "Traceback" not in bad.stderr


def test_reconnects_after_the_server_restarts_on_the_same_port(tmp_path):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws/hands"
    proc = start_serve(["--source", SOURCE], tmp_path, port=port)
    box = {"proc": proc}

    async def main():
        seen: list = []
        restarted = asyncio.Event()

        async def restart():
            while sum(isinstance(m, Frame) for m in seen) < 10:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(stop, box["proc"])
            box["proc"] = await asyncio.to_thread(start_serve, ["--source", SOURCE], tmp_path, port)
            restarted.set()

        async with connect(url, TOKEN) as client:
            task = asyncio.create_task(restart())
            t0 = time.monotonic()
            notice_at = None
            async for msg in client:
                seen.append(msg)
                if isinstance(msg, Reconnecting) and notice_at is None:
                    notice_at = len(seen)
                after = 0 if notice_at is None else sum(isinstance(m, Frame) for m in seen[notice_at:])
                if (restarted.is_set() and after >= 10) or time.monotonic() - t0 > 30:
                    break
            await task
        return seen, client

    try:
        seen, client = asyncio.run(main())
    finally:
        stop(box["proc"])
    kinds = [type(m).__name__ for m in seen]
    first_notice = kinds.index("Reconnecting")
    assert kinds[0] == "Hello" and kinds[first_notice + 1 :].count("Hello") >= 1
    resumed = kinds.index("Hello", first_notice)
    assert all(k == "Reconnecting" for k in kinds[first_notice:resumed])  # notices until the new hello
    notices = [m for m in seen if isinstance(m, Reconnecting)]
    assert [n.attempt for n in notices] == list(range(1, len(notices) + 1))
    assert all(0 < n.delay_s <= 6.0 for n in notices)
    new = [m.seq for m in seen[resumed:] if isinstance(m, Frame)]
    assert len(new) >= 10 and new == sorted(new)
    assert "connection closed" in notices[0].reason or "Error" in notices[0].reason
    assert client.stats.connects == 2
