"""The load benchmark's lean WebSocket reader: its framing checked against wsproto, and against the real server."""

from __future__ import annotations

import asyncio
import json

import pytest
from wsproto.frame_protocol import FrameProtocol

from depthhand.bench.ws_lean import OP_PING, OP_TEXT, client_frame, connect, parse_frame

from .conftest import TOKEN, free_port, start_serve, stop


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    port = free_port()
    proc = start_serve(["--source", "scripted://demo?fps=30"], tmp_path_factory.mktemp("lean"), port=port)
    yield port
    stop(proc)


@pytest.mark.parametrize("n", [0, 5, 125, 126, 300, 65535, 65536, 200_000])
def test_client_frames_are_masked_frames_wsproto_reads_back(n: int) -> None:
    payload = bytes(32 + (i * 7) % 94 for i in range(n))  # printable: valid UTF-8 for text frames
    server = FrameProtocol(client=False, extensions=[])
    server.receive_bytes(client_frame(OP_TEXT if n % 2 == 0 else 0x2, payload))
    frames = list(server.received_frames())
    assert len(frames) == 1
    assert frames[0].message_finished
    got = frames[0].payload
    assert (got.encode() if isinstance(got, str) else bytes(got)) == payload


@pytest.mark.parametrize("n", [0, 1, 125, 126, 65535, 65536, 150_000])
def test_server_frames_from_wsproto_parse_whole_and_only_when_complete(n: int) -> None:
    text = "".join(chr(97 + i % 26) for i in range(n))
    wire = FrameProtocol(client=False, extensions=[]).send_data(text, fin=True)
    assert parse_frame(wire[:-1]) is None  # one byte short: incomplete
    fin, opcode, payload, length = parse_frame(wire + b"\x81\x00")  # followed by another frame
    assert (fin, opcode, payload.decode(), length) == (True, OP_TEXT, text, len(wire))
    ping = FrameProtocol(client=False, extensions=[]).ping(b"hi")
    assert parse_frame(ping)[:3] == (True, OP_PING, b"hi")


def test_masked_server_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be masked"):
        parse_frame(client_frame(OP_TEXT, b"x"))


def test_lean_client_reads_hello_and_frames_and_acks_from_the_real_server(live_server) -> None:
    port = live_server

    async def main() -> list[dict]:
        got: list[dict] = []
        done = asyncio.get_running_loop().create_future()

        def on_message(client, raw: bytes, arrival_us: int) -> None:
            msg = json.loads(raw)
            got.append(msg)
            if msg["type"] == "frame":
                client.send_text(json.dumps({"type": "ack", "seq": msg["seq"]}))
            if sum(m["type"] == "frame" for m in got) >= 12 and not done.done():
                done.set_result(None)

        client = await connect("127.0.0.1", port, f"/ws/hands?token={TOKEN}&flow=ack", on_message)
        try:
            await asyncio.wait_for(done, 20)
        finally:
            client.close()
        return got

    got = asyncio.run(main())
    assert got[0]["type"] == "hello" and got[0]["flow"]["mode"] == "ack"
    seqs = [m["seq"] for m in got if m["type"] == "frame"]
    assert len(seqs) >= 12 and seqs == sorted(seqs)  # acknowledged, so the window kept frames coming


def test_the_big_post_benchmark_is_refused_early_by_the_real_server(live_server) -> None:
    from depthhand.bench.serve_memory import POST_BYTES, _abusive_post

    no_token = _abusive_post(live_server, None, chunked=False, budget_s=5.0)
    assert no_token["status"] == 401 and no_token["sent"] < POST_BYTES // 100  # refused before the body is read
    chunked = _abusive_post(live_server, TOKEN, chunked=True, budget_s=5.0)
    assert chunked["status"] == 413 and chunked["sent"] < POST_BYTES // 10  # cut off after the 1 MiB limit
