"""``depthhand record`` loses nothing when it is stopped (SIGTERM, Ctrl-C) or its source fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import depthhand
from depthhand.capture import sources
from depthhand.capture.base import DepthSource, SourceError
from depthhand.capture.recording import _CHUNK_HEAD, _FILE_HEAD, RecordingSource, RecordingWriter
from depthhand.cli import main
from depthhand.structures import CameraIntrinsics, DepthFrame
from tests.capture.conftest import make_frames
from tests.capture.test_recording_resync import LEN_AT, _assert_frames, _poke, _record


class _Scripted(DepthSource):
    """Frames from memory; at frame ``at`` it calls ``hook`` (raise, send a signal), then goes on."""

    def __init__(self, frames: list[DepthFrame], at: int = -1, hook: Callable[[], None] | None = None) -> None:
        super().__init__("test:")
        self.frames, self.at, self.hook, self.pos = frames, at, hook, 0

    def _open(self) -> CameraIntrinsics:
        return self.frames[0].intrinsics

    def _read(self) -> DepthFrame | None:
        if self.pos == self.at and self.hook is not None:
            self.hook()
        if self.pos >= len(self.frames):
            return None
        self.pos += 1
        return self.frames[self.pos - 1]


def _use(monkeypatch: pytest.MonkeyPatch, source: DepthSource) -> None:
    monkeypatch.setattr(sources, "open_source", lambda url: source)


def _record_cmd(out: Path, *extra: str) -> int:
    return main(["record", "--source", "test:", "--out", str(out), "--chunk-frames", "5", *extra])


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line.lower() or "Traceback" in line]


@pytest.mark.parametrize("exc", [SourceError("device unplugged"), RuntimeError("driver crashed"), OSError(5, "EIO")])
def test_a_source_failing_mid_recording_keeps_the_frames_so_far(
    tmp_path: Path,
    small_k: CameraIntrinsics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exc: Exception,
) -> None:
    frames = make_frames(small_k, 30)

    def fail() -> None:
        raise exc

    _use(monkeypatch, _Scripted(frames, at=12, hook=fail))
    out = tmp_path / "fail.dhrec"
    assert _record_cmd(out) == 1
    err = capsys.readouterr().err
    (line,) = _error_lines(err)  # one clear line, no traceback
    assert line.startswith("depthhand record: error: ") and "after 12 frames" in line and str(out) in line
    assert str(exc.args[-1]) in line
    assert not (tmp_path / "fail.dhrec.partial").exists()
    _assert_frames(list(RecordingSource(out)), frames[:12])  # the 10 flushed and the 2 queued ones


def test_a_corrupt_input_recording_keeps_what_came_before(
    tmp_path: Path, small_k: CameraIntrinsics, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = make_frames(small_k, 20)
    src = tmp_path / "in.dhrec"
    offsets = _record(src, frames)
    _poke(src, offsets[2] + LEN_AT, "<I", 3)
    out = tmp_path / "copy.dhrec"
    assert main(["record", "--source", str(src), "--out", str(out)]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert f"corrupt chunk at byte {offsets[2]}" in line and "after 10 frames" in line
    _assert_frames(list(RecordingSource(out)), frames[:10])
    assert main(["record", "--source", f"rec:{src}?on_corrupt=skip", "--out", str(out)]) == 0  # skip: goes on
    assert "skipped 5 in 1 corrupt part(s)" in capsys.readouterr().out
    _assert_frames(list(RecordingSource(out)), frames[:10] + frames[15:])


def test_no_frame_leaves_no_file(tmp_path: Path, small_k: CameraIntrinsics, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.dhrec"
    RecordingWriter(empty, small_k).close()  # a recording with no chunk: an unreadable source of 0 frames
    out = tmp_path / "out.dhrec"
    assert main(["record", "--source", str(empty), "--out", str(out)]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert "no frame was recorded" in line and f"{out} was not written" in line
    assert not out.exists() and not (tmp_path / "out.dhrec.partial").exists()
    out.write_bytes(b"an older take")  # an existing file is not replaced by an empty one
    assert main(["record", "--source", str(empty), "--out", str(out)]) == 1
    assert out.read_bytes() == b"an older take"


def test_a_source_failing_before_its_first_frame_leaves_no_file(
    tmp_path: Path, small_k: CameraIntrinsics, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> None:
        raise SourceError("no depth stream")

    _use(monkeypatch, _Scripted(make_frames(small_k, 3), at=0, hook=fail))
    out = tmp_path / "none.dhrec"
    assert _record_cmd(out) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert "no frame was recorded from test:: no depth stream" in line
    assert not out.exists() and not (tmp_path / "none.dhrec.partial").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_recording_cleanly_in_process(
    tmp_path: Path,
    small_k: CameraIntrinsics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sig: signal.Signals,
) -> None:
    frames = make_frames(small_k, 40)
    _use(monkeypatch, _Scripted(frames, at=17, hook=lambda: os.kill(os.getpid(), sig)))
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    out = tmp_path / "sig.dhrec"
    assert _record_cmd(out) == 0
    assert f"interrupted ({sig.name}); closing the recording" in capsys.readouterr().out
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before  # handlers restored
    _assert_frames(list(RecordingSource(out)), frames[:17])
    assert not (tmp_path / "sig.dhrec.partial").exists()


def test_a_signal_during_a_chunk_write_waits_for_the_write(
    tmp_path: Path, small_k: CameraIntrinsics, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = make_frames(small_k, 40)
    _use(monkeypatch, _Scripted(frames))
    real_append = RecordingWriter._append
    calls: list[int] = []

    def append_with_signal(self: RecordingWriter, data: bytes) -> None:
        calls.append(len(data))
        if len(calls) == 4:  # the header, two chunks, then SIGTERM lands inside the third chunk's write
            os.kill(os.getpid(), signal.SIGTERM)
        real_append(self, data)

    monkeypatch.setattr(RecordingWriter, "_append", append_with_signal)
    out = tmp_path / "mid.dhrec"
    assert _record_cmd(out) == 0
    _assert_frames(list(RecordingSource(out)), frames[:15])  # the third chunk is whole; nothing after it


def test_a_second_signal_while_closing_does_not_cut_the_close_short(
    tmp_path: Path, small_k: CameraIntrinsics, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = make_frames(small_k, 40)
    _use(monkeypatch, _Scripted(frames, at=7, hook=lambda: os.kill(os.getpid(), signal.SIGINT)))
    real_close = RecordingWriter.close

    def close_after_another_signal(self: RecordingWriter) -> Path:
        os.kill(os.getpid(), signal.SIGTERM)  # an impatient second signal
        return real_close(self)

    monkeypatch.setattr(RecordingWriter, "close", close_after_another_signal)
    out = tmp_path / "twice.dhrec"
    assert _record_cmd(out) == 0
    _assert_frames(list(RecordingSource(out)), frames[:7])
    assert not (tmp_path / "twice.dhrec.partial").exists()


def _frames_in(partial: Path) -> int:
    """Frames in the whole chunks written so far to a recording in progress."""
    data = partial.read_bytes()
    if len(data) < _FILE_HEAD.size:
        return 0
    off, n = _FILE_HEAD.size + _FILE_HEAD.unpack_from(data, 0)[2] + 4, 0
    while off + _CHUNK_HEAD.size <= len(data):
        _, k, _, _, _, payload_len, _ = _CHUNK_HEAD.unpack_from(data, off)
        off += _CHUNK_HEAD.size + payload_len
        if off > len(data):
            break
        n += k
    return n


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_record_process_finalises_the_file(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "live.dhrec"
    partial = tmp_path / "live.dhrec.partial"
    env = {**os.environ, "PYTHONPATH": str(Path(depthhand.__file__).parents[1])}
    cmd = [sys.executable, "-m", "depthhand.cli", "record", "--source", "scripted://demo?fps=30"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--chunk-frames", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (before := _frames_in(partial) if partial.exists() else 0) < 15:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the recording did not start"
            time.sleep(0.05)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr  # as for Ctrl-C
    assert f"interrupted ({sig.name}); closing the recording" in stdout
    assert out.exists() and not partial.exists()
    with RecordingSource(out) as rec:
        got = list(rec)
        assert not rec.stats.truncated
    assert len(got) >= before
    assert [f.index for f in got] == list(range(len(got)))  # every frame up to the signal, in order
    assert f"wrote {len(got)} frames" in stdout
