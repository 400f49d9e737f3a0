"""Out-of-process tests: deployment checks, and the Redis scale-out (one pipeline worker, two web processes)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import TOKEN, free_port, start_serve, stop


def test_production_settings_pass_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEPTHHAND_SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    base = [sys.executable, "-m", "depthhand.cli", "serve", "--check-deploy", "--data-dir", str(tmp_path)]
    ok = subprocess.run([*base, "--production"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no issues" in (ok.stdout + ok.stderr)
    # the development settings do not pass: the check can fail
    dev = subprocess.run(base, env=env, capture_output=True, text=True, timeout=60)
    assert dev.returncode == 1 and "security.W" in dev.stderr and "add --production" in dev.stderr
    assert "Traceback" not in dev.stderr and len(dev.stderr.strip().splitlines()) == 1


def http_json(port: int, path: str, method: str = "GET", body: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return dict(json.loads(r.read()))


async def first_frames(port: int, n: int) -> list[dict]:
    websockets = pytest.importorskip("websockets")
    out = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/hands?token={TOKEN}") as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and hello["source"]["url"] == "scripted://demo"
        while len(out) < n:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg["type"] == "frame":
                out.append(msg)
                await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
    return out


@pytest.mark.slow
def test_redis_worker_and_two_web_processes(redis_url, tmp_path):
    pytest.importorskip("websockets")
    worker = start_serve(["--worker-only", "--source", "scripted://demo", "--redis", redis_url], tmp_path)
    ports = [free_port(), free_port()]
    web_args = ["--web-only", "--source", "scripted://demo", "--redis", redis_url]
    webs = [start_serve(web_args, tmp_path, port=p) for p in ports]
    try:
        for _ in range(100):
            if (http_json(ports[0], "/api/status").get("fps") or 0) > 10:
                break
            time.sleep(0.1)
        status = http_json(ports[1], "/api/status")
        assert status["mode"] == "web" and status["source"]["url"] == "scripted://demo" and status["fps"] > 10

        async def both():
            return await asyncio.gather(first_frames(ports[0], 20), first_frames(ports[1], 20))

        a, b = asyncio.run(both())
        assert len(a[0]["hands"][0]["joints_xyz_mm"]) == 21
        assert {f["seq"] for f in a} & {f["seq"] for f in b}  # the same worker frames reach both web processes
        # a write on one web process reaches the worker, which reports it to the other
        r = http_json(ports[0], "/api/config", "PUT", {"pinch": {"start_mm": 20.0}})
        assert r["queued"]
        for _ in range(50):
            if http_json(ports[1], "/api/config")["pinch"]["start_mm"] == 20.0:
                break
            time.sleep(0.1)
        assert http_json(ports[1], "/api/config")["pinch"]["start_mm"] == 20.0
    finally:
        for p in [*webs, worker]:
            stop(p)


def test_import_configures_nothing_and_options_are_validated():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import depthhand.serve, depthhand.serve.server, depthhand.serve.publisher, depthhand.commands.serve\n"
        "from django.conf import settings; print(settings.configured)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # and torch was never imported (it is blocked)
    from depthhand.serve.options import ServeOptions

    with pytest.raises(ValueError, match="needs --redis"):
        ServeOptions(mode="worker", token="abcdefgh-0123456789")
    with pytest.raises(ValueError, match="at least 16"):
        ServeOptions(token="short")
    with pytest.raises(ValueError, match="mutually exclusive"):
        ServeOptions(token="abcdefgh-0123456789", production=True, debug=True)
