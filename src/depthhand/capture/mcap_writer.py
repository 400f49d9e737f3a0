"""Write depth frames (and hand poses) to an MCAP recording; the layout is in :mod:`depthhand.capture.mcap_format`."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

import depthhand
from depthhand.capture.base import require
from depthhand.capture.mcap_format import (
    CALIBRATION_TOPIC,
    CAMERA_CALIBRATION,
    DEPTH_TOPIC,
    FORMAT,
    FRAME_ID,
    HANDS_SCHEMA,
    HANDS_TOPIC,
    PROFILE,
    RAW_IMAGE,
    VERSION,
    calibration_message,
    foxglove_classes,
    hands_schema_data,
    quantize,
    schema_data,
)
from depthhand.capture.recording import MAX_CHUNK_FRAMES
from depthhand.structures import CameraIntrinsics, DepthFrame, FrameResult

McapCodec = Literal["lz4", "zstd", "raw"]
MCAP_CODECS: tuple[McapCodec, ...] = ("lz4", "zstd", "raw")
_NO_AUTO_CHUNK = 1 << 62
"""The ``mcap`` writer's own size-based chunking is switched off; chunks close every ``chunk_frames`` frames."""


class _AppendFile:
    """The writer's output: unbuffered appends with a byte counter, cut back to the last whole chunk on failure."""

    def __init__(self, path: Path) -> None:
        self.raw: Any = io.FileIO(path, "wb")
        self.pos = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        while view:
            view = view[self.raw.write(view) or 0 :]
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        return None

    def cut(self, end: int) -> None:
        """Drop everything after byte ``end`` (a half-written chunk)."""
        try:
            os.ftruncate(self.raw.fileno(), end)
            self.raw.seek(end)
            self.pos = end
        except OSError:
            pass  # the reader stops at the half record (stats.truncated)

    def close(self) -> None:
        self.raw.close()


