"""Server memory under abuse: ``serve.slow_ack`` (50 slow acknowledging clients), ``serve.big_posts`` (300 MB bodies).

Both start the real embedded server (:func:`depthhand.bench.serve._server`), warm it up with two healthy clients,
take its RSS as the baseline, apply the load for 60 s (6 s with ``--quick``) and report the growth. The target
(issue #18): within +50 MB of the idle size.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
from typing import Any

from depthhand.bench.core import BenchResult, benchmark
from depthhand.bench.serve import _FRAME_HEAD, _clients, _rss_mib, _server

POST_BYTES = 300 * 1024 * 1024
"""The body each abusive POST announces (and tries to send), bytes."""


async def _slow_ack_clients(port: int, token: str, n: int, seconds: float) -> dict[str, int]:
    """``n`` ``?flow=ack`` clients that each handle two frames per second (and acknowledge each)."""
    from depthhand.bench.ws_lean import LeanClient, connect

    counts = {"frames": 0, "acks": 0}

    def on_message(client: LeanClient, raw: bytes, arrival_us: int) -> None:
        head = _FRAME_HEAD.match(raw)
        if head is None:
            return
        counts["frames"] += 1
        client.send_text(json.dumps({"type": "ack", "seq": int(head["seq"])}))
        counts["acks"] += 1
        client.pause_for(0.5)

    path = f"/ws/hands?token={token}&flow=ack"
    clients = [await connect("127.0.0.1", port, path, on_message) for _ in range(n)]
    try:
        await asyncio.sleep(seconds)
    finally:
        for client in clients:
            client.close()
    return counts


@benchmark("serve.slow_ack", "50 acknowledging clients that read 2 frames/s for 60 s: server memory growth")
def slow_ack(quick: bool) -> BenchResult:
    """The viewer's protocol on 50 slow machines: each client's outbox must stay bounded."""
    seconds = 6.0 if quick else 60.0
    token = secrets.token_urlsafe(24)
    with _server(token) as (port, proc):
        asyncio.run(_clients(port, token, 2, 5.0, "latest"))  # warm up (first frames, caches) before the baseline
        rss_before = _rss_mib(proc.pid)
        counts = asyncio.run(_slow_ack_clients(port, token, 50, seconds))
        rss_after = _rss_mib(proc.pid)
        healthy = asyncio.run(_clients(port, token, 2, 3.0, "latest"))  # client 0 is the slow one: 1 measured
    return BenchResult(
        "serve.slow_ack",
        round(rss_after - rss_before, 1),
        "MiB RSS growth",
        1,
        {
            "slow_clients": 50,
            "seconds": seconds,
            "slow_frames_read": counts["frames"],
            "server_rss_before_mib": round(rss_before, 1),
            "server_rss_after_mib": round(rss_after, 1),
            "healthy_client_fps_after": round(healthy["frames"] / 3.0, 1),
        },
    )


def _abusive_post(port: int, token: str | None, chunked: bool, budget_s: float) -> dict[str, Any]:
    """One POST to ``/api/config`` announcing (or streaming) :data:`POST_BYTES`; sends until the server stops it.

    Returns:
        ``status`` (the HTTP status line's code, 0 if none came), ``sent`` (body bytes the server accepted before
        it answered or closed), ``seconds``.
    """
    chunk = b"x" * 65536
    t0 = time.monotonic()
    sent = 0
    status = 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        length = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {POST_BYTES}\r\n"
        sock.sendall(
            (
                f"POST /api/config HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\n"
                f"{length}\r\n"
            ).encode()
        )
        sock.setblocking(False)
        reply = b""
        pending = b""
        while sent < POST_BYTES and time.monotonic() - t0 < budget_s:
            try:
                reply += sock.recv(4096)
                if reply:
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                if not pending:  # a partial send leaves the rest of the chunk to go first (valid chunked framing)
                    pending = (b"10000\r\n" + chunk + b"\r\n") if chunked else chunk
                n = sock.send(pending)
                pending = pending[n:]
                sent += n
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:  # the server closed the connection
                break
        sock.setblocking(True)
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            reply += sock.recv(4096)
    if reply.startswith(b"HTTP/1.1 "):
        status = int(reply[9:12])
    return {"status": status, "sent": sent, "seconds": time.monotonic() - t0}


@benchmark("serve.big_posts", "300 MB POSTs (no token; and chunked with the token) for 60 s: server memory growth")
def big_posts(quick: bool) -> BenchResult:
    """Bodies must be bounded before they are buffered: unauthenticated writes refused before reading."""
    seconds = 6.0 if quick else 60.0
    token = secrets.token_urlsafe(24)
    statuses: dict[str, dict[int, int]] = {"no_token": {}, "chunked_with_token": {}}
    most_sent = {"no_token": 0, "chunked_with_token": 0}
    posts = 0
    with _server(token) as (port, proc):
        asyncio.run(_clients(port, token, 2, 5.0, "latest"))  # warm up before the baseline
        rss_before = _rss_mib(proc.pid)
        peak = rss_before
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            for kind, tok, chunked in (("no_token", None, False), ("chunked_with_token", token, True)):
                out = _abusive_post(port, tok, chunked, budget_s=5.0)
                statuses[kind][out["status"]] = statuses[kind].get(out["status"], 0) + 1
                most_sent[kind] = max(most_sent[kind], out["sent"])
                posts += 1
                peak = max(peak, _rss_mib(proc.pid))
        rss_after = _rss_mib(proc.pid)
        healthy = asyncio.run(_clients(port, token, 2, 3.0, "latest"))
    return BenchResult(
        "serve.big_posts",
        round(peak - rss_before, 1),
        "MiB peak RSS growth",
        posts,
        {
            "seconds": seconds,
            "posts": posts,
            "announced_mib": POST_BYTES // (1024 * 1024),
            "statuses_no_token": statuses["no_token"],
            "statuses_chunked_with_token": statuses["chunked_with_token"],
            "most_body_bytes_sent_no_token": most_sent["no_token"],
            "most_body_bytes_sent_chunked": most_sent["chunked_with_token"],
            "server_rss_before_mib": round(rss_before, 1),
            "server_rss_peak_mib": round(peak, 1),
            "server_rss_after_mib": round(rss_after, 1),
            "healthy_client_fps_after": round(healthy["frames"] / 3.0, 1),
        },
    )
