"""The frame encoder: orjson's text is the standard library's, byte for byte; without orjson the server still runs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from depthhand.bench.core import run_benchmarks
from depthhand.bench.serve import _FRAME_HEAD
from depthhand.interact.schema import frame_message
from depthhand.serve import wirejson
from depthhand.structures import FrameResult


def _demo_messages(n: int = 60) -> list[dict]:
    from depthhand.bench.output import _frames

    return [frame_message(r, i, k + 1, 1_700_000_000_000_000 + k) for k, (r, i) in enumerate(_frames(n))]


def test_orjson_text_is_the_json_text_and_keeps_the_frame_head() -> None:
    pytest.importorskip("orjson")
    assert wirejson.backend() == "orjson"
    messages = _demo_messages()
    assert any(h.get("fingers") for m in messages for h in m["hands"])  # the interaction keys are there
    for m in messages:
        text = wirejson.dumps(m)
        assert text == json.dumps(m, separators=(",", ":"))
        head = _FRAME_HEAD.match(f'{text[:-1]},"t_relay_us":1}}'.encode())  # as the consumer stamps it
        assert head is not None and int(head["seq"]) == m["seq"] and int(head["t_send"]) == m["t_send_us"]


def test_non_finite_numbers_are_null_and_odd_objects_fall_back() -> None:
    result = FrameResult(3, 1_000, (), {"detect": float("nan"), "total": float("inf")}, "x")
    text = wirejson.dumps(frame_message(result, None, 1, 2))
    assert json.loads(text)["timings_ms"] == {"detect": None, "total": None} and "NaN" not in text
    odd = {"big": 2**70, 3: "int key"}  # beyond orjson (64-bit ints, str keys only): the json fallback takes it
    assert wirejson.dumps(odd) == json.dumps(odd, separators=(",", ":"))
    with pytest.raises(TypeError):
        wirejson.dumps({"array": np.zeros(2)})


def test_without_orjson_the_standard_library_encodes(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson raises ImportError
    wirejson._encoder.cache_clear()
    try:
        assert wirejson.backend() == "json"
        m = _demo_messages(5)[-1]
        assert wirejson.dumps(m) == json.dumps(m, separators=(",", ":"))
    finally:
        monkeypatch.undo()
        wirejson._encoder.cache_clear()
    assert wirejson.backend() == ("orjson" if _has_orjson() else "json")


def _has_orjson() -> bool:
    try:
        import orjson  # noqa: F401
    except ImportError:
        return False
    return True


def test_encode_benchmark_runs_and_reports_both_encoders() -> None:
    pytest.importorskip("orjson")
    (result,) = run_benchmarks(["serve.encode"], quick=True)
    d = result.details
    assert result.name == "serve.encode" and d["backend"] == "orjson"
    assert d["identical"] is True and d["head_matches"] is True and d["bytes_median"] > 2000
    for key in ("json_median_us", "orjson_median_us", "build_us", "json_over_orjson"):
        assert 0 < d[key] < 1e6, (key, d[key])
    assert result.value == d["orjson_median_us"] and d["json_p95_us"] >= d["json_median_us"]
