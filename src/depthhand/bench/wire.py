"""``serve.encode``: the per-frame cost of the ``frame`` message's JSON, before (``json``) and after (orjson).

Messages: the scripted two-hand demo (``scripted://demo``, a right hand tapping, a left hand pinching) through the
interaction engine with the scripted installation's projector calibration, i.e. the largest frames the server sends
(joints in mm, image px and projector px, five fingertip readings and a pinch per hand), built once by
:func:`depthhand.interact.schema.frame_message`. Each encoder writes every message to ``str`` (what the channel
layer carries), in blocks of 50 messages, the encoders alternating block by block so that they see the same machine
load; the headline is orjson's median per frame, ``json_over_orjson`` the ratio of the summed times in this run.
``msgspec`` is measured the same way when installed. ``identical``: the encoders' texts are byte-identical for every
message; ``head_matches``: the load benchmark's frame-head pattern reads every orjson text. ``build_us``: building
the message dict (``FrameResult.to_dict`` and the interaction keys), which the server's ``serialize`` stage also
counts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from depthhand.bench.core import BenchResult, benchmark

BLOCK = 50


def _messages(n: int) -> tuple[list[dict[str, Any]], list[float]]:
    from depthhand.bench.output import _frames
    from depthhand.interact.schema import frame_message

    frames = _frames(n)
    out, build = [], []
    for k, (result, inter) in enumerate(frames):
        t0 = time.perf_counter()
        out.append(frame_message(result, inter, k + 1, 1_700_000_000_000_000 + k * 33_333))
        build.append((time.perf_counter() - t0) * 1e6)
    return out, build


def _encoders() -> dict[str, Callable[[Any], str]]:
    from depthhand.serve.wirejson import json_dumps

    encoders: dict[str, Callable[[Any], str]] = {"json": json_dumps}
    try:
        import orjson

        encoders["orjson"] = lambda m: orjson.dumps(m).decode()
    except ImportError:
        pass
    try:
        import msgspec

        enc = msgspec.json.Encoder()
        encoders["msgspec"] = lambda m: enc.encode(m).decode()
    except ImportError:
        pass
    return encoders


@benchmark("serve.encode", "frame message → JSON text per frame: json (before) vs orjson (after), msgspec; two hands")
def serve_encode(quick: bool) -> BenchResult:
    """Median µs per frame of each encoder, alternating in blocks (see the module docstring)."""
    from depthhand.bench.serve import _FRAME_HEAD
    from depthhand.serve import wirejson

    n = 150 if quick else 900
    passes = 2 if quick else 5
    messages, build = _messages(n)
    encoders = _encoders()
    per_frame: dict[str, list[float]] = {name: [] for name in encoders}
    totals = dict.fromkeys(encoders, 0.0)
    for fn in encoders.values():  # warm-up
        for m in messages[:BLOCK]:
            fn(m)
    for _ in range(passes):
        for k in range(0, n, BLOCK):
            block = messages[k : k + BLOCK]
            for name, fn in encoders.items():
                t0 = time.perf_counter()
                for m in block:
                    fn(m)
                dt = time.perf_counter() - t0
                totals[name] += dt
                per_frame[name].append(dt / len(block) * 1e6)
    texts = {name: [fn(m) for m in messages] for name, fn in encoders.items()}
    details: dict[str, Any] = {"frames": n, "passes": passes, "backend": wirejson.backend()}
    for name, times in per_frame.items():
        times.sort()
        details[f"{name}_median_us"] = statistics.median(times)
        details[f"{name}_p95_us"] = times[round(0.95 * (len(times) - 1))]
    details["build_us"] = statistics.median(build)
    if "orjson" in encoders:
        details["json_over_orjson"] = totals["json"] / totals["orjson"]
    if "msgspec" in encoders:
        details["json_over_msgspec"] = totals["json"] / totals["msgspec"]
    reference = texts["json"]
    details["identical"] = all(t == reference for t in texts.values())
    fast = texts.get("orjson", reference)
    details["head_matches"] = all(_FRAME_HEAD.match(t.encode()) is not None for t in fast)
    details["bytes_median"] = statistics.median(len(t) for t in reference)
    headline = "orjson" if "orjson" in encoders else "json"
    unit = f"µs/frame ({headline})"
    return BenchResult("serve.encode", details[f"{headline}_median_us"], unit, n * passes, details)
