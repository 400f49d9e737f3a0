"""``serve.load``: 50 WebSocket clients at 30 fps against a local embedded server, one of them slow (loopback only).

Added latency = client receive time − ``t_send_us`` (the moment the pipeline thread handed the frame to the server
loop). ``serve.load`` runs acknowledging clients (the viewer's ``?flow=ack``), ``serve.load_plain`` plain ones (the
default), ``serve.stalled`` 50 clients that never read. All clients run in the benchmark's own process on the same
2-core machine as the server, so each client does as little as a client on its own machine would make visible: it is
a lean RFC 6455 reader (:mod:`depthhand.bench.ws_lean`: framing parsed in ``data_received``, no per-message future),
stamps the arrival time, reads ``seq`` and ``t_send_us`` from the message head without decoding the JSON, and
acknowledges every second frame. ``server_relay_*`` isolates the server (``t_relay_us`` is stamped by the consumer
just before the socket write).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthhand.bench.core import BenchResult, benchmark

if TYPE_CHECKING:
    from depthhand.bench.ws_lean import LeanClient


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The frame message's head (interact.schema.frame_message's key order): read without decoding the whole JSON, so
# that one client's parsing does not count as the next client's latency (50 clients share one process here).
_FRAME_HEAD = re.compile(
    rb'\{"type":\s*"frame",\s*"v":\s*\d+,\s*"seq":\s*(?P<seq>\d+),.*?"t_send_us":\s*(?P<t_send>\d+)'
)


async def _clients(port: int, token: str, n: int, seconds: float, flow: str) -> dict[str, Any]:
    """``n`` lean clients (:mod:`depthhand.bench.ws_lean`) for ``seconds``; client 0 is the slow one."""
    import asyncio
    import json

    from depthhand.bench.ws_lean import connect

    path = f"/ws/hands?token={token}&flow={flow}"
    acks = flow == "ack"
    latencies: list[float] = []
    relay: list[float] = []
    stats = {"frames": 0, "gaps": 0, "slow_frames": 0, "slow_max_behind": 0}
    newest = {"seq": 0}
    state: dict[int, list[int]] = {}  # client id -> [last seq, messages received]

    def handler(slow: bool) -> Callable[[LeanClient, bytes, int], None]:
        def on_message(client: LeanClient, raw: bytes, now_us: int) -> None:
            head = _FRAME_HEAD.match(raw)
            if head is None:  # hello, events, depth previews
                return
            seq, t_send_us = int(head["seq"]), int(head["t_send"])
            last_received = state.setdefault(id(client), [0, 0])
            if slow:
                stats["slow_frames"] += 1
                stats["slow_max_behind"] = max(stats["slow_max_behind"], newest["seq"] - seq)
                client.pause_for(0.5)  # a client that handles 2 frames per second
            else:
                latencies.append((now_us - t_send_us) / 1e3)
                relay.append((int(raw[raw.rindex(b":") + 1 : -1]) - t_send_us) / 1e3)  # "t_relay_us" is last
                stats["frames"] += 1
                newest["seq"] = max(newest["seq"], seq)
                if last_received[0] and seq > last_received[0] + 1:
                    stats["gaps"] += seq - last_received[0] - 1
                last_received[0] = seq
            last_received[1] += 1
            if acks and (slow or last_received[1] % 2 == 0):  # cumulative acks: every second frame (ack_every)
                client.send_text(json.dumps({"type": "ack", "seq": seq}))

        return on_message

    clients = [await connect("127.0.0.1", port, path, handler(slow=i == 0)) for i in range(n)]
    try:
        await asyncio.sleep(seconds)
    finally:
        for client in clients:
            client.close()
    return {"latencies": latencies, "relay": relay, **stats}


@contextlib.contextmanager
def _server(token: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``depthhand serve`` (embedded, the full pipeline on the synthetic table at 30 fps), streaming."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "DEPTHHAND_TOKEN": token}
        cmd = [sys.executable, "-m", "depthhand.cli", "serve", "--port", str(port), "--data-dir", data]
        cmd += ["--source", "synthetic://topdown?fps=30"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            if b"listening" not in proc.stdout.readline():  # printed once the models are loaded and it serves
                raise RuntimeError("serve benchmark: the server did not start")
            time.sleep(1.0)
            yield port, proc
        finally:
            proc.terminate()
            proc.wait(10)


@benchmark("serve.load", "50 acknowledging WebSocket clients @30 fps + 1 slow one on loopback: latency, drops, memory")
def load(quick: bool) -> BenchResult:
    """The viewer's flow control (``?flow=ack``): the clients acknowledge every second frame."""
    return _load("serve.load", "ack", quick)


