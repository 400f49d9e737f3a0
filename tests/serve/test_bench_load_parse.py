"""The load benchmark's clients read the frame head without decoding JSON: it must match what the server sends."""

from __future__ import annotations

import json

from depthhand.bench.serve import _FRAME_HEAD
from depthhand.interact.schema import frame_message
from depthhand.structures import FrameResult


def test_frame_head_matches_the_published_encoding() -> None:
    result = FrameResult(17, 123_456, (), {"detect": 1.0, "total": 4.5}, "synthetic://topdown")
    msg = frame_message(result, None, seq=4242, t_send_us=1_700_000_000_123_456)
    text = json.dumps(msg, separators=(",", ":"))  # as serve.publisher encodes it
    relayed = f'{text[:-1]},"t_relay_us":{1_700_000_000_125_000}}}'  # as the consumer stamps it
    raw = relayed.encode()
    head = _FRAME_HEAD.match(raw)
    assert head is not None
    assert int(head["seq"]) == json.loads(relayed)["seq"] == 4242
    assert int(head["t_send"]) == json.loads(relayed)["t_send_us"]
    assert int(raw[raw.rindex(b":") + 1 : -1]) == json.loads(relayed)["t_relay_us"]


def test_frame_head_ignores_other_messages() -> None:
    assert _FRAME_HEAD.match(json.dumps({"type": "hello", "v": 1, "seq": 3, "t_send_us": 5}).encode()) is None
    assert _FRAME_HEAD.match(b'{"type":"depth","v":1,"seq":3}') is None
