"""MCAP recordings: round trip, the mcap library's own reader, corrupt and truncated files, failed writes."""

from __future__ import annotations

import io
import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap.exceptions import EndOfFile
from mcap.reader import make_reader
from mcap.stream_reader import StreamReader
from mcap_protobuf.decoder import DecoderFactory

from depthhand.capture import mcap_reader
from depthhand.capture.mcap_reader import McapRecordingSource
from depthhand.capture.mcap_writer import McapRecordingWriter
from depthhand.capture.recording import RecordingError
from depthhand.capture.sources import open_source, split_url
from depthhand.structures import CameraIntrinsics, DepthFrame
from tests.capture.conftest import make_frames

PER_CHUNK = 5


def write_mcap(path: Path, frames: list[DepthFrame], chunk: int = PER_CHUNK, **kw: Any) -> Path:
    with McapRecordingWriter(path, frames[0].intrinsics, chunk_frames=chunk, **kw) as rec:
        for f in frames:
            rec.write(f)
    return path


def records(path: Path) -> list[tuple[int, int, int]]:
    """``(offset, opcode, length)`` of every top-level record, walked by MCAP's framing (opcode u8, length u64)."""
    data = path.read_bytes()
    off, out = 8, []
    while off + 9 <= len(data) and data[off] != 0x02:  # up to the footer
        opcode, length = struct.unpack_from("<BQ", data, off)
        out.append((off, opcode, length))
        off += 9 + length
    return out


def chunk_offsets(path: Path) -> list[int]:
    return [off for off, opcode, _ in records(path) if opcode == 0x06]


def assert_frames(out: list[DepthFrame], expected: list[DepthFrame]) -> None:
    assert [f.index for f in out] == [f.index for f in expected]
    for a, b in zip(out, expected, strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
        assert a.timestamp_us == b.timestamp_us and a.intrinsics == b.intrinsics


@pytest.fixture
def take(tmp_path: Path, small_k: CameraIntrinsics) -> tuple[Path, list[DepthFrame], list[int]]:
    """A 20-frame recording: chunk 1 the calibration, chunks 2-5 five frames each."""
    frames = make_frames(small_k, 20)
    path = write_mcap(tmp_path / "take.mcap", frames)
    return path, frames, chunk_offsets(path)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "raw"])
def test_round_trip_is_exact(tmp_path: Path, frames: list[DepthFrame], codec: str) -> None:
    path = write_mcap(tmp_path / "a.mcap", frames, codec=codec, source="test:")
    assert not (tmp_path / "a.mcap.partial").exists()
    assert len(chunk_offsets(path)) == 1 + 5  # the calibration, then 25 frames in chunks of 5
    with open_source(str(path)) as src:
        out = list(src)
        assert src.header["source"] == "test:" and src.header["depth_unit_mm"] == 0.125
    assert_frames(out, frames)
    assert out[0].source_id == str(path)
    assert split_url(str(path)) == ("mcap", str(path), {})
    assert split_url(f"mcap:{path}?on_corrupt=skip") == ("mcap", str(path), {"on_corrupt": "skip"})
    assert split_url("x.mcap.partial")[0] == "mcap" and split_url("x.dhrec.partial")[0] == "rec"


def test_the_mcap_library_reads_it_and_decodes_an_image_bit_exactly(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = write_mcap(tmp_path / "g.mcap", frames)
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])  # protobuf classes built from the file's schemas
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        topics = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
        assert topics == {"/depth/image": "foxglove.RawImage", "/depth/camera_info": "foxglove.CameraCalibration"}
        assert summary.statistics.message_count == len(frames) + 1
        decoded = list(reader.iter_decoded_messages())
    images = [(m, d) for s, c, m, d in decoded if c.topic == "/depth/image"]
    (cal,) = [d for s, c, m, d in decoded if c.topic == "/depth/camera_info"]
    k = frames[0].intrinsics
    assert list(cal.K) == [k.fx, 0, k.cx, 0, k.fy, k.cy, 0, 0, 1] and (cal.width, cal.height) == (k.width, k.height)
    message, image = images[7]
    assert image.encoding == "16UC1" and (image.width, image.height, image.step) == (k.width, k.height, 2 * k.width)
    steps = np.frombuffer(image.data, "<u2").reshape(k.height, k.width)
    np.testing.assert_array_equal(steps * np.float32(0.125), frames[7].depth_mm)
    assert message.log_time == frames[7].timestamp_us * 1000 == message.publish_time
    assert message.sequence == 7
    assert image.timestamp.ToNanoseconds() == message.log_time


