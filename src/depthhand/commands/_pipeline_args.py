"""Command-line options shared by the verbs that run the pipeline (``run``, ``predict``); not a verb itself.

Also the checks those verbs (and ``record``) make on their arguments before any work: each raises ``ValueError``
with a one-line message naming the option, which :func:`depthhand.cli.main` prints before exiting with status 1.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from depthhand.pose.backends import BACKENDS

DEFAULT_DETECT_EVERY = 3
"""``--detect-every`` default; the same as :data:`depthhand.pipeline.DEFAULT_DETECT_EVERY` (a test checks)."""
DEFAULT_DETECT_EVERY_FULL = 10
"""``--detect-every-full`` default; the same as :data:`depthhand.pipeline.DEFAULT_DETECT_EVERY_FULL` (a test checks)."""


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Pipeline options: model, detector, hands, birth, threads, detector period, backend, TTA, refine, verify."""
    parser.add_argument("--model", type=Path, help="pose model .onnx (default: the shipped depthhand_fast)")
    parser.add_argument(
        "--detector",
        default="auto",
        choices=("auto", "cnn", "classical", "geo"),
        help="hand detector: the learned CNN (auto = cnn when shipped), the classical nearest blob, or geo (the CNN "
        "rescored with geometric proposals)",
    )
    parser.add_argument("--max-hands", type=int, default=2)
    parser.add_argument(
        "--min-score",
        type=float,
        default=0.5,
        help="smallest detection score that starts a new hand (weaker detections only continue tracked hands; with "
        "--verify, detections from 0.3 also start one when their pose is plausible)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="inference threads (one pool shared by the detector and pose models)"
    )
    parser.add_argument(
        "--detect-every",
        type=int,
        default=None,
        metavar="N",
        help="live streams: while hands are tracked, run the detector every N-th frame and follow the hands in "
        f"between (a new hand may be found a few frames later; 1 = every frame; default {DEFAULT_DETECT_EVERY}; "
        "single images always detect)",
    )
    parser.add_argument(
        "--detect-every-full",
        type=int,
        default=None,
        metavar="N",
        help="live streams: the detector's period while --max-hands hands are followed (no new hand can be taken "
        f"then; default {DEFAULT_DETECT_EVERY_FULL}, or 1 with --detect-every 1)",
    )
    parser.add_argument(
        "--detect-overlap",
        default="off",
        choices=("off", "beside", "after"),
        help="live streams, on a frame due for detection while hands are followed: run the detector before the "
        "followed crops (off), in a worker thread beside them (beside), or on the previous frame once its result is "
        "out (after: in the time a camera leaves between frames; the slowest frames take about 40 %% less at 30 "
        "frames/s, a new hand is found about a frame later)",
    )
    add_pose_runtime_arguments(parser)
    from depthhand.pipeline import DEFAULT_REFINE, DEFAULT_VERIFY, DEFAULT_VERIFY_FULL

    parser.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_REFINE,
        help="fit the hand model to each hand's depth after the pose network (needs numba: the [refine] extra; "
        f"default {'on' if DEFAULT_REFINE else 'off'})",
    )
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_VERIFY,
        help="check each hand's pose against its depth (joints on the hand, depth behind the surface, bone lengths, "
        "free space, fit residual): weaker detections with a plausible pose start hands, implausible ones none "
        f"(default {'on' if DEFAULT_VERIFY else 'off'})",
    )
    parser.add_argument(
        "--verify-full",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_VERIFY_FULL,
        help="live streams, with --verify: while --max-hands hands are followed, verify them every "
        "--detect-every-full frames instead of running the detector (it still runs on a lost crop; default "
        f"{'on' if DEFAULT_VERIFY_FULL else 'off'})",
    )
    parser.add_argument(
        "--recenter",
        type=int,
        default=0,
        metavar="PASSES",
        help="re-centre each new detection's crop on its pose's palm this many times before the pose that is kept "
        "(0 = off, the default; 1: hard synthetic recall 0.847 -> 0.864, top-down / frontal error -0.37 / -0.45 mm, "
        "one more pose-network call per new detection; BENCHMARKS.md)",
    )


