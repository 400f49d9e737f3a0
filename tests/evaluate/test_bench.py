from __future__ import annotations

import math
from pathlib import Path

import pytest

from depthhand.bench.core import available, run_benchmarks


def test_eval_nyu_benchmark_runs(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHHAND_SHARED", str(shared_data.parent))
    assert "eval.nyu" in available()
    (result,) = run_benchmarks(["eval.nyu"], quick=True)
    assert result.name == "eval.nyu" and result.unit == "ms"
    assert result.samples == 3
    load_eval, eval_only = result.value, result.details["eval_only_median_ms"]
    for ms in (load_eval, eval_only, result.details["load_eval_p95_ms"], result.details["eval_only_p95_ms"]):
        assert math.isfinite(ms) and 0.01 < ms < 10_000, result.details  # ms for 8,252 frames: possible, not absurd
    assert result.details["load_eval_p95_ms"] >= load_eval and result.details["eval_only_p95_ms"] >= eval_only
    assert eval_only < load_eval  # the evaluation is one part of load + evaluate (it measures ~10x less)
    assert (result.details["frames"], result.details["joints"]) == (8252, 14)
    assert result.details["mean_mm"] == pytest.approx(10.0785, abs=1e-3)


def test_eval_nyu_benchmark_clear_error_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHHAND_SHARED", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="DEPTHHAND_SHARED"):
        run_benchmarks(["eval.nyu"], quick=True)
