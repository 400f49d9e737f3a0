from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from depthhand.capture.base import MissingExtraError
from depthhand.capture.recording import (
    _CHUNK_HEAD,
    _FILE_HEAD,
    CHUNK_MAGIC,
    RecordingError,
    RecordingSource,
    RecordingWriter,
)
from depthhand.capture.sources import open_source
from depthhand.structures import CameraIntrinsics, DepthFrame


def _write(path: Path, frames: list[DepthFrame], chunk: int = 10, **kw: object) -> Path:
    with RecordingWriter(path, frames[0].intrinsics, chunk_frames=chunk, **kw) as rec:  # type: ignore[arg-type]
        for f in frames:
            rec.write(f)
    return path


def _chunk_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    _, _, json_len = _FILE_HEAD.unpack_from(data, 0)
    off = _FILE_HEAD.size + json_len + 4
    offsets = []
    while off < len(data):
        offsets.append(off)
        payload_len = _CHUNK_HEAD.unpack_from(data, off)[5]
        off += _CHUNK_HEAD.size + payload_len
    return offsets


def _assert_same(a: DepthFrame, b: DepthFrame) -> None:
    np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
    assert a.timestamp_us == b.timestamp_us
    assert a.index == b.index
    assert a.intrinsics == b.intrinsics


@pytest.mark.parametrize("codec", ["zlib", "raw"])
def test_round_trip_is_exact(tmp_path: Path, frames: list[DepthFrame], codec: str) -> None:
    path = _write(tmp_path / "a.dhrec", frames, chunk=10, codec=codec)
    assert not (tmp_path / "a.dhrec.partial").exists()
    assert len(_chunk_offsets(path)) == 3  # 10 + 10 + 5
    with open_source(str(path)) as src:
        out = list(src)
        assert src.header["depth_unit_mm"] == 0.125
    assert len(out) == len(frames)
    for a, b in zip(frames, out, strict=True):
        _assert_same(a, b)
    assert out[0].source_id == str(path)


def test_float_depth_is_quantised_to_the_unit(tmp_path: Path, small_k: CameraIntrinsics) -> None:
    rng = np.random.default_rng(3)
    depth = rng.uniform(200, 1500, (small_k.height, small_k.width)).astype(np.float32)
    depth[0, 0] = np.nan
    depth[0, 1] = 1e6  # beyond uint16 range: clipped, not wrapped
    frame = DepthFrame(depth, small_k)
    _write(tmp_path / "q.dhrec", [frame])
    (back,) = list(RecordingSource(tmp_path / "q.dhrec"))
    err = np.abs(back.depth_mm - depth)[1:, :]
    assert err.max() <= 0.0625 + 1e-4  # half of the 0.125 mm unit
    assert back.depth_mm[0, 0] == 0.0
    assert back.depth_mm[0, 1] == pytest.approx(65535 * 0.125)


def test_truncated_last_chunk_stops_cleanly(tmp_path: Path, frames: list[DepthFrame], caplog) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "t.dhrec", frames, chunk=10)
    data = path.read_bytes()
    last = _chunk_offsets(path)[-1]
    path.write_bytes(data[: last + 100])  # the last chunk is cut inside its payload
    src = RecordingSource(path)
    with caplog.at_level(logging.WARNING):
        out = list(src)
    assert len(out) == 20
    assert src.stats.truncated
    assert "ends inside the chunk" in caplog.text
    path.write_bytes(data[: last + 7])  # cut inside the chunk header
    src = RecordingSource(path)
    assert len(list(src)) == 20 and src.stats.truncated


