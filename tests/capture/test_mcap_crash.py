"""A killed MCAP writer (SIGKILL: no handler, no close) loses at most the chunk it was filling."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcap.exceptions import EndOfFile
from mcap.reader import NonSeekingReader

import depthhand
from depthhand.capture.mcap_reader import McapRecordingSource
from depthhand.structures import CameraIntrinsics
from tests.capture.conftest import make_frames
from tests.capture.test_mcap import assert_frames

ROOT = Path(depthhand.__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}

# Writes 30 frames with chunks of 5, prints "ready" after frame N (argv[2]) and blocks there: the parent kills it.
WRITER = r"""
import sys
from depthhand.capture.mcap_writer import McapRecordingWriter
from depthhand.structures import CameraIntrinsics
from tests.capture.conftest import make_frames

k = CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 64, 48, depth_unit_mm=0.125)
rec = McapRecordingWriter(sys.argv[1], k, chunk_frames=5)
for i, frame in enumerate(make_frames(k, 30)):
    rec.write(frame)
    if i + 1 == int(sys.argv[2]):
        print("ready", flush=True)
        sys.stdin.read()
"""


def _library_sequences(path: Path) -> list[int]:
    """Depth-image sequence numbers the mcap library's NonSeekingReader yields before the footer-less end."""
    out: list[int] = []
    try:
        for _, channel, message in NonSeekingReader(io.BytesIO(path.read_bytes())).iter_messages(log_time_order=False):
            if channel.topic == "/depth/image":
                out.append(message.sequence)
    except EndOfFile:
        pass
    return out


@pytest.mark.parametrize("n", [13, 15])
def test_sigkill_after_n_frames_keeps_every_whole_chunk(tmp_path: Path, small_k: CameraIntrinsics, n: int) -> None:
    out = tmp_path / "killed.mcap"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out), str(n)],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    partial = tmp_path / "killed.mcap.partial"
    assert partial.exists() and not out.exists()
    kept = n // 5 * 5  # the frames of the chunk being filled (n % 5 of them) are the only loss
    frames = make_frames(small_k, 30)
    src = McapRecordingSource(partial)
    assert_frames(list(src), frames[:kept])
    assert not src.stats.truncated and src.stats.corrupt_chunks == 0
    assert _library_sequences(partial) == list(range(kept))


def test_sigkill_of_the_record_command_at_any_moment(tmp_path: Path) -> None:
    """``depthhand record`` from a 30 fps source, killed while running: every whole chunk reads back in order."""
    out = tmp_path / "live.mcap"
    partial = tmp_path / "live.mcap.partial"
    cmd = [sys.executable, "-m", "depthhand.cli", "record", "--source", "scripted://demo?fps=30"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--chunk-frames", "5"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while (seen := len(_library_sequences(partial)) if partial.exists() else 0) < 10:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the recording did not start"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    src = McapRecordingSource(partial)
    got = list(src)
    assert len(got) >= seen and len(got) % 5 == 0
    assert [f.index for f in got] == list(range(len(got)))
    assert [f.index for f in got] == _library_sequences(partial)
    assert src.stats.corrupt_chunks == 0
