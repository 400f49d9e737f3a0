"""The real ``depthhand serve`` process: bounded request bodies (RSS), static traversal, banner, permissions, tokens."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import stat
import time

import pytest

from depthhand.serve.options import ServeOptions

from .conftest import TOKEN, free_port, start_serve, stop

MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def stream_request(port: int, head: str, chunked: bool, total: int = 300 * MB) -> tuple[bytes, int]:
    """Send ``head`` and up to ``total`` body bytes in 1 MiB pieces; stop as soon as a response arrives."""
    piece = b"x" * MB
    if chunked:
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        try:
            while sent < total:
                if select.select([s], [], [], 0)[0]:
                    break
                s.sendall(piece)
                sent += MB
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(5)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
            answer += s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            pass
    return answer, sent


def raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("limits") / "fresh" / "data"
    proc = start_serve(["--source", "scripted://demo"], data, port=port)
    yield port, proc, data
    stop(proc)


def test_oversized_bodies_are_refused_early_and_memory_stays_flat(server):
    port, proc, _ = server
    before = rss_mb(proc.pid)
    host = f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    cases = [
        (f"PUT /api/config HTTP/1.1\r\n{host}Content-Length: {300 * MB}\r\n\r\n", False, b"401"),
        (f"PUT /api/config HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n", True, b"401"),
        (
            f"PUT /api/config HTTP/1.1\r\n{host}Authorization: Bearer {TOKEN}\r\nContent-Length: {300 * MB}\r\n\r\n",
            False,
            b"413",
        ),
        (
            f"PUT /api/config HTTP/1.1\r\n{host}Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n",
            True,
            b"413",
        ),
    ]
    for head, chunked, status in cases:
        answer, sent = stream_request(port, head, chunked)
        assert b" " + status + b" " in answer.split(b"\r\n", 1)[0], answer[:200]
        assert answer.rstrip().endswith(b"}") and b'"error"' in answer, answer[-200:]
        assert sent < 64 * MB, (head, sent)  # answered long before the 300 MB were sent
    time.sleep(0.5)
    assert rss_mb(proc.pid) - before < 50
    # the server still answers normally
    ok = raw_get(port, f"/api/status?token={TOKEN}")
    assert ok.startswith(b"HTTP/1.1 200")


def test_static_traversal_is_a_clean_404(server):
    port, _, _ = server
    for path in ("/static/depthhand/../../settings.py", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/a/./b"):
        answer = raw_get(port, path)
        assert answer.startswith(b"HTTP/1.1 404"), (path, answer[:200])
        assert b"application/json" in answer.split(b"\r\n\r\n")[0]
    assert raw_get(port, "/static/depthhand/common.js").startswith(b"HTTP/1.1 200")


def test_banner_without_token_on_a_pipe_and_private_data_dir(server):
    _, proc, data = server
    assert proc.stdout is not None
    line = b""
    deadline = time.time() + 10
    while b"listening on" not in line and time.time() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
    assert b"listening on" in line, line
    assert TOKEN.encode() not in line and b"$DEPTHHAND_TOKEN" in line
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "db.sqlite3").stat().st_mode) == 0o600


def test_admin_only_when_asked_for(tmp_path):
    port = free_port()
    proc = start_serve(["--source", "scripted://demo", "--admin"], tmp_path, port=port)
    try:
        answer = raw_get(port, "/admin/")
        assert answer.startswith(b"HTTP/1.1 302") and b"/admin/login/" in answer
    finally:
        stop(proc)


def test_weak_tokens_are_refused_and_a_token_file_is_read(tmp_path, monkeypatch):
    for weak in ("a" * 16, " " * 16, "abcdefgh ijklmnop", "abababababababababab", "short"):
        with pytest.raises(ValueError, match="API token"):
            ServeOptions(token=weak)
    monkeypatch.delenv("DEPTHHAND_TOKEN", raising=False)
    file = tmp_path / "token"
    file.write_text("file-token-0123456789abcdef\n")
    monkeypatch.setenv("DEPTHHAND_TOKEN_FILE", str(file))
    assert ServeOptions().token == "file-token-0123456789abcdef"
    file.write_text("a" * 20)
    with pytest.raises(ValueError, match="too predictable"):
        ServeOptions()
    monkeypatch.setenv("DEPTHHAND_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"DEPTHHAND_TOKEN_FILE .*cannot read"):
        ServeOptions()


def test_startup_banner(tmp_path, monkeypatch):
    from depthhand.serve.server import startup_banner

    monkeypatch.delenv("DEPTHHAND_TOKEN", raising=False)
    monkeypatch.delenv("DEPTHHAND_TOKEN_FILE", raising=False)
    options = ServeOptions(data_dir=tmp_path)  # a generated token
    assert f"?token={options.token}" in startup_banner(options, terminal=True)
    line = startup_banner(options, terminal=False)
    assert options.token not in line and str(tmp_path / "token") in line
    assert (tmp_path / "token").read_text().strip() == options.token
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    monkeypatch.setenv("DEPTHHAND_TOKEN_FILE", "/run/secrets/depthhand")
    assert "/run/secrets/depthhand" in startup_banner(ServeOptions(token=TOKEN, data_dir=tmp_path), terminal=False)


def test_guard_answers_before_reading_the_body(serve_runtime):
    """Unit level: a write without a token is answered without one ``receive``; a chunked body stops at the limit."""
    from depthhand.serve.asgi import RequestGuard

    reads: list[int] = []
    sent: list[dict] = []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("the app was called")

    def receiver(pieces: int, size: int):
        async def receive():
            reads.append(size)
            return {"type": "http.request", "body": b"x" * size, "more_body": len(reads) < pieces}

        return receive

    async def send(message):
        sent.append(message)

    guard = RequestGuard(app, max_body=1000)
    scope = {"type": "http", "method": "POST", "path": "/api/recording", "headers": []}
    asyncio.run(guard(scope, receiver(10**6, 100), send))
    assert reads == [] and sent[0]["status"] == 401
    sent.clear()
    scope["headers"] = [(b"authorization", f"Bearer {TOKEN}".encode())]
    asyncio.run(guard(scope, receiver(10**6, 100), send))
    assert len(reads) == 11 and sent[0]["status"] == 413  # stopped right after passing 1000 bytes
    assert json.loads(sent[1]["body"])["error"].startswith("request body too large")
    assert os.environ.get("DEPTHHAND_TOKEN_FILE") is None
