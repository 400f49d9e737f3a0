"""One hand or two, back to back: detect_overlap off/after × verification on/off, alternating in rounds (BENCHMARKS.md).

Usage::

    PYTHONPATH=src python scripts/pipeline_variants_ab.py 1   # or 2 (hands)

Prints per variant the median and 95th percentile of the frame time (ms) and the process's CPU time per frame (ms,
worker threads included) over 200 live frames × 4 rounds.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from depthhand.bench.pipeline import _live_frames, _run_block
from depthhand.pipeline import HandPipeline, PipelineOptions


def main() -> None:
    """Command line (module docstring)."""
    n_hands = int(sys.argv[1])
    frames = _live_frames(n_hands, 200, seed=100 + n_hands)
    variants = {
        f"{overlap}{'+' if verify else '-no'}verify": PipelineOptions(
            max_hands=n_hands, detect_overlap=overlap, verify=verify
        )
        for verify in (True, False)
        for overlap in ("off", "after")
    }
    pipes = {k: HandPipeline(v) for k, v in variants.items()}
    stages: dict[str, dict[str, list[float]]] = {k: {} for k in variants}
    cpu_s = dict.fromkeys(variants, 0.0)
    try:
        for pipe in pipes.values():
            _run_block(pipe, frames[:5], {}, [])
        for _ in range(4):
            for k, pipe in pipes.items():
                c0 = time.process_time()
                _run_block(pipe, frames, stages[k], [])
                time.sleep(0.05)  # the last frame's detection in the worker ends inside the round
                cpu_s[k] += time.process_time() - c0
    finally:
        for pipe in pipes.values():
            pipe.close()
    for k in variants:
        total = stages[k]["total"]
        print(
            f"{k:16s} p50 {np.median(total):.3f} p95 {np.percentile(total, 95):.3f} "
            f"cpu/frame(process) {cpu_s[k] / len(total) * 1e3:.3f}"
        )


if __name__ == "__main__":
    main()