def test_float_depth_is_quantised_to_the_unit(tmp_path: Path, small_k: CameraIntrinsics) -> None:
    rng = np.random.default_rng(3)
    depth = rng.uniform(200, 1500, (small_k.height, small_k.width)).astype(np.float32)
    depth[0, 0], depth[0, 1], depth[0, 2] = np.nan, 1e6, -5.0  # invalid, beyond uint16 (clipped), negative
    (back,) = list(McapRecordingSource(write_mcap(tmp_path / "q.mcap", [DepthFrame(depth, small_k)])))
    assert np.abs(back.depth_mm - depth)[1:, :].max() <= 0.0625 + 1e-4  # half of the 0.125 mm unit
    assert back.depth_mm[0, 0] == 0.0 and back.depth_mm[0, 2] == 0.0
    assert back.depth_mm[0, 1] == pytest.approx(65535 * 0.125)


def test_unclosed_writer_leaves_a_readable_partial_file(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "crash.mcap"
    rec = McapRecordingWriter(path, frames[0].intrinsics, chunk_frames=10)
    for f in frames[:17]:
        rec.write(f)  # 10 flushed as a chunk, 7 still queued when the "crash" happens
    partial = tmp_path / "crash.mcap.partial"
    assert partial.exists() and not path.exists()
    src = open_source(str(partial))
    assert_frames(list(src), frames[:10])
    assert not src.stats.truncated
    library = [m.sequence for m in _stream_messages(partial) if m.channel_id == 1]
    assert library == list(range(10))  # the mcap library's StreamReader sees the same, then EndOfFile
    rec.close()
    assert path.exists() and not partial.exists()
    assert len(list(McapRecordingSource(path))) == 17


def _stream_messages(path: Path) -> list[Any]:
    """Messages the mcap library's StreamReader yields before the file ends (a footer-less file ends in EOF)."""
    out = []
    try:
        for record in StreamReader(io.BytesIO(path.read_bytes()), validate_crcs=True).records:
            if type(record).__name__ == "Message":
                out.append(record)
    except EndOfFile:
        pass
    return out


def test_truncated_file_stops_cleanly_in_both_modes(take: tuple[Path, list[DepthFrame], list[int]], caplog) -> None:  # type: ignore[no-untyped-def]
    path, frames, offsets = take
    data = path.read_bytes()
    for cut in (offsets[-1] + 5, offsets[-1] + 100, len(data) - 3):  # in the chunk header, its payload, the footer
        path.write_bytes(data[:cut])
        for mode in ("raise", "skip"):
            src = McapRecordingSource(path, on_corrupt=mode)  # type: ignore[arg-type]
            with caplog.at_level(logging.WARNING):
                out = list(src)
            expected = frames[:15] if cut < len(data) - 100 else frames
            assert_frames(out, expected)
            assert src.stats.truncated == (cut < len(data) - 100) and src.stats.corrupt_chunks == 0
    assert "ends inside the record at byte" in caplog.text


def test_corrupt_chunk_raises_or_is_skipped(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, offsets = take
    data = bytearray(path.read_bytes())
    data[offsets[2] + 120] ^= 0xFF  # compressed bytes of chunk 3 (frames 5-9)
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match=rf"{path}: corrupt chunk 3 at byte {offsets[2]}: bad chunk"):
        list(McapRecordingSource(path))
    src = open_source(f"mcap:{path}?on_corrupt=skip")
    assert_frames(list(src), frames[:5] + frames[10:])
    s = src.stats
    assert (s.corrupt_chunks, s.frames_skipped, s.bytes_skipped) == (1, 5, offsets[3] - offsets[2])
    assert f"corrupt chunk 3 at byte {offsets[2]}" in s.last_error and f"next valid chunk at byte {offsets[3]}" in (
        s.last_error
    )


def test_garbage_between_chunks_is_skipped_by_resync(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, offsets = take
    data = path.read_bytes()
    garbage = b"\x06garbage\x00" * 7  # starts with the chunk opcode
    path.write_bytes(data[: offsets[2]] + garbage + data[offsets[2] :])
    with pytest.raises(RecordingError, match=rf"corrupt record at byte {offsets[2]} \(after chunk 2\)"):
        list(McapRecordingSource(path))
    src = McapRecordingSource(path, on_corrupt="skip")
    assert_frames(list(src), frames)
    assert (src.stats.corrupt_chunks, src.stats.bytes_skipped, src.stats.frames_skipped) == (1, len(garbage), 0)


def test_adjacent_corrupt_chunks_are_one_region_and_windows_are_searched(
    take: tuple[Path, list[DepthFrame], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcap_reader, "SCAN_WINDOW", 64)  # many search windows, markers across their edges
    path, frames, offsets = take
    data = bytearray(path.read_bytes())
    for off in offsets[1:3]:
        data[off + 9 + 24] ^= 0x01  # the uncompressed CRC of chunks 2 and 3
    path.write_bytes(bytes(data))
    src = McapRecordingSource(path, on_corrupt="skip")
    assert_frames(list(src), frames[10:])
    assert (src.stats.corrupt_chunks, src.stats.frames_skipped) == (1, 5)  # the first chunk's index, one region
    assert src.stats.bytes_skipped == offsets[3] - offsets[1]


def test_a_length_past_the_end_with_a_valid_chunk_after_it_is_corrupt_not_truncated(
    take: tuple[Path, list[DepthFrame], list[int]],
) -> None:
    path, frames, offsets = take
    data = bytearray(path.read_bytes())
    struct.pack_into("<Q", data, offsets[2] + 1, 10**9)
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match=rf"byte {offsets[2]} .*runs past the end"):
        list(McapRecordingSource(path))
    src = McapRecordingSource(path, on_corrupt="skip")
    assert_frames(list(src), frames[:5] + frames[10:])
    assert not src.stats.truncated and src.stats.corrupt_chunks == 1


def test_bad_files_name_the_file(tmp_path: Path, take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    bad = tmp_path / "x.mcap"
    bad.write_bytes(b"hello world, not a recording")
    with pytest.raises(RecordingError, match=rf"{bad} is not an MCAP file"):
        McapRecordingSource(bad).open()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(str(tmp_path / "missing.mcap"))
    path, _, offsets = take
    data = bytearray(path.read_bytes())
    data[offsets[0] + 60] ^= 0xFF  # the first chunk: channels and calibration
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match=rf"{path}: corrupt chunk 1 at byte {offsets[0]}"):
        McapRecordingSource(path).open()
    with pytest.raises(RecordingError, match=rf"{path}: no foxglove.CameraCalibration .*first chunk is lost"):
        McapRecordingSource(path, on_corrupt="skip").open()
    with pytest.raises(ValueError, match="unknown parameter"):
        open_source(f"mcap:{path}?loop=1")


def test_writer_validates(tmp_path: Path, frames: list[DepthFrame], small_k: CameraIntrinsics) -> None:
    with pytest.raises(ValueError, match="compression"):
        McapRecordingWriter(tmp_path / "a.mcap", small_k, codec="zlib")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_frames"):
        McapRecordingWriter(tmp_path / "a.mcap", small_k, chunk_frames=0)
    other = CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 32, 24)
    with McapRecordingWriter(tmp_path / "b.mcap", other) as rec, pytest.raises(ValueError, match="recording is 24×32"):
        rec.write(frames[0])
    with McapRecordingWriter(tmp_path / "c.mcap", small_k) as rec, pytest.raises(ValueError, match="hands channel"):
        rec.write(frames[0], hands=object())  # type: ignore[arg-type]


class _FailingOnce:
    """A file whose next write stores half the bytes, then fails (disk full)."""

    def __init__(self, f: Any) -> None:
        self.f, self.armed = f, False

    def write(self, data: memoryview) -> int:
        if self.armed:
            self.armed = False
            self.f.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        n: int = self.f.write(data)
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


def test_a_failed_chunk_write_is_cut_off_and_the_earlier_chunks_kept(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "full.mcap"
    rec = McapRecordingWriter(path, frames[0].intrinsics, chunk_frames=5)
    assert rec._file is not None
    failing = _FailingOnce(rec._file.raw)
    rec._file.raw = failing
    for f in frames[:10]:
        rec.write(f)
    failing.armed = True
    for f in frames[10:14]:
        rec.write(f)
    with pytest.raises(OSError, match="No space"):
        rec.write(frames[14])  # the third chunk's write fails half way
    with pytest.raises(ValueError, match="broken"):
        rec.write(frames[15])
    src = McapRecordingSource(tmp_path / "full.mcap.partial")  # on_corrupt="raise": no half chunk is left
    assert_frames(list(src), frames[:10])
    assert not src.stats.truncated
    assert rec.close() == path and rec.frames_written == 10
    assert_frames(list(McapRecordingSource(path)), frames[:10])


def test_discard_leaves_nothing(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "none.mcap"
    rec = McapRecordingWriter(path, frames[0].intrinsics)
    rec.write(frames[0])
    rec.discard()
    assert not path.exists() and not (tmp_path / "none.mcap.partial").exists()
