from __future__ import annotations

from pathlib import Path

import pytest

from depthhand.bench.core import available, run_benchmarks


def test_eval_nyu_benchmark_runs(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHHAND_SHARED", str(shared_data.parent))
    assert "eval.nyu" in available()
    (result,) = run_benchmarks(["eval.nyu"], quick=True)
    assert result.name == "eval.nyu" and result.unit == "ms"
    assert result.value > 0 and result.samples == 3
    assert result.details["eval_only_median_ms"] > 0
    assert (result.details["frames"], result.details["joints"]) == (8252, 14)
    assert result.details["mean_mm"] == pytest.approx(10.0785, abs=1e-3)


def test_eval_nyu_benchmark_clear_error_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHHAND_SHARED", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="DEPTHHAND_SHARED"):
        run_benchmarks(["eval.nyu"], quick=True)
