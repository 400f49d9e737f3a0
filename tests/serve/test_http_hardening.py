"""In-process tests of the hardened HTTP/WebSocket surface: JSON errors, auth, origin, calibration, recording."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import stat

import numpy as np
import pytest

from depthhand.interact.calibration import (
    Calibration,
    CalibrationRejected,
    backup_path,
    load_calibration,
    make_targets,
    save_calibration,
    solve_calibration,
)
from depthhand.synth.scripted import default_scene

from .conftest import TOKEN

AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def client(serve_runtime):
    from django.test import Client

    return Client(HTTP_HOST="localhost", raise_request_exception=False)


def _error(r, status: int, *fragments: str) -> str:
    assert r.status_code == status, (r.status_code, r.content[:300])
    assert r["Content-Type"] == "application/json", r.content[:300]
    msg = r.json()["error"]
    for f in fragments:
        assert f in msg, msg
    return str(msg)


def test_bad_bodies_answer_json_4xx_naming_the_problem(client):
    nested = "[" * 20_000 + "]" * 20_000
    _error(client.put("/api/config", nested, "application/json", **AUTH), 400, "nested too deeply")
    huge = json.dumps({"frames": 1}).replace("1", "9" * 5000)
    _error(client.post("/api/calibration/plane", huge, "application/json", **AUTH), 400, "not valid JSON")
    big = json.dumps({"frames": 1}).replace("1", "9" * 4000)
    _error(client.post("/api/calibration/plane", big, "application/json", **AUTH), 400, "body.frames", "4000 digits")
    _error(client.put("/api/config", b"\xff\xfe", "application/json", **AUTH), 400, "not valid JSON")
    bad_enum = json.dumps({"action": ["start"]})
    _error(client.post("/api/recording", bad_enum, "application/json", **AUTH), 400, "body.action")
    fingers = json.dumps({"touch": {"fingers": [1]}})
    _error(client.put("/api/config", fingers, "application/json", **AUTH), 400, "body.touch.fingers")
    _error(client.delete("/api/status", **AUTH), 405, "not allowed", "GET")


def test_unknown_api_paths_and_admin_are_json_404(client):
    _error(client.get("/api/nope", **AUTH), 404, "no such API endpoint")
    _error(client.get("/api/status/", **AUTH), 404, "no such API endpoint")
    _error(client.post("/api/nope/deeper", "{}", "application/json", **AUTH), 404)
    assert client.get("/admin/").status_code == 404


def test_a_real_500_is_json_and_logged(client, serve_runtime, monkeypatch, caplog):
    def broken(key):
        raise RuntimeError("state store exploded")

    monkeypatch.setattr(serve_runtime.state, "get", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        r = client.get("/api/status", **AUTH)
    _error(r, 500, "internal server error")
    records = [rec for rec in caplog.records if rec.name == "django.request"]
    assert records and records[0].exc_info and "state store exploded" in str(records[0].exc_info[1])
    from django.conf import settings

    assert "console" in settings.LOGGING["loggers"]["django.request"]["handlers"]


def test_corrupt_calibration_file_gives_409_not_500(client, serve_runtime):
    path = serve_runtime.options.data_dir / "calibration.json"
    path.write_text('{"format": "depthhand-calibration", "version": 1, "projector": {"width": "x"')
    try:
        _error(client.get("/api/calibration", **AUTH), 409, "unreadable", "/api/calibration/plane")
        session = json.dumps({"width": 640, "height": 480})
        r = client.post("/api/calibration/session", session, "application/json", **AUTH)
        assert r.status_code == 200
        for i in range(4):
            body = json.dumps({"index": i, "xyz_mm": [i * 50.0, (i % 2) * 80.0, 900.0]})
            assert client.post("/api/calibration/points", body, "application/json", **AUTH).status_code == 200
        _error(client.post("/api/calibration/solve", "{}", "application/json", **AUTH), 409, "unreadable")
    finally:
        path.unlink()
        client.delete("/api/calibration/session", **AUTH)


def test_reads_need_the_token_unless_public_read_and_writes_take_only_the_header(client, serve_runtime, monkeypatch):
    for url in ("/api/status", "/api/config", "/api/calibration", "/api/calibration/session"):
        _error(client.get(url), 401, "missing or wrong token")
        _error(client.get(url, HTTP_AUTHORIZATION="Bearer wrong-token-0123456789"), 401)
        assert client.get(url, **AUTH).status_code == 200
        assert client.get(f"{url}?token={TOKEN}").status_code == 200
    assert client.get("/api/openapi.json").status_code == 200  # the API description stays public
    _error(client.put(f"/api/config?token={TOKEN}", "{}", "application/json"), 401, "Authorization: Bearer")
    monkeypatch.setattr(serve_runtime, "options", dataclasses.replace(serve_runtime.options, public_read=True))
    assert client.get("/api/status").status_code == 200
    _error(client.put("/api/config", "{}", "application/json"), 401)  # writes still need it


def _ws(path: str, origin: bytes | None = b"http://localhost:8000", host: bytes | None = None):
    from channels.testing import WebsocketCommunicator

    from depthhand.serve.asgi import application

    headers = [(b"origin", origin)] if origin else []
    if host:
        headers.append((b"host", host))
    return WebsocketCommunicator(application, path, headers=headers)


def test_websocket_trailing_slash_unknown_path_and_origin_port(serve_runtime):
    from channels.layers import channel_layers

    channel_layers.backends.clear()

    async def main():
        comm = _ws(f"/ws/hands/?token={TOKEN}")
        connected, _ = await comm.connect()
        assert connected and (await comm.receive_json_from(timeout=5))["type"] == "hello"
        await comm.disconnect()
        comm = _ws(f"/ws/nope?token={TOKEN}")
        connected, code = await comm.connect()
        assert not connected and code == 4404
        refused = [
            (b"http://localhost:9999", None),  # the server is on 8000
            (b"http://localhost:9999", b"localhost:8000"),
            (b"http://evil.example:8000", b"evil.example:8000"),  # not an allowed host
            (b"http://localhost", b"localhost:8000"),
            (b"http://localhost:8000:1", None),
            (b"null", None),
        ]
        for origin, host in refused:
            comm = _ws(f"/ws/hands?token={TOKEN}", origin, host)
            connected, code = await comm.connect()
            assert not connected and code == 4403, origin
        for origin, host in [(b"http://localhost:8000", b"localhost:8000"), (b"http://127.0.0.1:8000", None)]:
            comm = _ws(f"/ws/hands?token={TOKEN}", origin, host)
            connected, _ = await comm.connect()
            assert connected, origin
            await comm.disconnect()

    asyncio.run(main())
    channel_layers.backends.clear()


def test_recording_is_refused_without_a_recorder_and_its_path_is_validated(client):
    for path in ("../escape", "/etc/passwd", "a/../../b", "a\\b", ""):
        body = json.dumps({"action": "start", "path": path})
        _error(client.post("/api/recording", body, "application/json", **AUTH), 400, "body.path", "data directory")
    body = json.dumps({"action": "start", "path": "recordings/today.dhrec"})
    _error(client.post("/api/recording", body, "application/json", **AUTH), 409, "this source cannot record")


def _session_with_points(client, points) -> None:
    r = client.post("/api/calibration/session", json.dumps({"width": 1280, "height": 800}), "application/json", **AUTH)
    assert r.status_code == 200
    for i, xyz in enumerate(points):
        body = json.dumps({"index": i, "xyz_mm": list(map(float, xyz))})
        assert client.post("/api/calibration/points", body, "application/json", **AUTH).status_code == 200


def test_stuck_finger_calibration_is_refused_and_the_good_one_kept(client, serve_runtime, rng):
    plane, _ = default_scene()
    path = serve_runtime.options.data_dir / "calibration.json"
    good = Calibration(plane=plane, homography=np.eye(3), created_utc="good")
    save_calibration(good, path)
    stuck = np.array([10.0, -20.0, 900.0]) + rng.uniform(-0.5, 0.5, (9, 3))
    _session_with_points(client, stuck)
    _error(client.post("/api/calibration/solve", "{}", "application/json", **AUTH), 422, "spread only", "stuck")
    assert load_calibration(path).created_utc == "good"
    client.delete("/api/calibration/session", **AUTH)


def test_inaccurate_calibration_is_rejected_by_rms(rng):
    from depthhand.geometry.plane import local_to_plane

    plane, _ = default_scene()
    targets = make_targets(1280, 800)
    local = rng.uniform(-300, 300, (9, 2))  # touches unrelated to the targets
    touches = np.array([local_to_plane(np.array([a, b, 0.0]), plane) for a, b in local])
    with pytest.raises(CalibrationRejected, match=r"RMS reprojection error .* above the limit of 20 px"):
        solve_calibration(targets, touches, plane, (1280, 800))


def test_save_keeps_the_previous_file_writes_0600_and_removes_stale_temps(tmp_path):
    path = tmp_path / "calibration.json"
    save_calibration(Calibration(created_utc="first"), path)
    assert not backup_path(path).exists()
    stale = tmp_path / ".calibration.json.0123456789abcdef.tmp.json"
    stale.write_text("half")
    other = tmp_path / ".calibration.json.notahexname.tmp.json"
    other.write_text("keep")
    save_calibration(Calibration(created_utc="second"), path)
    assert load_calibration(path).created_utc == "second"
    assert load_calibration(backup_path(path)).created_utc == "first"
    assert backup_path(path).name == "calibration.prev.json"
    assert not stale.exists() and other.exists()
    for p in (path, backup_path(path)):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
