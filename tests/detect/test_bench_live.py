"""The live-pipeline benchmarks run and report sane fields (speed itself is not asserted, only its range)."""

from __future__ import annotations

import math

from depthhand.bench.core import BenchResult, available, run_benchmarks

RAW_KB_PER_FRAME = 640 * 480 * 2 / 1e3  # an uncompressed 640×480 uint16 frame, in the benchmark's kB (1000 B)


def _check_ms(value: float, what: str) -> None:
    """A per-call time in ms that a real computer can produce: above 10 µs, below 10 s."""
    assert math.isfinite(value) and 0.01 < value < 10_000, (what, value)


def _check_latency(r: BenchResult, samples: int) -> None:
    assert r.unit == "ms" and r.samples == samples, r
    _check_ms(r.value, r.name)
    _check_ms(r.details["p95_ms"], f"{r.name} p95")
    assert r.details["p95_ms"] >= r.value, r  # the 95th percentile of the same samples is not below the median


def test_live_benchmarks_run_quick() -> None:
    names = [n for n in available() if n.startswith("live.")]
    assert names == ["live.detect_background", "live.detect_classical", "live.record", "live.record_mcap", "live.track"]
    results = run_benchmarks(["live"], quick=True)
    assert [r.name for r in results] == names
    by_name = {r.name: r for r in results}
    # quick runs: 30 / 33 / 100 timed calls, 60 recorded frames
    _check_latency(by_name["live.detect_background"], 30)
    assert by_name["live.detect_background"].details["hands"] == 3
    _check_latency(by_name["live.track"], 100)
    assert by_name["live.track"].details["hands"] == 2
    classical = by_name["live.detect_classical"]
    _check_latency(classical, 33)
    n_frames = {"sr305-desk": 11, "toy raised hands": 8}[classical.details["data"]]
    found, total = (int(x) for x in classical.details["frames_with_hand"].split("/"))
    assert total == n_frames and found >= 0.8 * total, classical.details  # every frame shows a hand
    record = by_name["live.record"]
    assert record.unit == "ms/frame" and record.samples == 60, record
    _check_ms(record.value, "record write")
    _check_ms(record.details["read_ms_per_frame"], "record read")
    # zlib keeps a depth frame well under its raw size, and above a header's
    assert 1.0 < record.details["kB_per_frame"] < RAW_KB_PER_FRAME, record.details
    mcap = by_name["live.record_mcap"]
    assert mcap.unit == "cpu ms/frame" and mcap.samples == 3 * 60, mcap
    _check_ms(mcap.value, "mcap write")
    for key in ("mcap_lz4_wall_ms_per_frame", "mcap_zstd_cpu_ms_per_frame", "dhrec_zlib_cpu_ms_per_frame"):
        _check_ms(mcap.details[key], key)
    _check_ms(mcap.details["mcap_read_ms_per_frame"], "mcap read")
    _check_ms(mcap.details["mcap_lz4_slowest_write_ms"], "slowest mcap write")
    # chunk compression keeps a depth frame well under its raw size (the RawImage payload is uncompressed); zstd
    # compresses depth better than lz4
    for codec in ("lz4", "zstd"):
        assert 1.0 < mcap.details[f"mcap_{codec}_kB_per_frame"] < RAW_KB_PER_FRAME, mcap.details
    assert mcap.details["mcap_zstd_kB_per_frame"] < mcap.details["mcap_lz4_kB_per_frame"], mcap.details
