"""The recording reader resynchronises after a corrupt chunk (``on_corrupt="skip"``) and names it otherwise."""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from depthhand.capture import recording
from depthhand.capture.recording import _CHUNK_HEAD, CHUNK_MAGIC, RecordingError, RecordingSource, RecordingWriter
from depthhand.capture.sources import open_source
from depthhand.capture.stream import open_stream
from depthhand.structures import CameraIntrinsics, DepthFrame
from tests.capture.conftest import make_frames
from tests.capture.test_recording import _chunk_offsets

N_CHUNKS, PER_CHUNK, BAD = 10, 5, 4  # chunk BAD (frames 20..24) is the one corrupted
# byte offsets of the chunk header's fields
N_AT, H_AT, LEN_AT = 4, 8, 16


def _record(path: Path, frames: list[DepthFrame], chunk: int = PER_CHUNK) -> list[int]:
    with RecordingWriter(path, frames[0].intrinsics, chunk_frames=chunk) as rec:
        for f in frames:
            rec.write(f)
    return _chunk_offsets(path)


def _poke(path: Path, at: int, fmt: str, value: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, at, value)
    path.write_bytes(bytes(data))


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _assert_frames(out: list[DepthFrame], expected: list[DepthFrame]) -> None:
    assert [f.index for f in out] == [f.index for f in expected]
    for a, b in zip(expected, out, strict=True):
        assert a.depth_mm.tobytes() == b.depth_mm.tobytes()  # bit-identical
        assert (a.timestamp_us, a.index, a.intrinsics) == (b.timestamp_us, b.index, b.intrinsics)


@pytest.fixture
def take(tmp_path: Path, small_k: CameraIntrinsics) -> tuple[Path, list[DepthFrame], list[int]]:
    frames = make_frames(small_k, N_CHUNKS * PER_CHUNK, seed=5)
    path = tmp_path / "take.dhrec"
    offsets = _record(path, frames)
    assert len(offsets) == N_CHUNKS
    return path, frames, offsets


Corruption = Callable[[Path, int], None]
CORRUPTIONS: dict[str, tuple[Corruption, int, str]] = {
    # name: (corrupt the chunk at offset, frames_skipped expected, why in the message)
    "payload byte": (lambda p, o: _flip(p, o + _CHUNK_HEAD.size + 40), PER_CHUNK, "CRC mismatch"),
    "payload_len one short": (lambda p, o: _poke(p, o + LEN_AT, "<I", _len(p, o) - 1), PER_CHUNK, "CRC mismatch"),
    "payload_len 1000 long": (lambda p, o: _poke(p, o + LEN_AT, "<I", _len(p, o) + 1000), PER_CHUNK, "CRC mismatch"),
    "payload_len 10 MB": (lambda p, o: _poke(p, o + LEN_AT, "<I", 10_000_000), PER_CHUNK, "bad chunk header"),
    "payload_len absurd": (lambda p, o: _poke(p, o + LEN_AT, "<I", 0xFFFFFFFF), PER_CHUNK, "bad chunk header"),
    "chunk magic": (lambda p, o: _flip(p, o), 0, "bad chunk header"),
    "n_frames plausible": (lambda p, o: _poke(p, o + N_AT, "<I", PER_CHUNK + 1), PER_CHUNK + 1, "CRC mismatch"),
    "n_frames absurd": (lambda p, o: _poke(p, o + N_AT, "<I", 0xFFFFFFFF), 0, "bad chunk header"),
    "n_frames zero": (lambda p, o: _poke(p, o + N_AT, "<I", 0), 0, "bad chunk header"),
    "height": (lambda p, o: _poke(p, o + H_AT, "<H", 47), PER_CHUNK, "bad chunk header"),
}


