"""Latency benchmark of the learned hand detector (``detect.cnn``).

Its quality (recall, precision, centre error on held-out synthetic and real SR305 frames) is measured by
:mod:`depthhand.evaluate.detector`.
"""

from __future__ import annotations

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
