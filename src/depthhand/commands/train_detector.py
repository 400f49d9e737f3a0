"""``depthhand train-detector``: train the learned depth-only hand detector and export it to ONNX."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "train-detector"
HELP = "Train the CNN hand detector on synthetic scenes (plus optional labelled real frames); export ONNX."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument(
        "--cache",
        type=Path,
        action="append",
        help="folder of rendered synthetic frames (rendered when empty); repeat for several (default OUT.cache)",
    )
    parser.add_argument("--render-count", type=int, default=6000, help="frames rendered into each empty cache folder")
    parser.add_argument(
        "--hard-fraction",
        type=float,
        default=0.0,
        help="fraction of frames rendered from the hard scene cases (depthhand.synth.hard_scenes) into empty cache "
        "folders; 0 (default) = the standard scenes only, 1 = hard scenes only",
    )
    parser.add_argument(
        "--live-fraction",
        type=float,
        default=0.0,
        help="fraction of live-style frames (random moments of the animated top-down source, hands entering and "
        "leaving; labelled as the live benchmark scores them) rendered into empty cache folders; 0 (default) = none",
    )
    parser.add_argument("--cache-seed", type=int, default=1000, help="seed of the first rendered cache (+1 per folder)")
    parser.add_argument("--render-only", action="store_true", help="render the empty cache folders, then stop")
    parser.add_argument(
        "--init", type=Path, help="start from these weights: a .pt checkpoint or a detector ONNX (e.g. the shipped one)"
    )
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate (one-cycle schedule)")
    parser.add_argument("--width", type=int, default=32, help="network width (channels at stride 4)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=25.0, help="stop (and export) after this wall time")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument(
        "--real-labels",
        type=Path,
        help="JSON of real frames with box labels (format: depthhand.evaluate.real_labels)",
    )
    parser.add_argument("--real-frames", type=Path, help="folder of the labelled real 16-bit PNG frames")
    parser.add_argument("--real-camera", default="sr305", help="camera preset of the real frames (default sr305)")
    parser.add_argument("--real-repeat", type=int, default=20, help="times each real frame is used per epoch")
    parser.add_argument("--summary", type=Path, help="write the training summary JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.train.detector import DetectorTrainConfig, train_detector

    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError(f"--epochs and --batch-size must be ≥ 1, got {args.epochs}, {args.batch_size}")
    if args.out.suffix != ".onnx":
        raise ValueError(f"--out must end in .onnx, got {args.out}")
    if (args.real_labels is None) != (args.real_frames is None):
        raise ValueError("--real-labels and --real-frames go together")
    if not 0.0 <= args.hard_fraction <= 1.0:
        raise ValueError(f"--hard-fraction must be in [0, 1], got {args.hard_fraction}")
    if not 0.0 <= args.live_fraction <= 1.0:
        raise ValueError(f"--live-fraction must be in [0, 1], got {args.live_fraction}")
    if args.init is not None and not args.init.is_file():
        raise FileNotFoundError(f"--init weights not found: {args.init}")
    if args.real_labels is not None and not args.real_labels.is_file():
        raise FileNotFoundError(f"--real-labels file not found: {args.real_labels}")
    caches = tuple(args.cache) if args.cache else (args.out.with_suffix(".cache"),)
    cfg = DetectorTrainConfig(
        cache_dirs=caches,
        out=args.out,
        render_count=args.render_count,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        width=args.width,
        threads=args.threads,
        seed=args.seed,
        max_minutes=args.max_minutes,
        max_steps=args.max_steps,
        real_labels=args.real_labels,
        real_frames=args.real_frames,
        real_camera=args.real_camera,
        real_repeat=args.real_repeat,
        hard_fraction=args.hard_fraction,
        live_fraction=args.live_fraction,
        cache_seed=args.cache_seed,
        init=args.init,
    )
    if args.render_only:
        from depthhand.train.detector import render_caches

        render_caches(cfg, progress=not args.quiet)
        print(f"rendered {len(caches)} cache folder(s)")
        return 0
    summary = train_detector(cfg, progress=not args.quiet)
    text = json.dumps(summary, indent=1)
    if args.summary is not None:
        from depthhand.atomic import write_text

        args.summary.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.summary, text)
    print(f"wrote {args.out} ({summary['onnx_bytes']} bytes) after {summary['steps']} steps")
    return 0
