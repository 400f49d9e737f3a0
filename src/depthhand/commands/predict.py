"""``depthhand predict``: hand poses in depth images from any camera."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from depthhand.commands._pipeline_args import add_pipeline_arguments, pipeline_options

NAME = "predict"
HELP = "Estimate hand poses in depth images (single-image mode); JSON out, optional overlay PNGs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("files", nargs="+", type=Path, help="depth images")
    parser.add_argument("--intrinsics", required=True, help="preset (nyu, sr305, astra, ...) or fx,fy,cx,cy[,w,h]")
    parser.add_argument("--depth-format", default="png16", choices=("png16", "nyu-rgb"))
    parser.add_argument("--depth-scale", type=float, default=1.0, help="mm per raw unit (png16), e.g. 0.125")
    parser.add_argument("--out", type=Path, help="write the poses as JSON here (default: print)")
    parser.add_argument("--overlay", type=Path, help="write depth + skeleton PNGs to this folder")
    add_pipeline_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.predict import predict_files, write_json

    options = pipeline_options(args)
    records = predict_files(args.files, args.intrinsics, args.depth_format, args.depth_scale, options, args.overlay)
    if args.out:
        write_json(records, args.out)
        print(f"{sum(len(r['hands']) for r in records)} hand(s) in {len(records)} image(s) -> {args.out}")
    else:
        print(json.dumps(records, indent=1))
    return 0
