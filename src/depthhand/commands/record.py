"""``depthhand record``: copy any depth source into a ``.dhrec`` recording."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "record"
HELP = "Record a depth source (camera, folder, recording, synthetic) to a .dhrec file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument(
        "--source", required=True, help="source URL, e.g. realsense://, folder:DIR?intrinsics=sr305 (or fx,fy,cx,cy)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output .dhrec file")
    parser.add_argument("--max-frames", type=int, help="stop after N >= 1 frames (default: until the source ends)")
    parser.add_argument("--chunk-frames", type=int, default=30, help="frames per chunk (a crash loses at most these)")
    parser.add_argument(
        "--unit-mm", type=float, default=None, help="mm per stored step (default: the source's depth unit)"
    )
    parser.add_argument("--codec", choices=("zlib", "lz4", "raw"), default="zlib", help="chunk compression")


def run(args: argparse.Namespace) -> int:
    """Run the verb; Ctrl-C ends the recording cleanly."""
    from depthhand.capture.base import MissingExtraError, SourceError

    try:
        return _record(args)
    except (MissingExtraError, SourceError) as exc:
        raise ValueError(str(exc)) from exc  # printed by the CLI as a clean error


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse unusable values before the source is opened (``ValueError`` naming the option)."""
    from depthhand.commands._pipeline_args import check_count, check_output_file, check_positive

    check_count("--max-frames", args.max_frames, unlimited_when_omitted=True)
    check_count("--chunk-frames", args.chunk_frames)
    check_positive("--unit-mm", args.unit_mm, "mm per stored step")
    out = Path(args.out)
    if out.suffix != ".dhrec":
        raise ValueError(f"--out should end in .dhrec, got {out}")
    check_output_file("--out", out)


def _record(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from depthhand.capture.recording import RecordingWriter
    from depthhand.capture.sources import open_source

    check_arguments(args)
    out = Path(args.out)
    with open_source(args.source) as source:
        writer = RecordingWriter(
            out,
            source.intrinsics,
            depth_unit_mm=args.unit_mm,
            chunk_frames=args.chunk_frames,
            codec=args.codec,
            source=args.source,
        )
        bar = tqdm(total=args.max_frames, unit="frame", desc="record")
        count = 0
        try:
            for frame in source:
                writer.write(frame)
                count += 1
                bar.update(1)
                if args.max_frames is not None and count >= args.max_frames:
                    break
        except KeyboardInterrupt:
            print("interrupted; closing the recording")
        finally:
            bar.close()
            path = writer.close()
    stats = source.stats
    size_mb = path.stat().st_size / 1e6
    print(f"wrote {writer.frames_written} frames to {path} ({size_mb:.2f} MB); skipped {stats.frames_skipped}")
    return 0
