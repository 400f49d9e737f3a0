"""``depthhand run``: the live pipeline on any source, headless or with a window."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from depthhand.commands._pipeline_args import (
    add_output_arguments,
    add_pipeline_arguments,
    check_count,
    check_output_file,
    check_output_folder,
    check_output_targets,
    pipeline_options,
)

NAME = "run"
HELP = "Run the live pipeline (detect, pose, track) on a source; write poses as JSONL."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument(
        "--source",
        default="synthetic://topdown?realtime=0",
        help="source URL (synthetic://topdown, folder:DIR, FILE.dhrec, realsense://, openni://, ...)",
    )
    parser.add_argument("--out", type=Path, help="write one JSON record per frame here (JSONL)")
    parser.add_argument(
        "--record", type=Path, help="also record the depth and the hands to this .mcap file (Foxglove opens it)"
    )
    parser.add_argument("--max-frames", type=int, help="stop after N >= 1 frames (default: until the source ends)")
    parser.add_argument("--view", action="store_true", help="show an OpenCV window (needs a display)")
    parser.add_argument("--overlay", type=Path, help="write overlay PNGs to this folder")
    parser.add_argument("--overlay-every", type=int, default=30, help="frames between overlay PNGs (>= 1)")
    add_pipeline_arguments(parser)
    parser.add_argument(
        "--calibration",
        type=Path,
        metavar="FILE",
        help="projector calibration JSON (a serve data folder's calibration.json): touch and hover from its table "
        "plane, projector pixels from its mapping",
    )
    parser.add_argument(
        "--touch-rule",
        choices=("fused", "pose", "pixels"),
        default=None,
        help="what decides a touch: the fingertip joint's height and its depth pixels filtered together (fused, the "
        "default), the joint's height alone (pose), or the depth pixels against the learned table (pixels)",
    )
    add_output_arguments(parser)
    parser.add_argument("--summary", type=Path, help="write the run summary (timings, accuracy) as JSON here")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.output import open_outputs
    from depthhand.runner import run_source

    check_arguments(args)
    calibration = _calibration(args)
    options = pipeline_options(args)
    outputs = open_outputs(args.osc, args.tuio)
    summary = run_source(
        args.source,
        options,
        args.out,
        args.max_frames,
        args.view,
        args.overlay,
        args.overlay_every,
        log=sys.stderr,
        record_path=args.record,
        calibration=calibration,
        outputs=outputs,
        touch_rule=args.touch_rule,
    )
    info = summary.to_dict()
    stages = ", ".join(f"{k} {v:.2f}" for k, v in info["median_stage_ms"].items())
    backend = f" (pose on {info['pose_backend']})" if info["pose_backend"] else ""
    print(
        f"{info['frames']} frames ({info['bad_frames']} rejected), {info['fps']:.1f} fps; median ms: {stages}{backend}"
    )
    if info["accuracy"]:
        acc = info["accuracy"]
        print(
            f"live accuracy vs ground truth: mean 3D error {acc['mean_error_mm']:.2f} mm, hand recall "
            f"{acc['hand_recall']:.3f}, false hands/frame {acc['false_hands_per_frame']:.3f}, "
            f"success(20 mm) {acc['success_20mm']:.3f}"
            + (f", handedness {acc['handedness_accuracy']:.3f}" if "handedness_accuracy" in acc else "")
        )
    if info["touch"]:
        t = info["touch"]
        err = "–" if t["pos_err_median_mm"] is None else f"{t['pos_err_median_mm']:.1f} mm"
        print(
            f"touch vs ground truth ({t['rule']} rule, true table plane): precision {t['precision']:.3f}, recall "
            f"{t['recall']:.3f}, {t['false_touches_per_min']:.1f} false touches/min, median position error {err} "
            f"({t['true_contacts']} true contacts, {t['detected_contacts']} detected)"
        )
    if args.record is not None and info["recorded_frames"]:
        print(f"recorded {info['recorded_frames']} frames with their hands to {args.record}")
    if info["record_error"]:
        print(info["record_error"], file=sys.stderr)
    for name, stats in info["outputs"].items():
        failed = f", {stats['errors']} failed (last: {stats['last_error']})" if stats["errors"] else ""
        print(f"{name.upper()} to {stats['target']}: {stats['sent']} bundles sent{failed}")
    if args.summary:
        args.summary.write_text(json.dumps(info, indent=2))
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse unusable values before the source is opened (``ValueError`` naming the option)."""
    check_count("--max-frames", args.max_frames, unlimited_when_omitted=True)
    check_count("--overlay-every", args.overlay_every)
    check_output_file("--out", args.out)
    check_output_file("--summary", args.summary)
    check_output_file("--record", args.record)
    if args.record is not None and args.record.suffix != ".mcap":
        raise ValueError(f"--record should end in .mcap (it holds depth and hands), got {args.record}")
    check_output_folder("--overlay", args.overlay)
    check_output_targets(args)
    if args.tuio is not None and args.calibration is None:
        raise ValueError(
            "--tuio needs --calibration FILE: TUIO positions are normalised to the projector image (calibrate with "
            "depthhand serve → /calibrate; its data folder keeps calibration.json)"
        )


def _calibration(args: argparse.Namespace) -> Any:
    """The ``--calibration`` file's :class:`~depthhand.interact.calibration.Calibration`, or ``None``.

    Raises:
        ValueError: The file is not a calibration, or ``--tuio`` is asked for and it has no projector mapping.
        FileNotFoundError: The file does not exist.
    """
    if args.calibration is None:
        return None
    from depthhand.interact.calibration import load_calibration

    calibration = load_calibration(args.calibration)
    if args.tuio is not None and not calibration.can_map:
        raise ValueError(f"--tuio: the calibration {args.calibration} has no projector mapping (only a table plane)")
    if calibration.plane is None:
        print(f"note: the calibration {args.calibration} has no table plane: no touch or hover events", file=sys.stderr)
    return calibration
