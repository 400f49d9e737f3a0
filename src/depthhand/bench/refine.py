"""Cost of the model-based refinement (``pose/refine.py``) per hand, apart from the rest of the pipeline."""

from __future__ import annotations

import time

import numpy as np

from depthhand.bench.core import BenchResult, benchmark


@benchmark("refine.hand", "model-based refinement of one hand (network joints → fit), median ms on one thread")
def refine_hand(quick: bool) -> BenchResult:
    """Held-out top-down and frontal frames (seed 2024, as ``pipeline.accuracy_*``), the fit timed alone.

    The network's poses come first; then :meth:`HandRefiner.fit <depthhand.pose.refine.HandRefiner.fit>` is timed
    (wall and thread CPU time).
    """
    from depthhand.bench.pipeline import _frames
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.pose.refine import HandRefiner

    cases = []
    with HandPipeline(PipelineOptions(max_hands=2, num_threads=2, refine=False)) as pipe:
        for scene in ("topdown", "frontal"):
            for frame, _ in _frames(scene, 1, 10 if quick else 60, seed=2024):
                boxes = pipe.detector.detect(frame)[:2]
                cases += [(frame, p) for p in pipe.estimate(frame, boxes)]
    refiner = HandRefiner()
    for frame, pose in cases[:3]:  # compile / load the kernels
        refiner.fit(frame, pose.joints_xyz_mm, pose.handedness)
    wall, cpu, used = [], [], 0
    for _ in range(1 if quick else 5):
        for frame, pose in cases:
            t0, c0 = time.perf_counter(), time.thread_time()
            res = refiner.fit(frame, pose.joints_xyz_mm, pose.handedness)
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - t0)
            used += res.used
    w, c = np.array(wall) * 1e3, np.array(cpu) * 1e3
    details = {
        "wall_p95_ms": float(np.percentile(w, 95)),
        "cpu_median_ms": float(np.median(c)),
        "cpu_p95_ms": float(np.percentile(c, 95)),
        "hands": len(cases),
        "used_fraction": used / len(w),
    }
    return BenchResult("refine.hand", float(np.median(w)), "ms", len(w), details)