def add_pose_runtime_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--pose-backend``, ``--tta-deg``, ``--tta-mirror`` (also for ``eval --model``); ``prefix`` starts the help."""
    parser.add_argument(
        "--pose-backend",
        default="auto",
        choices=BACKENDS,
        help=f"{prefix}pose inference runtime (default auto: onnxruntime-int8 where the model has an int8 copy "
        "(depthhand quantize) and the CPU has VNNI or AVX2, else openvino-bf16 where openvino is installed and the "
        "CPU has bf16, else onnxruntime fp32)",
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


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--osc HOST:PORT`` and ``--tuio HOST:PORT`` (:mod:`depthhand.output`), for ``run`` and ``serve``."""
    parser.add_argument(
        "--osc",
        metavar="HOST:PORT",
        help="also send every frame as one OSC bundle over UDP: hands, joints (mm, projector px) and events "
        "(address space in the README)",
    )
    parser.add_argument(
        "--tuio",
        metavar="HOST:PORT",
        help="also send the touches as TUIO 1.1 /tuio/2Dcur cursors over UDP, normalised to the projector image "
        "(needs a projector calibration)",
    )


def check_output_targets(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` naming ``--osc`` / ``--tuio`` unless each given one is a resolvable ``HOST:PORT``."""
    from depthhand.output.udp import parse_target

    for option in ("--osc", "--tuio"):
        value = getattr(args, option[2:])
        if value is not None:
            parse_target(option, value)


def pipeline_options(args: argparse.Namespace) -> Any:
    """The :class:`depthhand.pipeline.PipelineOptions` the parsed options ask for.

    Raises:
        ValueError: For ``--threads`` below 1 (the other values are checked by the options themselves).
    """
    from depthhand.pipeline import PipelineOptions
    from depthhand.track.tracker import TrackerConfig

    check_count("--threads", args.threads)
    every = getattr(args, "detect_every", None)
    check_count("--detect-every", every)
    full = getattr(args, "detect_every_full", None)
    check_count("--detect-every-full", full)
    return PipelineOptions(
        detect_every=DEFAULT_DETECT_EVERY if every is None else every,
        detect_every_full=full,
        detect_overlap=getattr(args, "detect_overlap", "off"),
        pose_model=args.model,
        detector=args.detector,
        max_hands=args.max_hands,
        num_threads=args.threads,
        pose_backend=args.pose_backend,
        pose_tta_deg=args.tta_deg,
        pose_tta_mirror=args.tta_mirror,
        tracker=TrackerConfig(birth_score=args.min_score),
        refine=args.refine,
        verify=args.verify,
        verify_full=args.verify_full,
        recenter=getattr(args, "recenter", 0),
    )


def check_count(option: str, value: int | None, *, unlimited_when_omitted: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is ``None`` (option omitted) or at least 1.

    Args:
        option: The option's name, for the message (``"--max-frames"``).
        value: The parsed value.
        unlimited_when_omitted: Say in the message that omitting the option means no limit.
    """
    if value is not None and value < 1:
        hint = " (omit it for no limit)" if unlimited_when_omitted else ""
        raise ValueError(f"{option} must be at least 1{hint}, got {value}")


def check_positive(option: str, value: float | None, unit: str = "") -> None:
    """Raise ``ValueError`` unless ``value`` is ``None`` or a positive finite number (NaN and inf refused)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{option} must be a positive finite number{' of ' + unit if unit else ''}, got {value}")


def check_output_file(option: str, path: Path | None) -> None:
    """Raise ``ValueError`` if ``path`` cannot be a file to write: a directory, or in a folder that does not exist."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory; give the name of a file to write")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist")


def check_output_folder(option: str, path: Path | None) -> None:
    """Raise ``ValueError`` if ``path`` exists and is not a folder (it is created when missing)."""
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is an existing file, not a folder")
