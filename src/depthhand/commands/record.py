"""``depthhand record``: copy any depth source into a ``.dhrec`` or ``.mcap`` recording.

The format follows the ``--out`` suffix: ``.dhrec`` (:mod:`depthhand.capture.recording`, chunks zlib-compressed by
default) or ``.mcap`` (:mod:`depthhand.capture.mcap_format`, Foxglove-readable, chunks lz4-compressed by default;
the ``mcap`` extra).

Nothing recorded is lost when the recording stops early:

* Ctrl-C (SIGINT) or SIGTERM ends the recording cleanly: the last chunk is written, ``FILE.partial`` is renamed
  to ``FILE`` and the command exits 0. While a chunk is being written the signal waits for the write to finish,
  so no half chunk is left in the file.
* A source that fails mid-recording (a device error, a corrupt input file) leaves the frames read so far in a
  valid ``FILE``; the command exits 1 with one line naming the error and what was kept.
* A source that yields no frame leaves no file behind (the ``.partial`` is deleted) and the command exits 1.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from depthhand.capture.mcap_writer import McapRecordingWriter
    from depthhand.capture.recording import RecordingWriter
    from depthhand.structures import DepthFrame

NAME = "record"
CODECS = {".dhrec": ("zlib", "lz4", "raw"), ".mcap": ("lz4", "zstd", "raw")}
"""Chunk compressions by output suffix (the first is the default)."""
HELP = "Record a depth source (camera, folder, recording, synthetic) to a .dhrec or .mcap file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument(
        "--source", required=True, help="source URL, e.g. realsense://, folder:DIR?intrinsics=sr305 (or fx,fy,cx,cy)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output file: .dhrec, or .mcap (Foxglove, mcap tools)")
    parser.add_argument("--max-frames", type=int, help="stop after N >= 1 frames (default: until the source ends)")
    parser.add_argument("--chunk-frames", type=int, default=30, help="frames per chunk (a crash loses at most these)")
    parser.add_argument(
        "--unit-mm", type=float, default=None, help="mm per stored step (default: the source's depth unit)"
    )
    parser.add_argument(
        "--codec",
        choices=("zlib", "lz4", "zstd", "raw"),
        default=None,
        help="chunk compression: .dhrec zlib (default), lz4 or raw; .mcap lz4 (default), zstd or raw",
    )


def run(args: argparse.Namespace) -> int:
    """Run the verb; Ctrl-C or SIGTERM ends the recording cleanly (see the module docstring)."""
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
    if out.suffix not in CODECS:
        raise ValueError(f"--out should end in .dhrec or .mcap, got {out}")
    if args.codec is not None and args.codec not in CODECS[out.suffix]:
        raise ValueError(
            f"--codec {args.codec} is not one for {out.suffix}; use one of {', '.join(CODECS[out.suffix])}"
        )
    check_output_file("--out", out)


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during the recording (a ``KeyboardInterrupt``, so both end it the same way).

    Args:
        signum: The signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """``"SIGINT"`` or ``"SIGTERM"``."""
        return signal.Signals(self.signum).name


class StopSignals:
    """While active, SIGINT and SIGTERM raise :class:`Stopped`; the old handlers come back on exit.

    Inside a shielded stretch (:meth:`write`, or while :attr:`shielded` is set) a signal is only noted, and
    :meth:`write` raises it when the write is done; a second signal is only noted (the first one is already
    closing the recording). Handlers can only be installed from the main thread; elsewhere
    this does nothing (Ctrl-C keeps its default).
    """

    def __init__(self) -> None:
        self.signum = 0
        self.shielded = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.signum
        self.signum = signum
        if first and not self.shielded:
            raise Stopped(signum)

    def write(self, writer: RecordingWriter | McapRecordingWriter, frame: DepthFrame) -> None:
        """``writer.write(frame)`` with signals held off until it returns, then raised as :class:`Stopped`."""
        self.shielded = True
        try:
            writer.write(frame)
        finally:
            self.shielded = False
        if self.signum:
            raise Stopped(self.signum)


def _record(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from depthhand.capture.sources import open_source

    check_arguments(args)
    out = Path(args.out)
    failure: Exception | None = None
    with open_source(args.source) as source, StopSignals() as signals:
        writer = _writer(args, out, source.intrinsics)
        bar = tqdm(total=args.max_frames, unit="frame", desc="record")
        count = 0
        try:
            for frame in source:
                signals.write(writer, frame)
                count += 1
                bar.update(1)
                if args.max_frames is not None and count >= args.max_frames:
                    break
        except Stopped as exc:
            print(f"interrupted ({exc.name}); closing the recording")
        except KeyboardInterrupt:  # Ctrl-C outside the main thread
            print("interrupted; closing the recording")
        except Exception as exc:  # a failing source: keep what was recorded, then report it in one line
            failure = exc
        finally:
            signals.shielded = True  # a later signal must not cut the last chunk or the rename short
            bar.close()
            try:
                writer.discard() if count == 0 else writer.close()
            except OSError as exc:  # the last chunk could not be written; the earlier ones are in the file
                failure = failure or exc
    if count == 0:
        why = f": {failure}" if failure is not None else " (the source ended or was stopped before its first frame)"
        raise ValueError(f"no frame was recorded from {args.source}{why}; {out} was not written") from failure
    if failure is not None:
        raise ValueError(f"{failure} (after {writer.frames_written} frames; they are kept in {out})") from failure
    size_mb = out.stat().st_size / 1e6
    stats = source.stats
    skipped = f"skipped {stats.frames_skipped}"
    if stats.corrupt_chunks:
        skipped += f" in {stats.corrupt_chunks} corrupt part(s) ({stats.bytes_skipped} bytes)"
    print(f"wrote {writer.frames_written} frames to {out} ({size_mb:.2f} MB); {skipped}")
    return 0


def _writer(args: argparse.Namespace, out: Path, intrinsics: Any) -> RecordingWriter | McapRecordingWriter:
    """The writer for ``out``'s format (the codec defaults to the format's first)."""
    codec: Any = args.codec or CODECS[out.suffix][0]  # one of CODECS[out.suffix] (check_arguments)
    if out.suffix == ".mcap":
        from depthhand.capture.mcap_writer import McapRecordingWriter

        return McapRecordingWriter(
            out, intrinsics, depth_unit_mm=args.unit_mm, chunk_frames=args.chunk_frames, codec=codec, source=args.source
        )
    from depthhand.capture.recording import RecordingWriter

    return RecordingWriter(
        out, intrinsics, depth_unit_mm=args.unit_mm, chunk_frames=args.chunk_frames, codec=codec, source=args.source
    )