def _len(path: Path, offset: int) -> int:
    n: int = _CHUNK_HEAD.unpack_from(path.read_bytes(), offset)[5]
    return n


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_skip_resynchronises_after_a_corrupt_chunk(take: tuple[Path, list[DepthFrame], list[int]], kind: str) -> None:
    path, frames, offsets = take
    corrupt, n_skipped, why = CORRUPTIONS[kind]
    corrupt(path, offsets[BAD])
    src = open_source(f"rec:{path}?on_corrupt=skip")
    out = list(src)
    _assert_frames(out, frames[: BAD * PER_CHUNK] + frames[(BAD + 1) * PER_CHUNK :])  # every intact chunk
    s = src.stats
    assert s.corrupt_chunks == 1
    assert s.bytes_skipped == offsets[BAD + 1] - offsets[BAD]  # exactly the bad chunk
    assert s.frames_skipped == n_skipped
    assert not s.truncated and s.errors == 1
    assert s.last_error.startswith(f"{path}: corrupt chunk at byte {offsets[BAD]}: ")
    assert why in s.last_error and f"next valid chunk at byte {offsets[BAD + 1]}" in s.last_error
    assert s.to_dict()["corrupt_chunks"] == 1


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_raise_names_the_file_and_offset(take: tuple[Path, list[DepthFrame], list[int]], kind: str) -> None:
    path, frames, offsets = take
    corrupt, _, why = CORRUPTIONS[kind]
    corrupt(path, offsets[BAD])
    src = RecordingSource(path)  # on_corrupt="raise" is the default
    got: list[DepthFrame] = []
    with pytest.raises(RecordingError, match=re.escape(f"{path}: corrupt chunk at byte {offsets[BAD]}: ")) as err:
        got.extend(src)
    assert why in str(err.value) and "on_corrupt='skip'" in str(err.value)
    _assert_frames(got, frames[: BAD * PER_CHUNK])  # the frames before it did come out


def test_payload_len_past_the_end_with_a_valid_chunk_after_it_is_corrupt_not_truncated(
    tmp_path: Path, small_k: CameraIntrinsics
) -> None:
    frames = make_frames(small_k, 2 * PER_CHUNK + 1, seed=2)  # the last chunk holds one frame
    path = tmp_path / "end.dhrec"
    offsets = _record(path, frames)
    size = path.stat().st_size
    past_end = size - (offsets[-2] + _CHUNK_HEAD.size) + 1  # one byte more than the file holds
    _poke(path, offsets[-2] + LEN_AT, "<I", past_end)
    assert recording._plausible(path.read_bytes()[offsets[-2] : offsets[-2] + _CHUNK_HEAD.size], small_k)
    with pytest.raises(RecordingError, match=f"corrupt chunk at byte {offsets[-2]}: payload_len .* runs past the end"):
        list(RecordingSource(path))
    src = RecordingSource(path, on_corrupt="skip")
    _assert_frames(list(src), frames[:PER_CHUNK] + frames[-1:])
    assert not src.stats.truncated and src.stats.corrupt_chunks == 1 and src.stats.frames_skipped == PER_CHUNK
    assert f"next valid chunk at byte {offsets[-1]}" in src.stats.last_error


def test_corrupt_payload_len_of_the_last_chunk_reads_as_truncated(
    take: tuple[Path, list[DepthFrame], list[int]],
) -> None:
    path, frames, offsets = take
    _poke(path, offsets[-1] + LEN_AT, "<I", _len(path, offsets[-1]) + 100)  # runs past the end, no valid chunk follows
    for mode in ("raise", "skip"):
        src = RecordingSource(path, on_corrupt=mode)  # type: ignore[arg-type]
        _assert_frames(list(src), frames[:-PER_CHUNK])
        assert src.stats.truncated and src.stats.corrupt_chunks == 0


