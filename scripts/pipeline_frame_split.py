"""Median stage times of the one-hand pipeline, split into frames where the detector ran and followed frames.

Usage: ``python scripts/pipeline_frame_split.py [PASSES]`` (the 200 live one-hand frames of ``pipeline.1hand``).
"""

from __future__ import annotations

import sys

import numpy as np

from depthhand.bench.pipeline import _live_frames
from depthhand.pipeline import HandPipeline, PipelineOptions


def main(passes: int = 4) -> None:
    """Print, per kind of frame, the count, the median of each timing key and the p95 of the total, ms."""
    frames = _live_frames(1, 200, seed=101)
    pipe = HandPipeline(PipelineOptions(max_hands=1, num_threads=2))
    for frame, _ in frames[:5]:  # warm-up
        pipe.process(frame)
    rows: dict[str, dict[str, list[float]]] = {"detected": {}, "followed": {}}
    for _ in range(passes):
        pipe.reset()
        for frame, _ in frames:
            before = pipe.detections
            result = pipe.process(frame)
            kind = "detected" if pipe.detections > before else "followed"
            for key, value in result.timings_ms.items():
                rows[kind].setdefault(key, []).append(value)
    pipe.close()
    for kind, stages in rows.items():
        medians = {k: round(float(np.median(v)), 3) for k, v in stages.items()}
        print(kind, len(stages["total"]), medians, "p95", round(float(np.percentile(stages["total"], 95)), 2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
