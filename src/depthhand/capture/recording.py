"""depthhand's own recording format (``.dhrec``): vendor-neutral, chunked, append-only.

Layout (all integers little-endian)::

    file header   MAGIC (8 bytes) | version u16 | json_len u32 | JSON (utf-8) | crc32(JSON) u32
    chunk × N     CHUNK_MAGIC (4) | n_frames u32 | height u16 | width u16 | codec u8 | 3 reserved bytes
                  | payload_len u32 | crc32(header fields + payload) u32 | payload (payload_len bytes)
    payload       codec-compressed bytes of: timestamps_us int64[n] | indices int64[n] | depth uint16[n, H, W]

The JSON header holds ``intrinsics`` (:meth:`CameraIntrinsics.to_dict`), ``depth_unit_mm`` (mm per stored
uint16 step), ``source`` and ``created_utc``. Depth is stored as ``round(depth_mm / depth_unit_mm)``; 0 = invalid.

Chunks are written whole and flushed, so a crash loses at most the chunk being filled. The writer writes to
``FILE.partial`` and renames it to ``FILE`` on :meth:`RecordingWriter.close`; a ``.partial`` left by a crash reads
like a finished file.

The reader stops cleanly at a truncated last chunk (``stats.truncated``: the file ends inside it and no valid chunk
follows). At a corrupt chunk (bad header, CRC mismatch, undecodable payload, or a ``payload_len`` running past the
end of the file while a valid chunk follows) it either raises :class:`RecordingError` naming the file and byte
offset (``on_corrupt="raise"``, the default) or resynchronises (``on_corrupt="skip"``): it searches forward from the
bad chunk's first byte + 1 for the next ``CHUNK_MAGIC`` whose header and CRC validate, in windows with
``bytes.find``, and goes on there. Each skipped region counts in ``stats.corrupt_chunks``, ``stats.bytes_skipped``
and ``stats.frames_skipped`` (the frames its header claims, if it has the chunk magic); ``stats.last_error`` names
the file and offset. A ``payload_len`` is trusted only up to the chunk's raw size plus compression overhead, so
no read is much larger than one chunk.

The design follows the reference's advice for an inspectable vendor-neutral format (depth + intrinsics +
timestamps); the byte layout is depthhand's own.
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from depthhand.capture.base import DepthSource, SourceStats
from depthhand.structures import CameraIntrinsics, DepthFrame

log = logging.getLogger(__name__)

MAGIC = b"DHREC\r\n\x1a"
VERSION = 1
CHUNK_MAGIC = b"DHCK"
_FILE_HEAD = struct.Struct("<8sHI")
_CHUNK_HEAD = struct.Struct("<4sIHHB3xII")  # magic, n, h, w, codec, pad, payload_len, crc
CODECS = {"raw": 0, "zlib": 1, "lz4": 2}
_CODEC_NAMES = {v: k for k, v in CODECS.items()}
MAX_CHUNK_FRAMES = 10_000
SCAN_WINDOW = 1 << 20
"""Bytes read at a time while searching for the next valid chunk after a corrupt one."""

Codec = Literal["raw", "zlib", "lz4"]


class RecordingError(ValueError):
    """A ``.dhrec`` file is not a recording or has a corrupt part; the message names the file and offset."""


def _compress(data: bytes, codec: int, level: int) -> bytes:
    if codec == CODECS["zlib"]:
        return zlib.compress(data, level)
    if codec == CODECS["lz4"]:
        from depthhand.capture.base import require

        lz4_frame: Any = require("lz4.frame", "lz4", extra="sensors")
        out: bytes = lz4_frame.compress(data)
        return out
    return data


def _decompress(data: bytes, codec: int) -> bytes:
    if codec == CODECS["zlib"]:
        return zlib.decompress(data)
    if codec == CODECS["lz4"]:
        from depthhand.capture.base import require

        lz4_frame: Any = require("lz4.frame", "lz4", extra="sensors")
        out: bytes = lz4_frame.decompress(data)
        return out
    return data


class RecordingWriter:
    """Append depth frames to a ``.dhrec`` file, one chunk every ``chunk_frames`` frames.

    Args:
        path: Output file (``.dhrec``); written as ``path + ".partial"`` until :meth:`close`.
        intrinsics: The camera of every frame.
        depth_unit_mm: mm per stored uint16 step (default ``intrinsics.depth_unit_mm``; 0.125 keeps SR305 data
            lossless, 1.0 covers 65 m).
        chunk_frames: Frames per chunk (a crash loses at most this many).
        codec: ``"zlib"`` (default), ``"lz4"`` (needs the ``lz4`` package) or ``"raw"``.
        level: zlib level (1 = fast).
        source: Free text stored in the header (the source URL).

    Example:
        >>> with RecordingWriter("take.dhrec", frame.intrinsics) as rec:  # doctest: +SKIP
        ...     rec.write(frame)
    """

    def __init__(
        self,
        path: str | Path,
        intrinsics: CameraIntrinsics,
        depth_unit_mm: float | None = None,
        chunk_frames: int = 30,
        codec: Codec = "zlib",
        level: int = 1,
        source: str = "",
    ) -> None:
        if codec not in CODECS:
            raise ValueError(f"recording codec must be one of {sorted(CODECS)}, got {codec!r}")
        if not 1 <= chunk_frames <= MAX_CHUNK_FRAMES:
            raise ValueError(f"chunk_frames must be in [1, {MAX_CHUNK_FRAMES}], got {chunk_frames}")
        self.path = Path(path)
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.intrinsics = intrinsics
        self.depth_unit_mm = float(depth_unit_mm if depth_unit_mm is not None else intrinsics.depth_unit_mm)
        if not np.isfinite(self.depth_unit_mm) or self.depth_unit_mm <= 0:
            raise ValueError(f"depth_unit_mm must be positive, got {self.depth_unit_mm}")
        self.chunk_frames = chunk_frames
        self.codec = CODECS[codec]
        self.level = level
        self.frames_written = 0
        self._pending: list[tuple[int, int, npt.NDArray[np.uint16]]] = []
        if codec == "lz4":
            _compress(b"", self.codec, level)  # fail now, not at the first chunk, if lz4 is missing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: io.FileIO | None = io.FileIO(self.partial_path, "wb")  # unbuffered: a failed write is undone
        header = {
            "format": "depthhand-rec",
            "version": VERSION,
            "intrinsics": intrinsics.to_dict(),
            "depth_unit_mm": self.depth_unit_mm,
            "source": source,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "axes": "x_right,y_down,z_forward",
        }
        blob = json.dumps(header).encode()
        self._end = 0  # end of the last whole chunk
        self._append(_FILE_HEAD.pack(MAGIC, VERSION, len(blob)) + blob + struct.pack("<I", zlib.crc32(blob)))

    def write(self, frame: DepthFrame) -> None:
        """Queue one frame; a full chunk is compressed and appended.

        Raises:
            ValueError: If the frame's size differs from the recording's intrinsics.
        """
        if self._file is None:
            raise ValueError(f"{self.path}: the recording is closed")
        k = self.intrinsics
        if frame.depth_mm.shape != (k.height, k.width):
            raise ValueError(
                f"{self.path}: frame {frame.index} is {frame.depth_mm.shape}, recording is {k.height}×{k.width}"
            )
        raw = np.rint(np.nan_to_num(frame.depth_mm, nan=0.0, posinf=0.0) / self.depth_unit_mm)
        raw = np.clip(raw, 0, 65535).astype(np.uint16)
        self._pending.append((int(frame.timestamp_us), int(frame.index), raw))
        if len(self._pending) >= self.chunk_frames:
            self.flush()

    def flush(self) -> None:
        """Write the queued frames as one chunk (no-op when none are queued)."""
        if not self._pending or self._file is None:
            return
        n = len(self._pending)
        h, w = self._pending[0][2].shape
        ts = np.array([p[0] for p in self._pending], "<i8").tobytes()
        idx = np.array([p[1] for p in self._pending], "<i8").tobytes()
        depth = np.stack([p[2] for p in self._pending]).astype("<u2").tobytes()
        payload = _compress(ts + idx + depth, self.codec, self.level)
        fields = _CHUNK_HEAD.pack(CHUNK_MAGIC, n, h, w, self.codec, len(payload), 0)[:-4]
        crc = zlib.crc32(payload, zlib.crc32(fields[4:]))
        self._append(fields + struct.pack("<I", crc) + payload)
        self.frames_written += n
        self._pending.clear()

    def _append(self, data: bytes) -> None:
        """Write ``data`` whole at the end, or (disk full, a signal mid-write) cut it off again and raise."""
        assert self._file is not None
        view = memoryview(data)
        try:
            while view:
                view = view[self._file.write(view) or 0 :]
        except BaseException:
            try:
                os.ftruncate(self._file.fileno(), self._end)
                self._file.seek(self._end)
            except OSError:
                pass  # the reader stops at the half chunk (stats.truncated)
            raise
        self._end += len(data)

    def close(self) -> Path:
        """Write the last chunk and rename ``FILE.partial`` to ``FILE``; returns the final path.

        If that last write fails, the file still holds every earlier chunk: it is renamed all the same and the
        error is raised.
        """
        if self._file is not None:
            try:
                self.flush()
            finally:
                self._file.close()
                self._file = None
                self.partial_path.replace(self.path)
        return self.path

    def discard(self) -> None:
        """Close without keeping anything: queued frames are dropped and ``FILE.partial`` is deleted."""
        if self._file is not None:
            self._pending.clear()
            self._file.close()
            self._file = None
            self.partial_path.unlink(missing_ok=True)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_header(f: BinaryIO, path: Path) -> dict[str, Any]:
    head = f.read(_FILE_HEAD.size)
    if len(head) < _FILE_HEAD.size or head[:8] != MAGIC:
        raise RecordingError(f"{path} is not a depthhand recording (bad magic; expected {MAGIC!r})")
    _, version, json_len = _FILE_HEAD.unpack(head)
    if version > VERSION:
        raise RecordingError(f"{path}: recording version {version} is newer than this reader ({VERSION})")
    blob = f.read(json_len)
    crc = f.read(4)
    if len(blob) < json_len or len(crc) < 4 or struct.unpack("<I", crc)[0] != zlib.crc32(blob):
        raise RecordingError(f"{path}: the recording header is truncated or corrupt")
    header: dict[str, Any] = json.loads(blob)
    for key in ("intrinsics", "depth_unit_mm"):
        if key not in header:
            raise RecordingError(f"{path}: the recording header lacks {key!r}")
    return header


class RecordingSource(DepthSource):
    """Read a ``.dhrec`` file as a finite :class:`DepthSource`.

    Args:
        path: The recording (``.dhrec`` or a crash-left ``.dhrec.partial``).
        on_corrupt: ``"raise"`` a :class:`RecordingError` at a corrupt chunk, or ``"skip"`` it with a warning
            (the reader then searches for the next valid chunk; see the module docstring).
        url: Source id for the frames (default ``rec:PATH``).
    """

    def __init__(self, path: str | Path, on_corrupt: Literal["raise", "skip"] = "raise", url: str = "") -> None:
        super().__init__(url or f"rec:{path}")
        if on_corrupt not in ("raise", "skip"):
            raise ValueError(f"on_corrupt must be 'raise' or 'skip', got {on_corrupt!r}")
        self.path = Path(path)
        self.on_corrupt = on_corrupt
        self.header: dict[str, Any] = {}
        self._file: BinaryIO | None = None
        self._frames: Iterator[DepthFrame] | None = None

    def _open(self) -> CameraIntrinsics:
        if not self.path.is_file():
            raise FileNotFoundError(f"recording {self.path} does not exist")
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed in _close()
        try:
            self.header = _read_header(self._file, self.path)
            intrinsics = CameraIntrinsics.from_dict(self.header["intrinsics"])
        except (ValueError, KeyError) as exc:
            self._file.close()
            raise RecordingError(f"{self.path}: bad recording header: {exc}") from exc
        self._frames = self._iter_frames(self._file, intrinsics, float(self.header["depth_unit_mm"]))
        return intrinsics

    def _read(self) -> DepthFrame | None:
        if self._frames is None:
            return None
        return next(self._frames, None)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._frames = None

    def _iter_frames(self, f: BinaryIO, intrinsics: CameraIntrinsics, unit_mm: float) -> Iterator[DepthFrame]:
        offset: int | None = f.tell()
        while offset is not None:
            chunk, offset = self._read_chunk(f, offset, intrinsics)
            if chunk is None:
                continue
            n, data = chunk
            h, w = intrinsics.height, intrinsics.width
            ts = np.frombuffer(data, "<i8", n, 0)
            idx = np.frombuffer(data, "<i8", n, 8 * n)
            depth = np.frombuffer(data, "<u2", n * h * w, 16 * n).reshape(n, h, w)
            for i in range(n):
                d_mm = depth[i].astype(np.float32) * np.float32(unit_mm)
                yield DepthFrame(d_mm, intrinsics, int(ts[i]), self.url, int(idx[i]))

    def _read_chunk(self, f: BinaryIO, offset: int, k: CameraIntrinsics) -> tuple[tuple[int, bytes] | None, int | None]:
        """Read the chunk at ``offset``: ``((n, decompressed payload) or None, where to go on or None at the end)``."""
        f.seek(offset)
        head = f.read(_CHUNK_HEAD.size)
        if not head:
            return None, None
        if len(head) < _CHUNK_HEAD.size:
            self._truncated(offset)
            return None, None
        magic, n, _, _, codec, payload_len, crc = _CHUNK_HEAD.unpack(head)
        if not _plausible(head, k):
            claimed = n if magic == CHUNK_MAGIC and 0 < n <= MAX_CHUNK_FRAMES else 0
            return None, self._corrupt(f, offset, k, "bad chunk header", claimed)
        end = offset + _CHUNK_HEAD.size + payload_len
        size = os.fstat(f.fileno()).st_size
        if end > size:  # a cut-off last chunk, or a corrupt payload_len: a valid chunk further on tells them apart
            nxt = _find_chunk(f, offset + 1, k)
            if nxt is None:
                self._truncated(offset)
                return None, None
            why = f"payload_len {payload_len} runs past the end of the file ({size} bytes)"
            return None, self._corrupt(f, offset, k, why, n, nxt)
        payload = f.read(payload_len)
        if zlib.crc32(payload, zlib.crc32(head[4:-4])) != crc:
            return None, self._corrupt(f, offset, k, "CRC mismatch", n)
        try:
            data = _decompress(payload, codec)
            if len(data) != n * (16 + 2 * k.height * k.width):
                raise ValueError(f"payload holds {len(data)} bytes, expected {n * (16 + 2 * k.height * k.width)}")
        except (ValueError, RuntimeError, zlib.error) as exc:
            return None, self._corrupt(f, offset, k, f"undecodable payload: {exc}", n)
        return (n, data), end

    def _corrupt(
        self, f: BinaryIO, offset: int, k: CameraIntrinsics, why: str, n_claimed: int, nxt: int | None = -1
    ) -> int | None:
        """Handle the corrupt chunk at ``offset``: raise, or return the next valid chunk's offset (None: none).

        ``nxt`` is that offset when the caller already searched for it (-1: not searched yet).
        """
        message = f"{self.path}: corrupt chunk at byte {offset}: {why}"
        if self.on_corrupt == "raise":
            raise RecordingError(message + " (open with on_corrupt='skip' to skip it)")
        if nxt == -1:
            nxt = _find_chunk(f, offset + 1, k)
        count_skipped_chunk(self.stats, log, message, offset, nxt, os.fstat(f.fileno()).st_size, n_claimed)
        return nxt

    def _truncated(self, offset: int) -> None:
        log.warning("%s: recording ends inside the chunk at byte %d (crash or copy cut short)", self.path, offset)
        self.stats.truncated = True


def count_skipped_chunk(
    stats: SourceStats, logger: logging.Logger, message: str, offset: int, nxt: int | None, size: int, frames: int
) -> None:
    """Log and count one corrupt chunk skipped from byte ``offset`` to ``nxt`` (``None``: to the end, ``size``).

    The one wording and set of counters of every recording reader (``.dhrec`` and MCAP): ``corrupt_chunks``,
    ``bytes_skipped``, ``frames_skipped`` (the frames the chunk claimed) and the error text.
    """
    end = nxt if nxt is not None else size
    where = f"the next valid chunk at byte {nxt}" if nxt is not None else "the end (no valid chunk follows)"
    message += f"; skipped {end - offset} bytes to {where}"
    logger.warning("%s", message)
    stats.error(message)
    stats.add(corrupt_chunks=1, bytes_skipped=end - offset, frames_skipped=frames)


def _plausible(head: bytes, k: CameraIntrinsics) -> bool:
    """Whether a chunk header's fields could be the writer's for frames of ``k`` (the CRC decides)."""
    magic, n, h, w, codec, payload_len, _ = _CHUNK_HEAD.unpack(head)
    if magic != CHUNK_MAGIC or not 0 < n <= MAX_CHUNK_FRAMES or codec not in _CODEC_NAMES:
        return False
    raw = n * (16 + 2 * h * w)
    return (h, w) == (k.height, k.width) and payload_len <= raw + raw // 64 + 4096  # zlib/lz4 worst-case growth


def _find_chunk(f: BinaryIO, start: int, k: CameraIntrinsics) -> int | None:
    """Offset of the first valid chunk (plausible header, CRC matches) at or after ``start``, or ``None``.

    The file is searched in windows of :data:`SCAN_WINDOW` bytes with ``bytes.find``, never read whole.
    """
    size = os.fstat(f.fileno()).st_size
    pos = start
    while pos < size:
        f.seek(pos)
        window = f.read(SCAN_WINDOW + len(CHUNK_MAGIC) - 1)  # overlap: a marker across two windows is found once
        i = window.find(CHUNK_MAGIC)
        while 0 <= i < SCAN_WINDOW:
            if _valid_chunk_at(f, pos + i, size, k):
                return pos + i
            i = window.find(CHUNK_MAGIC, i + 1)
        pos += SCAN_WINDOW
    return None


def _valid_chunk_at(f: BinaryIO, offset: int, size: int, k: CameraIntrinsics) -> bool:
    """Whether a chunk of frames of ``k`` whose header and CRC validate starts at ``offset``."""
    f.seek(offset)
    head = f.read(_CHUNK_HEAD.size)
    if len(head) < _CHUNK_HEAD.size or not _plausible(head, k):
        return False
    payload_len, crc = (int(v) for v in _CHUNK_HEAD.unpack(head)[5:])
    if offset + _CHUNK_HEAD.size + payload_len > size:
        return False
    return zlib.crc32(f.read(payload_len), zlib.crc32(head[4:-4])) == crc