@benchmark("serve.load_plain", "50 plain WebSocket clients (no acks) @30 fps + 1 slow one: latency, drops, memory")
def load_plain(quick: bool) -> BenchResult:
    """Any client (the default ``?flow=latest``): no acknowledgements; a slow client gets the newest frame."""
    return _load("serve.load_plain", "latest", quick)


@benchmark(
    "serve.stalled", "50 WebSocket clients that never read, 60 s: server memory growth and a healthy client's rate"
)
def stalled(quick: bool) -> BenchResult:
    """Clients that complete the handshake and then never read: their outboxes must stay bounded."""
    import asyncio

    seconds = 6.0 if quick else 60.0
    token = secrets.token_urlsafe(24)
    with _server(token) as (port, proc):
        asyncio.run(_clients(port, token, 2, 5.0, "latest"))  # warm up (first frames, caches) before the baseline
        rss_before = _rss_mib(proc.pid)
        socks = [stalled_client(port, token) for _ in range(50)]
        try:
            out = asyncio.run(_clients(port, token, 1, seconds, "latest"))  # the one client is the slow one: skip it
            healthy = asyncio.run(_clients(port, token, 2, 3.0, "latest"))
        finally:
            rss_after = _rss_mib(proc.pid)
            for sock in socks:
                sock.close()
    grown = rss_after - rss_before
    return BenchResult(
        "serve.stalled",
        round(grown, 1),
        "MiB RSS growth",
        1,
        {
            "stalled_clients": 50,
            "seconds": seconds,
            "server_rss_before_mib": round(rss_before, 1),
            "server_rss_after_mib": round(rss_after, 1),
            "healthy_client_fps_after": round(healthy["frames"] / 3.0, 1),
            "slow_client_frames": out["slow_frames"],
        },
    )


def stalled_client(port: int, token: str) -> socket.socket:
    """A WebSocket client of ``/ws/hands`` on loopback that completes the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small receive window
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        (
            f"GET /ws/hands?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


def _load(name: str, flow: str, quick: bool) -> BenchResult:
    """Start the server, connect the clients with ``flow``, measure."""
    import asyncio

    import numpy as np

    seconds = 4.0 if quick else 60.0
    n_clients = 50
    token = secrets.token_urlsafe(24)
    with _server(token) as (port, proc):
        rss_before = _rss_mib(proc.pid)
        cpu_before, wall_before = _cpu_s(proc.pid), time.perf_counter()
        out = asyncio.run(_clients(port, token, n_clients, seconds, flow))
        cpu = _cpu_s(proc.pid) - cpu_before
        wall = time.perf_counter() - wall_before
        rss_after = _rss_mib(proc.pid)
        load = os.getloadavg()[0]
    if not out["latencies"]:
        raise RuntimeError(f"{name}: no frame messages received (server not streaming, or the frame format changed)")
    lat = np.asarray(out["latencies"])
    relay = np.asarray(out["relay"])
    expected = (n_clients - 1) * seconds * 30
    return BenchResult(
        name,
        float(np.percentile(lat, 95)),
        "ms p95 added latency",
        len(out["latencies"]),
        {
            "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)),
            "max_ms": float(np.max(lat)),
            "server_relay_p50_ms": float(np.percentile(relay, 50)),
            "server_relay_p95_ms": float(np.percentile(relay, 95)),
            "clients": n_clients,
            "flow": flow,
            "seconds": seconds,
            "frames_received": out["frames"],
            "frames_expected_approx": int(expected),
            "dropped_frames": out["gaps"],
            "slow_client_frames": out["slow_frames"],
            "slow_client_max_behind": out["slow_max_behind"],
            "server_cpu_percent": round(100 * cpu / wall, 1),
            "server_cpu_ms_per_frame": round(1e3 * cpu / (wall * 30), 2),
            "machine_load_1min": round(load, 2),
            "server_rss_before_mib": round(rss_before, 1),
            "server_rss_after_mib": round(rss_after, 1),
        },
    )
