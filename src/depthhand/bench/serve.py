"""``serve.load``: 50 WebSocket clients at 30 fps against a local embedded server, one of them slow (loopback only).

Added latency = client receive time − ``t_send_us`` (the moment the pipeline thread handed the frame to the server
loop). All 50 clients run in the benchmark's own process on the same 2-core machine as the server, so each client
does as little as a client on its own machine would make visible: it stamps the time, reads ``seq`` and
``t_send_us`` from the message head without decoding the JSON, and acknowledges every second frame.
``server_relay_*`` isolates the server (``t_relay_us`` is stamped by the consumer just before the socket write).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from depthhand.bench.core import BenchResult, benchmark


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


async def _clients(port: int, token: str, n: int, seconds: float) -> dict[str, Any]:
    import asyncio
    import json

    import websockets

    url = f"ws://127.0.0.1:{port}/ws/hands?token={token}"
    latencies: list[float] = []
    relay: list[float] = []
    stats = {"frames": 0, "gaps": 0, "slow_frames": 0, "slow_max_behind": 0}
    newest = {"seq": 0}
    stop_at = time.monotonic() + seconds

    async def client(slow: bool) -> None:
        async with websockets.connect(url, max_queue=4) as ws:
            last = received = 0
            while time.monotonic() < stop_at:
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), timeout=max(0.05, stop_at - time.monotonic()))
                except TimeoutError:
                    break
                now_us = time.time_ns() // 1000
                head = _FRAME_HEAD.match(raw)
                if head is None:  # hello, events, depth previews
                    continue
                seq, t_send_us = int(head["seq"]), int(head["t_send"])
                if slow:
                    stats["slow_frames"] += 1
                    stats["slow_max_behind"] = max(stats["slow_max_behind"], newest["seq"] - seq)
                    await asyncio.sleep(0.5)  # a client that handles 2 frames per second
                else:
                    latencies.append((now_us - t_send_us) / 1e3)
                    relay.append((int(raw[raw.rindex(b":") + 1 : -1]) - t_send_us) / 1e3)  # "t_relay_us" is last
                    stats["frames"] += 1
                    newest["seq"] = max(newest["seq"], seq)
                    if last and seq > last + 1:
                        stats["gaps"] += seq - last - 1
                    last = seq
                received += 1
                if slow or received % 2 == 0:  # cumulative acks: every second frame (the hello's ack_every)
                    await ws.send(json.dumps({"type": "ack", "seq": seq}))

    await asyncio.gather(*(client(slow=i == 0) for i in range(n)))
    return {"latencies": latencies, "relay": relay, **stats}


@benchmark("serve.load", "50 WebSocket clients @30 fps + 1 slow client on loopback: added latency, drops, memory")
def load(quick: bool) -> BenchResult:
    """Start ``depthhand serve`` (embedded, the full pipeline on the synthetic table), connect the clients, measure."""
    import asyncio

    import numpy as np

    seconds = 4.0 if quick else 60.0
    n_clients = 50
    port = _free_port()
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "DEPTHHAND_TOKEN": token}
        cmd = [sys.executable, "-m", "depthhand.cli", "serve", "--port", str(port), "--data-dir", data]
        cmd += ["--source", "synthetic://topdown?fps=30"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            t0 = time.time()
            while time.time() - t0 < 30:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            time.sleep(1.0)
            rss_before = _rss_mib(proc.pid)
            cpu_before, wall_before = _cpu_s(proc.pid), time.perf_counter()
            out = asyncio.run(_clients(port, token, n_clients, seconds))
            cpu = _cpu_s(proc.pid) - cpu_before
            wall = time.perf_counter() - wall_before
            rss_after = _rss_mib(proc.pid)
            load = os.getloadavg()[0]
        finally:
            proc.terminate()
            proc.wait(10)
    if not out["latencies"]:
        raise RuntimeError("serve.load: no frame messages received (server not streaming, or the frame format changed)")
    lat = np.asarray(out["latencies"])
    relay = np.asarray(out["relay"])
    expected = (n_clients - 1) * seconds * 30
    return BenchResult(
        "serve.load",
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