def test_unclosed_writer_leaves_a_readable_partial_file(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "crash.dhrec"
    rec = RecordingWriter(path, frames[0].intrinsics, chunk_frames=10)
    for f in frames[:17]:
        rec.write(f)  # 10 flushed as a chunk, 7 still queued when the "crash" happens
    partial = tmp_path / "crash.dhrec.partial"
    assert partial.exists() and not path.exists()
    out = list(open_source(str(partial)))
    assert [f.index for f in out] == list(range(10))
    rec.close()
    assert path.exists() and not partial.exists()
    assert len(list(RecordingSource(path))) == 17


def test_corrupt_chunk_raises_or_is_skipped(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = _write(tmp_path / "c.dhrec", frames, chunk=10)
    data = bytearray(path.read_bytes())
    second = _chunk_offsets(path)[1]
    data[second + _CHUNK_HEAD.size + 50] ^= 0xFF  # flip payload bits of chunk 2
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match=rf"corrupt chunk at byte {second}.*CRC"):
        list(RecordingSource(path))
    src = open_source(f"rec:{path}?on_corrupt=skip")
    out = list(src)
    assert [f.index for f in out] == list(range(10)) + list(range(20, 25))
    assert src.stats.corrupt_chunks == 1 and src.stats.frames_skipped == 10  # the 10 frames its header claims
    assert f"{path}: corrupt chunk at byte {second}: CRC" in src.stats.last_error


def test_garbage_between_chunks_is_skipped_by_resync(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = _write(tmp_path / "g.dhrec", frames, chunk=10)
    data = path.read_bytes()
    second = _chunk_offsets(path)[1]
    path.write_bytes(data[:second] + b"\x00garbage" * 5 + data[second:])
    with pytest.raises(RecordingError, match="bad chunk header"):
        list(RecordingSource(path))
    src = RecordingSource(path, on_corrupt="skip")
    assert len(list(src)) == 25
    assert (src.stats.corrupt_chunks, src.stats.bytes_skipped, src.stats.frames_skipped) == (1, 40, 0)


def test_not_a_recording(tmp_path: Path) -> None:
    bad = tmp_path / "x.dhrec"
    bad.write_bytes(b"hello world, not a recording")
    with pytest.raises(RecordingError, match="not a depthhand recording"):
        RecordingSource(bad).open()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(str(tmp_path / "missing.dhrec"))
    with pytest.raises(FileNotFoundError):
        RecordingSource(tmp_path / "missing.dhrec").open()


def test_corrupt_header_json(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = _write(tmp_path / "h.dhrec", frames[:2])
    data = bytearray(path.read_bytes())
    data[_FILE_HEAD.size + 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="header is truncated or corrupt"):
        RecordingSource(path).open()


def test_writer_validates(tmp_path: Path, frames: list[DepthFrame], small_k: CameraIntrinsics) -> None:
    with pytest.raises(ValueError, match="codec"):
        RecordingWriter(tmp_path / "a.dhrec", small_k, codec="zip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_frames"):
        RecordingWriter(tmp_path / "a.dhrec", small_k, chunk_frames=0)
    other = CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 32, 24)
    with RecordingWriter(tmp_path / "b.dhrec", other) as rec, pytest.raises(ValueError, match="recording is 24×32"):
        rec.write(frames[0])


def test_lz4_codec_needs_the_package(tmp_path: Path, frames: list[DepthFrame]) -> None:
    try:
        import lz4.frame  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match="pip install lz4"):
            RecordingWriter(tmp_path / "l.dhrec", frames[0].intrinsics, codec="lz4")
    else:
        path = _write(tmp_path / "l.dhrec", frames, codec="lz4")
        for a, b in zip(frames, RecordingSource(path), strict=True):
            _assert_same(a, b)


def test_header_layout_is_little_endian(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = _write(tmp_path / "e.dhrec", frames[:3], chunk=3)
    data = path.read_bytes()
    assert data[:8] == b"DHREC\r\n\x1a"
    assert struct.unpack_from("<H", data, 8)[0] == 1
    off = _chunk_offsets(path)[0]
    assert data[off : off + 4] == CHUNK_MAGIC
    assert struct.unpack_from("<IHH", data, off + 4) == (3, 48, 64)


class _FailingOnce:
    """A file whose next write stores half the bytes, then fails (disk full, or a signal mid-write)."""

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


def test_a_failed_chunk_write_is_cut_off_and_retried_at_close(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "full.dhrec"
    rec = RecordingWriter(path, frames[0].intrinsics, chunk_frames=10)
    failing = _FailingOnce(rec._file)
    rec._file = failing  # type: ignore[assignment]
    for f in frames[:10]:
        rec.write(f)
    failing.armed = True
    for f in frames[10:19]:
        rec.write(f)
    with pytest.raises(OSError, match="No space"):
        rec.write(frames[19])  # the second chunk's write fails half way
    partial = tmp_path / "full.dhrec.partial"
    src = RecordingSource(partial)  # default on_corrupt="raise": no half chunk is left in the file
    assert [f.index for f in src] == list(range(10)) and not src.stats.truncated
    rec.close()  # the queued chunk is written again, this time whole
    out = list(RecordingSource(path))
    assert len(out) == 20
    for a, b in zip(frames[:20], out, strict=True):
        _assert_same(a, b)


def test_discard_leaves_nothing(tmp_path: Path, frames: list[DepthFrame]) -> None:
    path = tmp_path / "none.dhrec"
    rec = RecordingWriter(path, frames[0].intrinsics)
    rec.write(frames[0])
    rec.discard()
    assert not path.exists() and not (tmp_path / "none.dhrec.partial").exists()
