"""Play an MCAP recording (:mod:`depthhand.capture.mcap_format`) back as a :class:`DepthSource`.

The reader walks the file's records in order (MCAP's framing: opcode u8, length u64, body) and needs neither the
summary nor the footer, so a file left by a killed writer plays every whole chunk. Each chunk's framing is checked
(the compression name and the records length must agree with the record length), then the ``mcap`` library
decompresses it, checks its CRC and splits it into schemas, channels and messages.

It stops cleanly at a truncated last record (``stats.truncated``: the file ends inside it and no valid chunk
follows). At a corrupt part (unknown opcode, a chunk that fails its framing, CRC or decompression, a record length
running past the end while a valid chunk follows, an undecodable depth image) it raises :class:`RecordingError`
naming the file, the chunk number and the byte offset (``on_corrupt="raise"``, the default), or skips it
(``on_corrupt="skip"``): it searches forward from the bad record's first byte + 1 for the next chunk whose framing
and CRC validate, in windows, and goes on there. The counters are the ``.dhrec`` reader's: ``stats.corrupt_chunks``
and ``stats.bytes_skipped`` per skipped region, ``stats.frames_skipped`` (the depth images that the bad chunk's
message index lists, when it is readable, else 0; or 1 per undecodable image), ``stats.last_error``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from depthhand.capture.base import DepthSource, require
from depthhand.capture.mcap_format import (
    CALIBRATION_TOPIC,
    CAMERA_CALIBRATION,
    DEPTH_ENCODINGS,
    DEPTH_TOPIC,
    HANDS_TOPIC,
    RAW_IMAGE,
    VERSION,
    foxglove_classes,
    intrinsics_from_calibration,
    unit_from_metadata,
)
from depthhand.capture.recording import SCAN_WINDOW, RecordingError, count_skipped_chunk
from depthhand.structures import CameraIntrinsics, DepthFrame

log = logging.getLogger(__name__)

MAGIC = b"\x89MCAP0\r\n"
_HEAD = struct.Struct("<BQ")  # opcode, length
_CHUNK_FIXED = struct.Struct("<QQQII")  # start time, end time, uncompressed size, uncompressed crc, len(compression)
_CHUNK, _MESSAGE_INDEX, _METADATA, _DATA_END, _FOOTER = 0x06, 0x07, 0x0C, 0x0F, 0x02
_SCHEMA, _CHANNEL, _MESSAGE = 0x03, 0x04, 0x05
_OPCODES = frozenset(range(0x01, 0x10))
_COMPRESSIONS = (b"", b"zstd", b"lz4")
MAX_CHUNK_BYTES = 1 << 31
"""A chunk claiming more (compressed or not) is corrupt: no read or decompression is larger."""
MAX_RECORD_BYTES = 1 << 26
"""Other records (indexes, metadata, schemas) larger than this are corrupt."""


class McapRecordingSource(DepthSource):
    """Read a depthhand ``.mcap`` recording as a finite :class:`DepthSource`.

    Args:
        path: The recording (``.mcap``, or a crash-left ``.mcap.partial``).
        on_corrupt: ``"raise"`` a :class:`RecordingError` at a corrupt part, or ``"skip"`` it with a warning.
        url: Source id for the frames (default ``mcap:PATH``).

    Attributes:
        header: The ``depthhand`` metadata record (``format``, ``version``, ``source``, ``created_utc``) plus
            ``depth_unit_mm`` (mm per stored step) and ``intrinsics`` (:meth:`CameraIntrinsics.to_dict`).
    """

    def __init__(self, path: str | Path, on_corrupt: Literal["raise", "skip"] = "raise", url: str = "") -> None:
        super().__init__(url or f"mcap:{path}")
        if on_corrupt not in ("raise", "skip"):
            raise ValueError(f"on_corrupt must be 'raise' or 'skip', got {on_corrupt!r}")
        self.path = Path(path)
        self.on_corrupt = on_corrupt
        self.header: dict[str, Any] = {}
        self._file: BinaryIO | None = None
        self._messages: Iterator[tuple[Any, Any]] | None = None
        self._queued: deque[tuple[Any, Any]] = deque()
        self._channels: dict[int, Any] = {}
        self._schemas: dict[int, Any] = {}
        self._raw_image: Any = None
        self._unit_mm = 1.0
        self._chunk_no = 0

    # ---- DepthSource hooks ----------------------------------------------------------------------------------
    def _open(self) -> CameraIntrinsics:
        if not self.path.is_file():
            raise FileNotFoundError(f"MCAP recording {self.path} does not exist")
        require("mcap.reader", "mcap", extra="mcap")
        self._raw_image, calibration = foxglove_classes()
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed in _close()
        try:
            if self._file.read(len(MAGIC)) != MAGIC:
                raise RecordingError(f"{self.path} is not an MCAP file (bad magic; expected {MAGIC!r})")
            self._messages = self._iter_messages(self._file)
            for channel, message in self._messages:
                if channel.topic == DEPTH_TOPIC:
                    self._queued.append((channel, message))
                elif channel.topic == CALIBRATION_TOPIC:
                    return self._calibrate(channel, message, calibration)
            raise RecordingError(
                f"{self.path}: no {CAMERA_CALIBRATION} message on {CALIBRATION_TOPIC} (not a depthhand recording, "
                f"or its first chunk is lost); channels: {sorted(c.topic for c in self._channels.values())}"
            )
        except BaseException:
            self._close()
            raise

    def _read(self) -> DepthFrame | None:
        while self._messages is not None:
            item = self._queued.popleft() if self._queued else next(self._messages, None)
            if item is None:
                return None
            channel, message = item
            if channel.topic != DEPTH_TOPIC:
                continue
            frame = self._decode(message)
            if frame is not None:
                return frame
        return None

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._messages = None
        self._queued.clear()

    # ---- messages -------------------------------------------------------------------------------------------
    def _calibrate(self, channel: Any, message: Any, calibration: Any) -> CameraIntrinsics:
        """The intrinsics of the calibration message; also reads the depth channel's unit."""
        self._check_schema(channel, CAMERA_CALIBRATION)
        try:
            unit = unit_from_metadata(channel.metadata, channel.topic)
            intrinsics = intrinsics_from_calibration(calibration.FromString(message.data), unit)
        except Exception as exc:  # protobuf DecodeError, bad values
            raise RecordingError(f"{self.path}: bad {CAMERA_CALIBRATION} on {channel.topic}: {exc}") from exc
        depth = next((c for c in self._channels.values() if c.topic == DEPTH_TOPIC), None)
        if depth is None:
            topics = sorted(c.topic for c in self._channels.values())
            raise RecordingError(f"{self.path}: no {DEPTH_TOPIC} channel ({RAW_IMAGE}); channels: {topics}")
        self._check_schema(depth, RAW_IMAGE)
        try:
            self._unit_mm = unit_from_metadata(depth.metadata, depth.topic)
        except ValueError as exc:
            raise RecordingError(f"{self.path}: {exc}") from exc
        self.header.update(depth_unit_mm=self._unit_mm, intrinsics=intrinsics.to_dict())
        return intrinsics

    def _check_schema(self, channel: Any, name: str) -> None:
        schema = self._schemas.get(channel.schema_id)
        if schema is None or schema.name != name or schema.encoding != "protobuf":
            got = f"{schema.name!r} ({schema.encoding})" if schema is not None else "no schema"
            raise RecordingError(f"{self.path}: channel {channel.topic} has {got}, expected {name!r} (protobuf)")

    def _decode(self, message: Any) -> DepthFrame | None:
        """The frame of one ``/depth/image`` message (``None``: undecodable and skipped)."""
        k = self.intrinsics
        try:
            img = self._raw_image.FromString(message.data)
            if img.encoding not in DEPTH_ENCODINGS:
                raise ValueError(f"encoding {img.encoding!r}, expected one of {list(DEPTH_ENCODINGS)}")
            if (img.height, img.width) != (k.height, k.width) or img.step != 2 * k.width:
                raise ValueError(f"image {img.height}×{img.width} (step {img.step}), recording is {k.height}×{k.width}")
            if len(img.data) != 2 * k.width * k.height:
                raise ValueError(f"{len(img.data)} bytes of pixels, expected {2 * k.width * k.height}")
        except Exception as exc:  # protobuf DecodeError and the checks above
            why = f"undecodable depth image (sequence {message.sequence}, log_time {message.log_time}): {exc}"
            message_text = f"{self.path}: chunk {self._chunk_no}: {why}"
            if self.on_corrupt == "raise":
                raise RecordingError(message_text + " (open with on_corrupt='skip' to skip it)") from exc
            log.warning("%s", message_text)
            self.stats.error(message_text)
            self.stats.add(frames_skipped=1)
            return None
        steps = np.frombuffer(img.data, "<u2").reshape(k.height, k.width)
        depth = steps.astype(np.float32) * np.float32(self._unit_mm)
        return DepthFrame(depth, k, int(message.log_time) // 1000, self.url, int(message.sequence))

    # ---- records --------------------------------------------------------------------------------------------
    def _iter_messages(self, f: BinaryIO) -> Iterator[tuple[Any, Any]]:
        """``(channel, message)`` of every readable message, in file order (see the module docstring)."""
        from mcap.records import Channel, Message, Metadata, Schema

        offset: int | None = len(MAGIC)
        size = os.fstat(f.fileno()).st_size
        while offset is not None:
            f.seek(offset)
            head = f.read(_HEAD.size)
            if not head:
                return  # a crash-left file that ends after a whole record
            if len(head) < _HEAD.size:
                self._truncated(offset)
                return
            opcode, length = _HEAD.unpack(head)
            limit = MAX_CHUNK_BYTES if opcode == _CHUNK else MAX_RECORD_BYTES
            if opcode not in _OPCODES or length > limit:
                why = f"unknown record opcode 0x{opcode:02x}" if opcode not in _OPCODES else f"length {length}"
                offset = self._corrupt(f, offset, f"bad record header ({why})")
                continue
            end = offset + _HEAD.size + length
            if end > size:  # a cut-off last record, or a corrupt length: a valid chunk further on tells them apart
                nxt = _find_chunk(f, offset + 1, size)
                if nxt is None:
                    self._truncated(offset)
                    return
                offset = self._corrupt(f, offset, f"record length {length} runs past the end ({size} bytes)", nxt=nxt)
                continue
            if opcode in (_DATA_END, _FOOTER):
                return
            if opcode == _MESSAGE_INDEX:
                offset = end
                continue
            body = f.read(length)
            if opcode == _CHUNK:
                self._chunk_no += 1
                try:
                    records = _chunk_records(body)
                except Exception as exc:  # CRC, zstd/lz4 errors, EndOfFile, struct and unicode errors
                    why = f"bad chunk: {type(exc).__name__}: {exc}"
                    offset = self._corrupt(f, offset, why, self._indexed_frames(f, end, size))
                    continue
            else:
                records = _top_level_record(opcode, body, {_SCHEMA: Schema, _CHANNEL: Channel, _METADATA: Metadata})
            for record in records:
                if isinstance(record, Message):
                    channel = self._channels.get(record.channel_id)
                    if channel is not None:
                        yield channel, record
                elif isinstance(record, Channel):
                    self._channels[record.id] = record
                elif isinstance(record, Schema):
                    self._schemas[record.id] = record
                elif isinstance(record, Metadata) and record.name == "depthhand":
                    self._read_metadata(record.metadata)
            offset = end

    def _read_metadata(self, meta: dict[str, str]) -> None:
        self.header.update(meta)
        try:
            version = int(meta.get("version", "1"))
        except ValueError:
            version = 0
        if version > VERSION:
            raise RecordingError(f"{self.path}: recording version {version} is newer than this reader ({VERSION})")

    def _indexed_frames(self, f: BinaryIO, offset: int, size: int) -> int:
        """Depth images the message index records right after a chunk list (0 when unreadable)."""
        depth_ids = {c.id for c in self._channels.values() if c.topic == DEPTH_TOPIC}
        n = 0
        while offset + _HEAD.size + 6 <= size:
            f.seek(offset)
            opcode, length = _HEAD.unpack(f.read(_HEAD.size))
            if opcode != _MESSAGE_INDEX or length > MAX_RECORD_BYTES:
                break
            channel_id, records_len = struct.unpack("<HI", f.read(6))
            if channel_id in depth_ids and records_len == length - 6:
                n += records_len // 16
            offset += _HEAD.size + length
        return n

    def _corrupt(self, f: BinaryIO, offset: int, why: str, n_claimed: int = 0, nxt: int | None = -1) -> int | None:
        """Handle the corrupt record at ``offset``: raise, or return the next valid chunk's offset (None: none)."""
        message = f"{self.path}: corrupt record at byte {offset} (after chunk {self._chunk_no}): {why}"
        if why.startswith("bad chunk"):
            message = f"{self.path}: corrupt chunk {self._chunk_no} at byte {offset}: {why}"
        if self.on_corrupt == "raise":
            raise RecordingError(message + " (open with on_corrupt='skip' to skip it)")
        size = os.fstat(f.fileno()).st_size
        if nxt == -1:
            nxt = _find_chunk(f, offset + 1, size)
        count_skipped_chunk(self.stats, log, message, offset, nxt, size, n_claimed)
        return nxt

    def _truncated(self, offset: int) -> None:
        log.warning("%s: recording ends inside the record at byte %d (crash or copy cut short)", self.path, offset)
        self.stats.truncated = True


def _top_level_record(opcode: int, body: bytes, kinds: dict[int, Any]) -> list[Any]:
    """A schema, channel or metadata record outside a chunk, parsed (other records: nothing)."""
    from mcap.data_stream import ReadDataStream

    kind = kinds.get(opcode)
    return [kind.read(ReadDataStream(io.BytesIO(body)))] if kind is not None else []


def _chunk_framing(body: bytes, length: int) -> bool:
    """Whether a chunk body's fields agree with its record ``length`` (compression name, records length)."""
    if length < _CHUNK_FIXED.size + 8 or len(body) < _CHUNK_FIXED.size:
        return False
    _, _, usize, _, clen = _CHUNK_FIXED.unpack_from(body)
    if clen > 4 or len(body) < _CHUNK_FIXED.size + clen + 8 or usize > MAX_CHUNK_BYTES:
        return False
    if body[_CHUNK_FIXED.size : _CHUNK_FIXED.size + clen] not in _COMPRESSIONS:
        return False
    (records_len,) = struct.unpack_from("<Q", body, _CHUNK_FIXED.size + clen)
    return bool(records_len == length - _CHUNK_FIXED.size - clen - 8)


def _chunk_records(body: bytes) -> list[Any]:
    """The records of a chunk body, CRC-checked (raises on any inconsistency)."""
    from mcap.data_stream import ReadDataStream
    from mcap.records import Chunk
    from mcap.stream_reader import breakup_chunk

    if not _chunk_framing(body, len(body)):
        raise ValueError("its compression name or records length disagrees with the record length")
    chunk = Chunk.read(ReadDataStream(io.BytesIO(body)))
    records: list[Any] = breakup_chunk(chunk, validate_crc=True)
    return records


def _find_chunk(f: BinaryIO, start: int, size: int) -> int | None:
    """Offset of the first chunk at or after ``start`` whose framing and (non-zero) CRC validate, or ``None``.

    The file is searched in windows of :data:`SCAN_WINDOW` bytes; each chunk opcode byte is checked against the
    framing in the window before anything is read or decompressed.
    """
    pos = start
    probe = _HEAD.size + _CHUNK_FIXED.size + 4 + 8
    while pos < size:
        f.seek(pos)
        window = f.read(SCAN_WINDOW + probe)
        i = window.find(_CHUNK)
        while 0 <= i < SCAN_WINDOW:
            if i + probe <= len(window):
                _, length = _HEAD.unpack_from(window, i)
                head = window[i + _HEAD.size : i + probe]
                if pos + i + _HEAD.size + length <= size and _chunk_framing(head, length) and _valid_chunk(f, pos + i):
                    return pos + i
            i = window.find(_CHUNK, i + 1)
        pos += SCAN_WINDOW
    return None


def _valid_chunk(f: BinaryIO, offset: int) -> bool:
    """Whether the chunk at ``offset`` carries a CRC, decompresses and matches it."""
    f.seek(offset)
    _, length = _HEAD.unpack(f.read(_HEAD.size))
    if length > MAX_CHUNK_BYTES:
        return False
    body = f.read(length)
    if len(body) < _CHUNK_FIXED.size or _CHUNK_FIXED.unpack_from(body)[3] == 0:
        return False
    try:
        _chunk_records(body)
    except Exception:
        return False
    return True


def read_hands(path: str | Path) -> list[dict[str, Any]]:
    """The ``/hands`` records of a recording, in file order (``FrameResult.to_dict()`` each); [] when none.

    Raises:
        RecordingError: As :class:`McapRecordingSource` (``on_corrupt="raise"``).
    """
    src = McapRecordingSource(path)
    with src:
        messages = src._messages if src._messages is not None else iter(())
        return [json.loads(m.data) for c, m in messages if c.topic == HANDS_TOPIC]
