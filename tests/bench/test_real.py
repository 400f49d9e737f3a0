"""The ``real.*`` benchmarks: registered per real sequence, consistent figures on the SR305 desk frames."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from depthhand.bench.core import available, run_benchmarks
from depthhand.evaluate.real_sequence import REAL_SEQUENCES

METRICS = ("bones", "found", "jitter", "on_hand", "residual", "surface")


def test_six_benchmarks_per_real_sequence() -> None:
    names = [n for n in available() if n.startswith("real.")]
    assert names == sorted(f"real.{s}.{m}" for s in REAL_SEQUENCES for m in METRICS)


def test_clear_error_without_the_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from depthhand.bench.real import sequence_figures

    monkeypatch.setenv("DEPTHHAND_SHARED", str(tmp_path))
    sequence_figures.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match=r"sr305-desk/frames.*DEPTHHAND_SHARED"):
            run_benchmarks(["real.sr305_desk.found"], quick=True)
    finally:
        sequence_figures.cache_clear()


def _fraction(x: float) -> bool:
    return math.isfinite(x) and 0.0 <= x <= 1.0


@pytest.mark.shared_data
def test_real_sr305_benchmarks_report_consistent_figures(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from depthhand.bench.real import sequence_figures

    monkeypatch.setenv("DEPTHHAND_SHARED", str(shared_data.parent))
    sequence_figures.cache_clear()
    try:
        results = {r.name.rsplit(".", 1)[1]: r for r in run_benchmarks(["real.sr305_desk"], quick=True)}
    finally:
        sequence_figures.cache_clear()
    assert sorted(results) == list(METRICS)
    found = results["found"]
    assert found.unit == "fraction" and found.samples == found.details["frames"] == 11
    assert found.value == found.details["frames_with_hand"] / 11
    # the shipped detector finds the labelled hand (its card: 11/11; 10 is the tolerance of the detector test)
    assert found.details["labelled_frames"] == 11 and found.details["labelled_found"] >= 10
    assert found.details["false_hands_per_frame"] == found.details["false_hands"] / 11
    on = results["on_hand"]
    assert _fraction(on.value) and on.samples == 21 * found.details["frames_with_hand"]
    assert sum(on.details["per_frame"].values()) == round(on.value * on.samples)
    assert on.details["on_hand_strict_fraction"] <= on.value  # no tolerance: never more joints on the hand
    assert on.value > 0.5  # a user sees the skeleton on the hand in these frames (contact sheet)
    surface = results["surface"]
    assert _fraction(surface.value) and _fraction(surface.details["all_behind_30mm"])
    assert surface.details["all_p10_mm"] <= surface.details["all_median_mm"] <= surface.details["all_p90_mm"]
    assert surface.samples <= on.samples  # offsets exist only for joints near hand pixels
    bones = results["bones"]
    assert _fraction(bones.value) and 0.0 <= bones.details["cv_median"] <= bones.details["cv_max"] < 1.0
    jitter = results["jitter"]
    assert jitter.unit == "mm" and 0 < jitter.samples <= 10
    assert 0.0 <= jitter.value <= jitter.details["p95_mm"]
    assert jitter.details["articulation_median_mm"] <= jitter.details["articulation_p95_mm"]
    residual = results["residual"]
    assert residual.unit == "mm" and 0.0 < residual.details["median_mm"] <= residual.details["p90_mm"]
    assert 0.0 < residual.value < 30.0 and residual.details["points_per_frame"] > 1000
