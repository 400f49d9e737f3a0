"""The live-pipeline benchmarks run and report sane fields (speed itself is not asserted)."""

from __future__ import annotations

import math

from depthhand.bench.core import available, run_benchmarks


def test_live_benchmarks_run_quick() -> None:
    names = [n for n in available() if n.startswith("live.")]
    assert names == ["live.detect_background", "live.detect_classical", "live.record", "live.track"]
    results = run_benchmarks(["live"], quick=True)
    assert [r.name for r in results] == names
    for r in results:
        assert r.value > 0 and math.isfinite(r.value) and r.samples > 0
    by_name = {r.name: r for r in results}
    assert by_name["live.record"].details["kB_per_frame"] > 0
    assert by_name["live.detect_classical"].details["frames_with_hand"].split("/")[0] != "0"
