"""Where the detector runs (``detect_overlap``), on frames that arrive at a camera's rate (``pipeline.overlap_*``).

A live camera delivers a frame every 33 ms; the pipeline takes 2–4 ms of it. With ``detect_overlap="after"`` the
detector runs in the gap, on the frame just returned, so the frames due for detection no longer wait for it. That
only shows when frames arrive at the sensor's rate, so this benchmark paces them at :data:`FPS` (it sleeps until
each frame's time slot) and times each ``process`` call, with ``"off"`` and ``"after"`` alternating in rounds on the
same frames. ``cpu_per_frame_ms`` is the process's whole CPU time over a round (the worker thread's included)
divided by its frames.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark
from depthhand.bench.pipeline import _live_frames

FPS = 30.0
OVERLAPS = ("off", "after")


def _paced_round(pipe: Any, frames: list[Any], totals: list[float]) -> tuple[float, int]:
    """Process ``frames`` from a fresh state at :data:`FPS`, wall ms per frame into ``totals``; (CPU ms, detections)."""
    pipe.reset()
    detections = pipe.detections
    period = 1.0 / FPS
    c0 = time.process_time()
    start = time.perf_counter()
    for i, (frame, _truth) in enumerate(frames):
        slot = start + i * period
        pause = slot - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        t0 = time.perf_counter()
        pipe.process(frame)
        totals.append((time.perf_counter() - t0) * 1e3)
    time.sleep(period)  # the last frame's detection in the worker finishes inside the round
    return (time.process_time() - c0) * 1e3, int(pipe.detections - detections)


def _overlap(n_hands: int, quick: bool) -> BenchResult:
    from depthhand.pipeline import HandPipeline, PipelineOptions

    frames = _live_frames(n_hands, 20 if quick else 150, seed=100 + n_hands)
    pipes = {o: HandPipeline(PipelineOptions(max_hands=n_hands, num_threads=2, detect_overlap=o)) for o in OVERLAPS}
    totals: dict[str, list[float]] = {o: [] for o in OVERLAPS}
    cpu = dict.fromkeys(OVERLAPS, 0.0)
    detected = dict.fromkeys(OVERLAPS, 0)
    try:
        for pipe in pipes.values():  # warm-up, not counted
            _paced_round(pipe, frames[:5], [])
        for _ in range(2 if quick else 4):
            for o, pipe in pipes.items():
                c, d = _paced_round(pipe, frames, totals[o])
                cpu[o] += c
                detected[o] += d
    finally:
        for pipe in pipes.values():
            pipe.close()
    details: dict[str, Any] = {"frames": len(frames), "fps": FPS}
    for o in OVERLAPS:
        n = len(totals[o])
        details |= {
            f"{o}_p50_ms": float(np.median(totals[o])),
            f"{o}_p95_ms": float(np.percentile(totals[o], 95)),
            f"{o}_cpu_per_frame_ms": cpu[o] / n,
            f"{o}_detected_fraction": detected[o] / n,
        }
    details["p95_ratio_after_to_off"] = details["after_p95_ms"] / details["off_p95_ms"]
    return BenchResult(f"pipeline.overlap_{n_hands}hand", details["after_p50_ms"], "ms", len(totals["after"]), details)


@benchmark(
    "pipeline.overlap_1hand",
    "one hand at 30 frames/s: detector before the followed crops vs after the frame (p50, p95, CPU per frame)",
)
def overlap_one_hand(quick: bool) -> BenchResult:
    """One hand per frame."""
    return _overlap(1, quick)


@benchmark(
    "pipeline.overlap_2hand",
    "two hands at 30 frames/s: detector before the followed crops vs after the frame (p50, p95, CPU per frame)",
)
def overlap_two_hands(quick: bool) -> BenchResult:
    """Two hands per frame."""
    return _overlap(2, quick)
