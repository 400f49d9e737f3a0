"""Cost of the pose-stage verification (:mod:`depthhand.pose.verify`) per hand candidate."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark


def _candidates(quick: bool) -> tuple[float, list[tuple[Any, Any, Any, Any]]]:
    """The pose cube (mm) and the (patch, pose, centre, intrinsics) of the candidates on training scenes.

    The shipped detector's and pose network's candidates (the default pipeline's models).

    Hard scenes of the training seed 5150 (2 per case) and top-down scenes of ``default_rng(5151)`` (the streams of
    ``scripts/fit_verify.py``; no held-out or accuracy-benchmark frame).
    """
    from depthhand.evaluate.hard_set import hard_frame
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.structures import DepthFrame
    from depthhand.synth.hard_scenes import HARD_CASES
    from depthhand.synth.scenes import render_scene, sample_scene

    frames: list[Any] = [hard_frame(case, i, 5150) for case in HARD_CASES for i in range(1 if quick else 2)]
    rng = np.random.default_rng(5151)
    frames += [render_scene(sample_scene("topdown", rng, n_hands=1), rng) for _ in range(4 if quick else 20)]
    out = []
    with HandPipeline(PipelineOptions(mode="image", max_hands=2, num_threads=2)) as pipe:
        for n, f in enumerate(frames):
            frame = DepthFrame(f.depth_mm.astype(np.float32), f.intrinsics, 0, "bench", n)
            boxes = pipe.detector.detect(frame)
            poses, patches = pipe._estimate(frame, boxes)
            out += [(patches[j], poses[j], b.center_xyz_mm, f.intrinsics) for j, b in enumerate(boxes)]
        cube = float(pipe.estimator.cube_mm)
    return cube, out


@benchmark("pose.verify", "pose-stage verification: signals + plausibility per hand candidate (µs, median)")
def bench_verify(quick: bool) -> BenchResult:
    """Median time of :func:`~depthhand.pose.verify.verify_signals` + :func:`~depthhand.pose.verify.plausibility`.

    Each round runs every candidate once (after one warm-up round); the figure is the median over candidates and
    rounds of one candidate's time.
    """
    from depthhand.pose.verify import plausibility, verify_signals

    cube, cands = _candidates(quick)
    times: list[float] = []
    for r in range(4 if quick else 21):
        for patch, pose, center, k in cands:
            t0 = time.perf_counter()
            s = verify_signals(patch, pose, center, cube, k)
            plausibility(s)
            if r > 0:
                times.append((time.perf_counter() - t0) * 1e6)
    q = statistics.quantiles(times, n=20)
    return BenchResult(
        "pose.verify",
        statistics.median(times),
        "us",
        len(times),
        {"candidates": len(cands), "p5_us": q[0], "p95_us": q[-1], "mean_us": statistics.fmean(times)},
    )
