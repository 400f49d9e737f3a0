"""Every message the real server sends validates against the JSON Schema it publishes at ``/api/schema/ws.json``.

Real servers (``depthhand serve`` subprocesses) on ``scripted://demo`` with the scripted installation's projector
calibration (touch, hover and pinch events, projector coordinates), on ``synthetic://topdown`` without a calibration
(the pose network, projector keys ``null``) and on a short folder that ends (the ``source`` message); plain and
``?flow=ack`` clients, a ``ping``, a refused ``?flow=``. Each message is checked by the ``jsonschema`` library
against the served document and by the pydantic models (:func:`depthhand.serve.wire.validate_message`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from .conftest import TOKEN, free_port, start_serve, stop

jsonschema = pytest.importorskip("jsonschema")
websockets = pytest.importorskip("websockets")


def _get(port: int, path: str, token: bool = True) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _collect(port: int, seconds: float) -> list[str]:
    """Raw texts from a plain client, an acking client (with a ping) and a refused ``?flow=``."""
    url = f"ws://127.0.0.1:{port}/ws/hands?token={TOKEN}"
    texts: list[str] = []

    async def client(query: str, ack: bool) -> None:
        async with websockets.connect(url + query, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                try:
                    text = await asyncio.wait_for(ws.recv(), 2.0)
                except TimeoutError:
                    continue  # an ended source sends nothing more
                texts.append(text)
                if ack and text.startswith('{"type":"frame"'):
                    await ws.send(json.dumps({"type": "ack", "seq": json.loads(text)["seq"]}))

    async def refused() -> None:
        async with websockets.connect(url + "&flow=bogus") as ws:
            texts.append(await asyncio.wait_for(ws.recv(), 10))

    await asyncio.gather(client("", False), client("&flow=ack", True), refused())
    return texts


def _serve_and_collect(source: str, data_dir: Path, seconds: float) -> tuple[dict[str, Any], list[str]]:
    port = free_port()
    proc = start_serve(["--source", source], data_dir, port=port)
    try:
        status, refused = _get(port, "/api/schema/ws.json", token=False)
        assert status == 401 and "missing or wrong token" in refused["error"]
        status, schema = _get(port, "/api/schema/ws.json")
        assert status == 200
        t0 = time.monotonic()  # the pipeline may take seconds to start (the pose network's first frames)
        while not _get(port, "/api/status")[1].get("frames") and time.monotonic() < t0 + 60:
            time.sleep(0.1)
        return schema, asyncio.run(_collect(port, seconds))
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The served schema and the messages (as sent) of the three servers."""
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import scripted_calibration

    demo_dir = tmp_path_factory.mktemp("wire-demo")
    save_calibration(scripted_calibration(), demo_dir / "calibration.json")  # projector keys get values
    folder = tmp_path_factory.mktemp("wire-folder")
    for i in range(40):  # 2 s at 20 fps: it ends while the clients listen
        rows = np.linspace(4800, 5600, 48, dtype=np.float64)[:, None] + 8 * i
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.repeat(rows, 64, axis=1).astype(np.uint16))
    folder_url = f"folder:{folder}?intrinsics=60,60,31.5,23.5,64,48&scale=0.125&fps=20&realtime=1"
    runs = {
        "demo": ("scripted://demo?fps=30", demo_dir, 4.0),
        "topdown": ("synthetic://topdown", tmp_path_factory.mktemp("wire-topdown"), 2.5),
        "folder": (folder_url, tmp_path_factory.mktemp("wire-folder-data"), 3.5),
    }
    schema: dict[str, Any] = {}
    texts: dict[str, list[str]] = {}
    for name, (source, data_dir, seconds) in runs.items():
        schema, texts[name] = _serve_and_collect(source, data_dir, seconds)
    return schema, texts


def _problems(validator: Any, message: dict[str, Any]) -> list[str]:
    """Why ``message`` fails the whole schema, told by the ``$defs`` entry of its type (``oneOf`` alone says less)."""
    if validator.is_valid(message):
        return []
    defs = validator.schema["$defs"]
    kind = str(message.get("type", "")).capitalize() if isinstance(message, dict) else ""
    name = "HelloWaiting" if kind == "Hello" and "waiting" in message else kind if kind in defs else "Event"
    branch = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})
    told = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300] for e in branch.iter_errors(message)]
    return told or ["fails the oneOf of the whole schema"]


