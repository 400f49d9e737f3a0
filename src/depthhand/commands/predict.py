"""``depthhand predict``: hand poses in depth images from any camera."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from depthhand.commands._pipeline_args import (
    add_pipeline_arguments,
    check_output_file,
    check_output_folder,
    pipeline_options,
)

NAME = "predict"
HELP = "Estimate hand poses in depth images (single-image mode); JSON out, optional overlay PNGs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("files", nargs="+", type=Path, help="depth images")
    parser.add_argument(
        "--intrinsics",
        required=True,
        help="preset (nyu, sr305, astra, ...), fx,fy,cx,cy[,width,height] in px (size: the image's), "
        "or an intrinsics JSON file",
    )
    parser.add_argument("--depth-format", default="png16", choices=("png16", "nyu-rgb"))
    parser.add_argument("--depth-scale", type=float, default=1.0, help="mm per raw unit (png16), e.g. 0.125")
    parser.add_argument("--out", type=Path, help="write the poses as JSON here (default: print)")
    parser.add_argument("--overlay", type=Path, help="write depth + skeleton PNGs to this folder")
    parser.add_argument(
        "--processes",
        type=int,
        help="worker processes, each with its own pipeline (default: one per core for 64 images or more, else 1)",
    )
    add_pipeline_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the verb.

    Every readable image's poses are written; each unreadable image is reported on stderr and makes the exit
    status 1.
    """
    from depthhand.predict import predict_batch, records_to_json, write_json

    check_output_file("--out", args.out)
    check_output_folder("--overlay", args.overlay)
    options = pipeline_options(args)
    batch = predict_batch(
        args.files,
        args.intrinsics,
        args.depth_format,
        args.depth_scale,
        options,
        args.overlay,
        processes=args.processes,  # None: one worker per core for a long list
    )
    for _file, reason in batch.failures:
        print(f"depthhand predict: error: {reason}", file=sys.stderr)
    records = batch.records
    if args.out and records:
        write_json(records, args.out)
        print(f"{sum(len(r['hands']) for r in records)} hand(s) in {len(records)} image(s) -> {args.out}")
    elif not args.out:
        print(records_to_json(records))
    if batch.failures:
        unwritten = f"; {args.out} not written" if args.out and not records else ""
        print(
            f"depthhand predict: error: {len(batch.failures)} of {len(args.files)} image(s) could not be read"
            + unwritten,
            file=sys.stderr,
        )
        return 1
    return 0