class McapRecordingWriter:
    """Append depth frames to an ``.mcap`` file, one chunk every ``chunk_frames`` frames.

    Args:
        path: Output file (``.mcap``); written as ``path + ".partial"`` until :meth:`close`.
        intrinsics: The camera of every frame.
        depth_unit_mm: mm per stored uint16 step (default ``intrinsics.depth_unit_mm``, lossless for the sensor).
        chunk_frames: Frames per chunk (a crash loses at most this many).
        codec: Chunk compression: ``"lz4"`` (default, fastest), ``"zstd"`` (files about 30 % smaller, about twice
            the write cost) or ``"raw"`` (none).
        source: The source URL, stored in the ``depthhand`` metadata record.
        hands: ``joint_set`` and ``joint_names`` of the poses to record on ``/hands`` (``None``: no hands channel).

    Example:
        >>> with McapRecordingWriter("take.mcap", frame.intrinsics) as rec:  # doctest: +SKIP
        ...     rec.write(frame)
    """

    def __init__(
        self,
        path: str | Path,
        intrinsics: CameraIntrinsics,
        depth_unit_mm: float | None = None,
        chunk_frames: int = 30,
        codec: McapCodec = "lz4",
        source: str = "",
        hands: Mapping[str, str | Sequence[str]] | None = None,
    ) -> None:
        if codec not in MCAP_CODECS:
            raise ValueError(f"MCAP chunk compression must be one of {list(MCAP_CODECS)}, got {codec!r}")
        if not 1 <= chunk_frames <= MAX_CHUNK_FRAMES:
            raise ValueError(f"chunk_frames must be in [1, {MAX_CHUNK_FRAMES}], got {chunk_frames}")
        writer_mod: Any = require("mcap.writer", "mcap", extra="mcap")
        self.raw_image, calibration = foxglove_classes()
        self.path = Path(path)
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.intrinsics = intrinsics
        self.depth_unit_mm = float(depth_unit_mm if depth_unit_mm is not None else intrinsics.depth_unit_mm)
        if not np.isfinite(self.depth_unit_mm) or self.depth_unit_mm <= 0:
            raise ValueError(f"depth_unit_mm must be positive, got {self.depth_unit_mm}")
        self.chunk_frames = chunk_frames
        self.frames_written = 0
        self._calibration_class = calibration
        self._in_chunk = 0
        self._calibrated = False
        self._failed = False
        compression = {"zstd": "ZSTD", "lz4": "LZ4", "raw": "NONE"}[codec]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: _AppendFile | None = _AppendFile(self.partial_path)
        self._writer: Any = writer_mod.Writer(
            self._file, chunk_size=_NO_AUTO_CHUNK, compression=writer_mod.CompressionType[compression]
        )
        self._writer.start(PROFILE, f"depthhand {depthhand.__version__}; {writer_mod.LIBRARY_IDENTIFIER}")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        meta = {"format": FORMAT, "version": str(VERSION), "source": source, "created_utc": created}
        self._writer.add_metadata("depthhand", meta)
        self._end = self._file.tell()  # the end of the last whole record group (header, metadata, chunk)
        unit = {"depth_unit_mm": repr(self.depth_unit_mm), "frame_id": FRAME_ID}
        image_schema = self._writer.register_schema(RAW_IMAGE, "protobuf", schema_data(self.raw_image))
        self._image = self._writer.register_channel(DEPTH_TOPIC, "protobuf", image_schema, unit)
        cal_schema = self._writer.register_schema(CAMERA_CALIBRATION, "protobuf", schema_data(calibration))
        sensor_unit = {"depth_unit_mm": repr(float(intrinsics.depth_unit_mm)), "frame_id": FRAME_ID}
        self._calibration = self._writer.register_channel(CALIBRATION_TOPIC, "protobuf", cal_schema, sensor_unit)
        self._hands: int | None = None
        if hands is not None:
            hands_meta = {k: v if isinstance(v, str) else json.dumps(list(v)) for k, v in hands.items()}
            hands_schema = self._writer.register_schema(HANDS_SCHEMA, "jsonschema", hands_schema_data())
            self._hands = self._writer.register_channel(HANDS_TOPIC, "json", hands_schema, hands_meta)

    def write(self, frame: DepthFrame, hands: FrameResult | None = None) -> None:
        """Queue one frame (and its hands, in the same chunk); a full chunk is compressed and appended.

        The first frame is preceded by the calibration, flushed as a chunk of its own.

        Raises:
            ValueError: The frame's size differs from the recording's, its timestamp is negative, or ``hands``
                are given to a writer made without ``hands``.
            OSError: Writing failed; the file keeps every earlier chunk and the writer takes no more frames.
        """
        if self._file is None or self._failed:
            raise ValueError(f"{self.path}: the recording is {'closed' if self._file is None else 'broken'}")
        k = self.intrinsics
        if frame.depth_mm.shape != (k.height, k.width):
            raise ValueError(
                f"{self.path}: frame {frame.index} is {frame.depth_mm.shape}, recording is {k.height}×{k.width}"
            )
        if frame.timestamp_us < 0:
            raise ValueError(f"{self.path}: frame {frame.index} has a negative timestamp_us {frame.timestamp_us}")
        if hands is not None and self._hands is None:
            raise ValueError(f"{self.path}: this recording was opened without a hands channel (hands=None)")
        t_ns = int(frame.timestamp_us) * 1000
        if not self._calibrated:
            cal = calibration_message(self._calibration_class, k, t_ns)
            self._writer.add_message(self._calibration, t_ns, cal.SerializeToString(), t_ns)
            self._calibrated = True
            self._commit()
        steps = quantize(frame.depth_mm, self.depth_unit_mm)
        msg = self.raw_image(frame_id=FRAME_ID, width=k.width, height=k.height, encoding="16UC1", step=2 * k.width)
        msg.data = steps.astype("<u2", copy=False).tobytes()
        msg.timestamp.FromNanoseconds(t_ns)
        seq = int(frame.index) & 0xFFFFFFFF  # MCAP sequence numbers are uint32
        self._writer.add_message(self._image, t_ns, msg.SerializeToString(), t_ns, seq)
        if hands is not None and self._hands is not None:
            blob = json.dumps(hands.to_dict(), allow_nan=False).encode()
            self._writer.add_message(self._hands, t_ns, blob, t_ns, seq)
        self._in_chunk += 1
        if self._in_chunk >= self.chunk_frames:
            self.flush()

    def flush(self) -> None:
        """Write the queued frames as one chunk (no-op when none are queued)."""
        if self._in_chunk and self._file is not None and not self._failed:
            self._commit()
            self.frames_written += self._in_chunk
            self._in_chunk = 0

    def _commit(self) -> None:
        """Close the chunk being filled and append it whole, or cut the half-written bytes off again and raise."""
        assert self._file is not None
        try:
            self._writer.flush()
        except BaseException:
            self._failed = True
            self._file.cut(self._end)
            raise
        self._end = self._file.tell()

    def close(self) -> Path:
        """Write the last chunk, the summary and the footer, and rename ``FILE.partial`` to ``FILE``.

        If a write fails, the file keeps every earlier whole chunk (without summary; still readable): it is
        renamed all the same and the error is raised. A writer broken by an earlier failure only renames.
        """
        if self._file is not None:
            try:
                if not self._failed:
                    self.flush()
                    try:
                        self._writer.finish()
                    except BaseException:
                        self._file.cut(self._end)
                        raise
            finally:
                self._file.close()
                self._file = None
                self.partial_path.replace(self.path)
        return self.path

    def discard(self) -> None:
        """Close without keeping anything: queued frames are dropped and ``FILE.partial`` is deleted."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self.partial_path.unlink(missing_ok=True)

    def __enter__(self) -> McapRecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
