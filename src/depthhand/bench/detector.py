"""Latency benchmark of the learned hand detector (``detect.cnn``).

Its quality (recall, precision, centre error on held-out synthetic and real SR305 frames) is measured by
:mod:`depthhand.evaluate.detector`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from depthhand.bench.core import BenchResult, benchmark, time_calls
from depthhand.evaluate.detector import TEST_SEED


@benchmark("detect.cnn", "learned CNN hand detector (ONNX Runtime, 2 threads) on a 640×480 synthetic frame")
def bench_cnn(quick: bool) -> BenchResult:
    """Median latency of ``CnnHandDetector.detect`` on a 640×480 frame with one hand."""
    from depthhand.detect.cnn import DEFAULT_MODEL, CnnHandDetector
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import sample_synthetic_frame

    det = CnnHandDetector()
    sample, depth = sample_synthetic_frame(np.random.default_rng([TEST_SEED, 0]), p_empty=0.0)
    frame = DepthFrame(depth, sample.intrinsics)
    stats = time_calls(lambda: det.detect(frame), repeat=20 if quick else 200)
    return BenchResult(
        name="detect.cnn",
        value=stats["median_ms"],
        unit="ms",
        samples=int(stats["n"]),
        details={**stats, "model_bytes": DEFAULT_MODEL.stat().st_size, "frame": "640x480"},
    )


def legacy_detector_input(depth: np.ndarray, near_mm: float = 100.0, far_mm: float = 8000.0) -> np.ndarray | None:
    """The detector's input as ``CnnHandDetector.detect`` computed it before the fusion (kept for the ratio).

    A finiteness and range mask, ``np.where`` + ``astype`` into a masked copy, then
    :func:`~depthhand.detect.cnn_decode.downscale_depth` (a second mask) and
    :func:`~depthhand.detect.cnn_decode.normalize_depth`, every array freshly allocated.
    """
    from depthhand.detect.cnn_decode import downscale_depth, normalize_depth

    with np.errstate(invalid="ignore"):
        ok = np.isfinite(depth) & (depth >= near_mm) & (depth <= far_mm)
    if not ok.any():
        return None
    masked = np.where(ok, depth, np.float32(0.0)).astype(np.float32)
    small, _ = downscale_depth(masked)
    x: np.ndarray = normalize_depth(small)[None]
    return x


@benchmark("detect.preprocess", "detector input: pre-fusion formula vs detect.cnn_input, alternating rounds, ratio")
def bench_preprocess(quick: bool) -> BenchResult:
    """Old and new pre-processing on the real SR305 frames (else synthetic ones), alternated in rounds.

    The headline is the new median (ms per frame); ``speedup`` is old median / new median over the same frames in
    the same run; ``identical_frames`` counts frames whose network input is bit-identical.
    """
    import time

    from depthhand.bench.live import _sr305_frames
    from depthhand.detect.cnn_input import DetectorInput
    from depthhand.train.detector_data import sample_synthetic_frame

    frames = [f.depth_mm for f in _sr305_frames()]
    data = "sr305-desk" if frames else "synthetic"
    rng = np.random.default_rng([TEST_SEED, 1])
    frames += [sample_synthetic_frame(rng, p_empty=0.0)[1] for _ in range(4)]
    prep = DetectorInput()
    identical = 0
    for depth in frames:
        old, new = legacy_detector_input(depth), prep(depth)
        identical += old is not None and new is not None and bool(np.array_equal(old, new[0]))
    times: dict[str, list[float]] = {"old": [], "new": []}
    calls: dict[str, Callable[[np.ndarray], object]] = {"old": legacy_detector_input, "new": prep}
    for _ in range(3 if quick else 20):
        for name in ("old", "new"):
            fn = calls[name]
            for depth in frames:
                t0 = time.perf_counter()
                fn(depth)
                times[name].append((time.perf_counter() - t0) * 1e3)
    old_ms, new_ms = float(np.median(times["old"])), float(np.median(times["new"]))
    return BenchResult(
        "detect.preprocess",
        new_ms,
        "ms",
        len(times["new"]),
        {
            "old_ms": old_ms,
            "speedup": old_ms / new_ms,
            "new_p95_ms": float(np.percentile(times["new"], 95)),
            "old_p95_ms": float(np.percentile(times["old"], 95)),
            "identical_frames": f"{identical}/{len(frames)}",
            "data": data,
        },
    )
