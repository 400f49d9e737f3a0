"""Command-line options shared by the verbs that run the pipeline (``run``, ``predict``); not a verb itself."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from depthhand.pose.backends import BACKENDS


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Model, detector, hand count, birth threshold, threads, pose backend and test-time rotation."""
    parser.add_argument("--model", type=Path, help="pose model .onnx (default: the shipped depthhand_fast)")
    parser.add_argument("--detector", default="auto", choices=("auto", "cnn", "classical"))
    parser.add_argument("--max-hands", type=int, default=2)
    parser.add_argument(
        "--min-score",
        type=float,
        default=0.5,
        help="smallest detection score that starts a new hand (weaker detections only continue tracked hands)",
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads per model")
    add_pose_runtime_arguments(parser)


def add_pose_runtime_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--pose-backend``, ``--tta-deg``, ``--tta-mirror`` (also for ``eval --model``); ``prefix`` starts the help."""
    parser.add_argument(
        "--pose-backend",
        default="onnxruntime",
        choices=BACKENDS,
        help=f"{prefix}pose inference runtime (openvino-bf16: bfloat16 where the CPU has it)",
    )
    parser.add_argument(
        "--tta-deg",
        type=float,
        default=0.0,
        metavar="DEG",
        help=f"{prefix}test-time rotation: average the pose over views at 0 and ±DEG degrees (3× pose cost; 0 = off)",
    )
    parser.add_argument(
        "--tta-mirror",
        action="store_true",
        help=f"{prefix}test-time mirroring: also average the left-right mirror image of every view (2× pose cost)",
    )


def pipeline_options(args: argparse.Namespace) -> Any:
    """The :class:`depthhand.pipeline.PipelineOptions` the parsed options ask for."""
    from depthhand.pipeline import PipelineOptions
    from depthhand.track.tracker import TrackerConfig

    return PipelineOptions(
        pose_model=args.model,
        detector=args.detector,
        max_hands=args.max_hands,
        num_threads=args.threads,
        pose_backend=args.pose_backend,
        pose_tta_deg=args.tta_deg,
        pose_tta_mirror=args.tta_mirror,
        tracker=TrackerConfig(birth_score=args.min_score),
    )