@pytest.mark.slow
def test_every_message_the_server_sends_validates_against_the_published_schema(served) -> None:
    from depthhand.serve.wire import validate_message

    schema, texts = served
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    messages = {run: [json.loads(t) for t in ts] for run, ts in texts.items()}
    for run, msgs in messages.items():
        for msg in msgs:
            assert not _problems(validator, msg), (run, msg["type"], _problems(validator, msg), str(msg)[:500])
    for ts in texts.values():
        for text in ts:
            validate_message(text)  # the pydantic models take every message as sent (raises naming the key)
    demo = messages["demo"]
    kinds = {m["type"] for m in demo}
    # what the demo exercised: every message kind the server writes but ``source``, and all event families
    assert {"hello", "frame", "depth", "pong", "error", "touch_down", "touch_up", "hover_enter", "pinch_start"} <= kinds
    assert {h["flow"]["mode"] for h in demo if h["type"] == "hello"} == {"latest", "ack"}
    demo_hands = [h for m in demo if m["type"] == "frame" for h in m["hands"]]
    assert demo_hands and all(h["joints_projector_px"] is not None and "pinch" in h for h in demo_hands)
    touches = [m for m in demo if m["type"] == "touch_down"]
    assert touches and all(t["projector_px"] is not None for t in touches)
    topdown_frames = [m for m in messages["topdown"] if m["type"] == "frame"]
    assert len(topdown_frames) > 10 and any(f["hands"] for f in topdown_frames)
    hello = next(m for m in messages["topdown"] if m["type"] == "hello")
    assert hello["calibration"] is None or hello["calibration"]["H"] is None
    ended = [m for m in messages["folder"] if m["type"] == "source"]
    assert ended and ended[-1]["source"]["ended"] is True


@pytest.mark.slow
def test_the_schema_refuses_a_broken_message(served) -> None:
    """A renamed, mistyped, extra, missing or null key in a real message fails validation (the check can fail)."""
    schema, texts = served
    messages = {run: [json.loads(t) for t in ts] for run, ts in texts.items()}
    validator = jsonschema.Draft202012Validator(schema)
    frame = next(m for m in messages["demo"] if m["type"] == "frame" and m["hands"])
    event = next(m for m in messages["demo"] if m["type"] == "touch_down")
    hello = next(m for m in messages["demo"] if m["type"] == "hello")

    def broken(msg: dict[str, Any], change) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        change(out)
        return out

    cases = {
        "renamed joints": broken(frame, lambda m: m["hands"][0].update(joints_mm=m["hands"][0].pop("joints_xyz_mm"))),
        "seq as a string": broken(frame, lambda m: m.update(seq=str(m["seq"]))),
        "an extra key": broken(frame, lambda m: m.update(colour="red")),
        "no relay time": broken(frame, lambda m: m.pop("t_relay_us")),
        "a joint of 2 numbers": broken(frame, lambda m: m["hands"][0]["joints_xyz_mm"].__setitem__(0, [1.0, 2.0])),
        "null fingers": broken(frame, lambda m: m["hands"][0].update(fingers=None)),
        "an unknown finger": broken(event, lambda m: m.update(finger="toe")),
        "an unknown event": broken(event, lambda m: m.update(type="touch_sideways")),
        "schema version 1": broken(hello, lambda m: m.update(v=1)),
    }
    for name, msg in cases.items():
        assert _problems(validator, msg), f"{name} validated"
    from pydantic import ValidationError

    from depthhand.serve.wire import validate_message

    for name, msg in cases.items():
        with pytest.raises(ValidationError):
            validate_message(json.dumps(msg))
        assert name


def test_the_waiting_hello_validates(serve_runtime, monkeypatch) -> None:
    """Before the pipeline's first ``hello`` the consumer sends a waiting one; it is part of the schema too."""
    from depthhand.serve.state import MemoryState
    from depthhand.serve.wire import validate_message, ws_json_schema

    from .test_ws_rest import communicator, reset_layer

    reset_layer()
    monkeypatch.setattr(serve_runtime, "state", MemoryState())  # no pipeline has published a hello

    async def main() -> str:
        comm = communicator()
        assert (await comm.connect())[0]
        text = await comm.receive_from(timeout=5)
        await comm.disconnect()
        return str(text)

    text = asyncio.run(main())
    msg = json.loads(text)
    assert msg["waiting"] is True and msg["flow"]["mode"] == "ack"
    validate_message(text)
    assert not _problems(jsonschema.Draft202012Validator(ws_json_schema()), msg)
