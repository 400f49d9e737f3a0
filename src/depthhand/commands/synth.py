"""``depthhand synth``: write a synthetic depth-hand dataset and/or a preview gallery."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "synth"
HELP = (
    "Render a sharded synthetic depth-hand dataset (depth PNGs + labels), pre-cut training crops (--crops N, an "
    ".npz for train --data crops:FILE) and/or a preview gallery."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("--scene", default="topdown", help="frontal | topdown | egocentric (default topdown)")
    parser.add_argument("--count", type=int, default=100, help="number of frames to render (default 100)")
    parser.add_argument("--out", type=Path, help="output dataset folder")
    parser.add_argument("--seed", type=int, default=0, help="master seed; the same seed gives identical data")
    parser.add_argument(
        "--noise",
        help="structured_light | active_stereo | tof | random | default | none (default: 'default', the scene's "
        "sensor, for frames; 'random' for --crops)",
    )
    parser.add_argument("--shard-size", type=int, default=1000, help="frames per shard folder")
    parser.add_argument("--intrinsics", help="camera: a preset name, an intrinsics JSON file or fx,fy,cx,cy,w,h")
    parser.add_argument("--preview", type=Path, help="write a gallery PNG (of the dataset when --out is given)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--crops",
        type=int,
        help="write N labelled hand crops to --out FILE.npz instead of frames (--scene may list several families, "
        "comma-separated; they alternate in chunks of 64)",
    )
    parser.add_argument(
        "--min-in-image",
        type=float,
        default=0.0,
        help="with --crops: keep hands with at least this fraction of joints inside the image",
    )
    parser.add_argument(
        "--max-in-image",
        type=float,
        default=1.0,
        help="with --crops: keep hands with at most this fraction of joints inside the image (e.g. 0.99: only "
        "hands reaching in over the image edge)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.geometry.camera import parse_intrinsics
    from depthhand.synth.scenes import SCENES

    if args.crops is not None:
        return _write_crops(args)
    args.noise = args.noise or "default"
    if args.scene not in SCENES:
        raise ValueError(f"--scene must be one of {', '.join(SCENES)}, got {args.scene!r}")
    if args.out is None and args.preview is None:
        raise ValueError("give --out DIR (write a dataset) and/or --preview OUT.png")
    intr = None
    if args.intrinsics:
        intr = parse_intrinsics(args.intrinsics)
    noise = None if args.noise == "none" else args.noise
    if args.out is not None:
        from depthhand.synth.dataset import write_dataset

        path = write_dataset(
            args.out, args.count, args.scene, args.seed, noise, args.shard_size, intr, progress=not args.quiet
        )
        print(f"wrote {args.count} {args.scene} frames to {path.parent}")
    if args.preview is not None:
        if args.out is not None:
            from depthhand.synth.dataset import SynthDatasetReader
            from depthhand.synth.preview import samples_gallery

            reader = SynthDatasetReader(args.out)
            recs = [reader[i] for i in range(min(8, len(reader)))]
            samples_gallery(
                args.preview,
                [r.depth_mm for r in recs],
                [r.joints_uvd for r in recs],
                [f"{args.scene} #{r.index}" for r in recs],
            )
        else:
            from depthhand.synth.preview import NOISE_MODELS, scene_gallery

            models = NOISE_MODELS if args.noise == "default" else (noise,)
            scene_gallery(args.preview, args.seed, [args.scene], models)
        print(f"wrote preview {args.preview}")
    return 0


def _write_crops(args: argparse.Namespace) -> int:
    from depthhand.train.synth_data import generate_crop_arrays, save_crop_arrays

    if args.out is None or args.out.suffix != ".npz":
        raise ValueError(f"--crops writes one .npz file: give --out FILE.npz (got {args.out})")
    if args.crops <= 0:
        raise ValueError(f"--crops must be a positive number of crops, got {args.crops}")
    scenes = tuple(args.scene.split(","))
    noise = None if args.noise == "none" else (args.noise or "random")
    arrays = generate_crop_arrays(
        args.crops,
        args.seed,
        scenes,
        noise=noise,
        progress=not args.quiet,
        min_in_image=args.min_in_image,
        max_in_image=args.max_in_image,
    )
    save_crop_arrays(arrays, args.out)
    print(f"wrote {args.crops} crops ({', '.join(scenes)}, seed {args.seed}) to {args.out}")
    return 0