def test_truly_truncated_file_ends_cleanly_in_both_modes(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, offsets = take
    path.write_bytes(path.read_bytes()[: offsets[-1] + _CHUNK_HEAD.size + 30])
    for mode in ("raise", "skip"):
        src = RecordingSource(path, on_corrupt=mode)  # type: ignore[arg-type]
        _assert_frames(list(src), frames[:-PER_CHUNK])
        assert src.stats.truncated and src.stats.corrupt_chunks == 0 and src.stats.errors == 0


def test_adjacent_corrupt_chunks_are_one_region(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, offsets = take
    _flip(path, offsets[3] + _CHUNK_HEAD.size + 9)
    _poke(path, offsets[4] + LEN_AT, "<I", 10_000_000)
    src = RecordingSource(path, on_corrupt="skip")
    _assert_frames(list(src), frames[:15] + frames[25:])
    assert (src.stats.corrupt_chunks, src.stats.bytes_skipped) == (1, offsets[5] - offsets[3])


def test_two_separate_corrupt_chunks_and_a_bad_first_chunk(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, offsets = take
    for i in (0, 6):
        _poke(path, offsets[i] + LEN_AT, "<I", 3)
    src = RecordingSource(path, on_corrupt="skip")
    _assert_frames(list(src), frames[5:30] + frames[35:])
    assert src.stats.corrupt_chunks == 2 and src.stats.frames_skipped == 10
    assert f"byte {offsets[6]}" in src.stats.last_error  # the latest one


def test_garbage_tail_is_skipped_to_the_end(take: tuple[Path, list[DepthFrame], list[int]]) -> None:
    path, frames, _ = take
    path.write_bytes(path.read_bytes() + b"\xaa" * 1000)
    src = RecordingSource(path, on_corrupt="skip")
    _assert_frames(list(src), frames)
    assert src.stats.corrupt_chunks == 1 and src.stats.bytes_skipped == 1000
    assert "no valid chunk follows" in src.stats.last_error
    with pytest.raises(RecordingError, match="bad chunk header"):
        list(RecordingSource(path))


def _fake_marker(k: CameraIntrinsics) -> bytes:
    """A chunk header that looks right but whose CRC fits no payload."""
    return _CHUNK_HEAD.pack(CHUNK_MAGIC, 1, k.height, k.width, 1, 64, 12345)


class _ReadSizes:
    """Wraps the reader's file and keeps the size of every read."""

    def __init__(self, f: Any, sizes: list[int]) -> None:
        self.f, self.sizes = f, sizes

    def read(self, n: int = -1) -> bytes:
        self.sizes.append(n)
        data: bytes = self.f.read(n)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


@pytest.mark.parametrize("window", [7, 1 << 20])
def test_resync_through_megabytes_of_garbage_reads_in_windows(
    take: tuple[Path, list[DepthFrame], list[int]],
    small_k: CameraIntrinsics,
    monkeypatch: pytest.MonkeyPatch,
    window: int,
) -> None:
    path, frames, offsets = take
    rng = np.random.default_rng(1)
    blocks = [rng.integers(0, 256, 700_000, dtype=np.uint8).tobytes() + _fake_marker(small_k) for _ in range(4)]
    garbage = b"".join(blocks)  # 2.8 MB with fake markers; with the 7-byte window markers straddle window ends
    if window == 7:
        garbage = garbage[-3000:]  # keep the tiny-window case quick
    data = path.read_bytes()
    path.write_bytes(data[: offsets[BAD]] + garbage + data[offsets[BAD] :])
    monkeypatch.setattr(recording, "SCAN_WINDOW", window)
    sizes: list[int] = []
    real_open = open
    monkeypatch.setattr(recording, "open", lambda *a: _ReadSizes(real_open(*a), sizes), raising=False)
    src = RecordingSource(path, on_corrupt="skip")
    _assert_frames(list(src), frames)
    assert src.stats.corrupt_chunks == 1 and src.stats.bytes_skipped == len(garbage)
    biggest_chunk = max(b - a for a, b in itertools.pairwise([*offsets, len(data)]))
    assert max(sizes) <= max(window + len(CHUNK_MAGIC) - 1, biggest_chunk)  # never the whole file


def test_a_served_recording_goes_on_after_a_corrupt_chunk(tmp_path: Path, small_k: CameraIntrinsics) -> None:
    """The server-side symptom: one corrupt chunk stopped the stream and the 240 frames after it were lost."""
    frames = make_frames(small_k, 300, seed=9)
    path = tmp_path / "served.dhrec"
    offsets = _record(path, frames, chunk=30)
    _poke(path, offsets[1] + LEN_AT, "<I", 1 << 30)  # the probe's case: a corrupt payload_len in chunk 2
    with pytest.raises(RecordingError, match=f"corrupt chunk at byte {offsets[1]}"):
        list(open_stream(f"rec:{path}"))
    stream = open_stream(f"rec:{path}?on_corrupt=skip")
    out = [item.frame for item in stream]
    _assert_frames(out, frames[:30] + frames[60:])  # all 240 frames after the corrupt chunk are served
    assert stream.stats.corrupt_chunks == 1 and stream.stats.frames_skipped == 30
    assert stream.stats.bytes_skipped == offsets[2] - offsets[1]
