"""Pipeline variants on the same live frames, alternating in rounds: p50, p95 and CPU time per frame (BENCHMARKS.md).

Usage::

    PYTHONPATH=src python scripts/pipeline_ab.py HANDS [--rounds R] VARIANT [VARIANT ...]

Each ``VARIANT`` is a comma-separated list of :class:`~depthhand.pipeline.PipelineOptions` fields, e.g.
``pose_backend=onnxruntime-int8`` or ``detect_every=6,detect_overlap=after``; ``default`` is the default options.
Integers and ``true``/``false`` are converted. Every variant runs the 200 frames of ``pipeline.{HANDS}hand`` once per
round, in turn, so that the machine's drift touches all of them alike. ``--fps 30`` hands the frames over at a camera's
pace (each frame waits for its slot), so that work done between frames (``detect_overlap=after``) is off the frames'
latency, as it is live. ``cpu`` is the median CPU time of a frame's call, ``cpu/frame(process)`` the process's CPU time
per frame (worker threads included). Variants also print the fraction of frames the detector ran on.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from depthhand.bench.pipeline import _live_frames, _run_block
from depthhand.pipeline import HandPipeline, PipelineOptions


def parse_variant(text: str) -> dict[str, Any]:
    """``"a=1,b=x"`` → ``{"a": 1, "b": "x"}`` (``"default"`` → ``{}``)."""
    if text == "default":
        return {}
    out: dict[str, Any] = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if not _:
            raise SystemExit(f"variant {text!r}: expected KEY=VALUE items, got {item!r}")
        low = value.lower()
        out[key] = True if low == "true" else False if low == "false" else int(value) if value.isdigit() else value
    return out


def main() -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hands", type=int)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--fps", type=float, default=0.0, help="pace the frames like a camera (0: back to back)")
    args = parser.parse_args()
    frames = _live_frames(args.hands, 200, seed=100 + args.hands)
    pipes = {v: HandPipeline(PipelineOptions(max_hands=args.hands, **parse_variant(v))) for v in args.variants}
    stages: dict[str, dict[str, list[float]]] = {k: {} for k in pipes}
    frame_cpu: dict[str, list[float]] = {k: [] for k in pipes}
    process_cpu = dict.fromkeys(pipes, 0.0)
    detected = dict.fromkeys(pipes, 0)
    try:
        for pipe in pipes.values():
            _run_block(pipe, frames[:5], {}, [])
        for _ in range(args.rounds):
            for k, pipe in pipes.items():
                c0 = time.process_time()
                detected[k] += _run_block(pipe, frames, stages[k], frame_cpu[k], fps=args.fps)
                time.sleep(0.05)  # a detection still running in a worker thread ends inside this round
                process_cpu[k] += (time.process_time() - c0) * 1e3
    finally:
        for pipe in pipes.values():
            pipe.close()
    for k in pipes:
        total = stages[k]["total"]
        print(
            f"{k:40s} p50 {np.median(total):.3f} p95 {np.percentile(total, 95):.3f} "
            f"cpu {np.median(frame_cpu[k]):.3f} cpu/frame(process) {process_cpu[k] / len(total):.3f} "
            f"detected {detected[k] / len(total):.2f} "
            + " ".join(f"{s} {np.median(v):.3f}" for s, v in stages[k].items() if s != "total")
        )


if __name__ == "__main__":
    main()
