"""Faults a stream shows and recovers from: a sensor reopened with back-off (state visible), file sources that end or
fail once (never reopened, their error unchanged), files that vanish or change under a running folder source."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.capture import folder as folder_mod
from depthhand.capture.base import DepthSource, SourceError
from depthhand.capture.live import Backoff
from depthhand.capture.sources import open_source
from depthhand.capture.stream import FrameStream
from depthhand.structures import CameraIntrinsics, DepthFrame

K = CameraIntrinsics(10.0, 10.0, 3.5, 2.5, 8, 6)


class Camera:
    """A camera that can be unplugged and plugged back in (shared by every FakeSensor opened on it)."""

    def __init__(self) -> None:
        self.present = True
        self.reads_fail = False  # present, opens, but every read fails (a stalled stream)
        self.opens = 0
        self.frames = 0


class FakeSensor(DepthSource):
    """A live source over a :class:`Camera`: no sensor library can be driven without hardware here."""

    is_live = True

    def __init__(self, camera: Camera, url: str) -> None:
        super().__init__(url)
        self.camera = camera

    def _open(self) -> CameraIntrinsics:
        self.camera.opens += 1
        if not self.camera.present:
            raise SourceError("no device connected")
        return K

    def _read(self) -> DepthFrame | None:
        time.sleep(0.005)
        if not self.camera.present or self.camera.reads_fail:
            raise SourceError("USB transfer failed")
        self.camera.frames += 1
        return DepthFrame(np.full((6, 8), 500.0, np.float32), K, index=self.camera.frames)


def wait_for(predicate, timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


def test_an_unplugged_sensor_is_reopened_and_its_state_is_visible() -> None:
    camera = Camera()
    stream = FrameStream("fake://cam", opener=lambda url: FakeSensor(camera, url), backoff=Backoff(initial_s=0.01))
    got: list[int] = []
    thread = threading.Thread(target=lambda: got.extend(c.frame.index for c in stream), daemon=True)
    thread.start()
    wait_for(lambda: len(got) >= 5)
    assert stream.state == "running"
    camera.present = False
    wait_for(lambda: stream.state == "reconnecting")
    opens = camera.opens
    time.sleep(0.3)
    # back-off: a few attempts in 0.3 s (0.01, 0.02, 0.04, 0.08, 0.16 s), not a spin
    assert 2 <= camera.opens - opens <= 8
    status = stream.status()
    assert not status["ended"] and status["errors"] >= 3 and "no device connected" in status["last_error"]
    before = len(got)
    camera.present = True
    wait_for(lambda: stream.state == "running" and len(got) > before + 5)
    assert stream.status()["reconnects"] == 1
    # opens that succeed and reads that fail at once back off too (no reopen spin)
    camera.reads_fail = True
    wait_for(lambda: stream.state == "reconnecting")
    opens = camera.opens
    time.sleep(0.3)
    assert 2 <= camera.opens - opens <= 8
    camera.reads_fail = False
    wait_for(lambda: stream.state == "running")
    stream.close()
    thread.join(5)
    assert not thread.is_alive() and stream.state == "stopped" and stream.status()["ended"]
    assert got == sorted(got)


def test_a_sensor_that_stays_away_fails_once_with_the_error_unwrapped() -> None:
    camera = Camera()
    camera.present = False
    built: list[FakeSensor] = []

    def opener(url: str) -> FakeSensor:
        built.append(FakeSensor(camera, url))
        return built[-1]

    stream = FrameStream("fake://cam", opener=opener, backoff=Backoff(initial_s=0.001, max_attempts=3))
    with pytest.raises(SourceError) as info:
        list(stream)
    assert str(info.value) == "fake://cam: gave up after 3 attempts: no device connected"
    assert stream.state == "failed" and camera.opens == 3
    assert stream.status()["last_error"].endswith("gave up after 3 attempts: no device connected")


def write_frames(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = folder / f"{i:03d}.png"
        cv2.imwrite(str(path), np.full((6, 8), 4000 + i, np.uint16))
        paths.append(path)
    return paths


URL_SPEC = "intrinsics=10,10,3.5,2.5,8,6&scale=0.125"


def test_a_folder_with_no_readable_file_fails_once_and_is_not_reopened(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(b"not a png")
    opened: list[str] = []

    def opener(url: str) -> DepthSource:
        opened.append(url)
        return open_source(url)

    stream = FrameStream(f"folder:{tmp_path}?{URL_SPEC}", opener=opener)
    with pytest.raises(ValueError) as info:
        list(stream)
    assert str(info.value).startswith(f"depth folder {tmp_path}: none of its 3 file(s) could be read as depth")
    assert len(opened) == 1 and stream.state == "failed"
    status = stream.status()
    assert status["skipped"] == 3 and status["errors"] == 4 and status["ended"]
    assert "none of its 3 file(s)" in status["last_error"]


def test_files_that_vanish_or_break_under_a_running_folder_are_counted(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, 8)
    stream = FrameStream(f"folder:{tmp_path}?{URL_SPEC}")
    got = []
    for item in stream:
        got.append(item.frame.index)
        if item.frame.index == 1:  # the folder was listed at open: these go while it runs
            paths[3].unlink()
            paths[4].unlink()
            paths[6].write_bytes(b"\x89PNG garbage")
    assert got == [0, 1, 2, 5, 7]
    status = stream.status()
    assert status["state"] == "ended" and status["frames"] == 5
    assert status["skipped"] == 3 and status["errors"] == 3
    assert str(paths[6]) in status["last_error"] and "corrupt" in status["last_error"]


def test_a_file_still_being_written_is_read_again_once(tmp_path: Path, monkeypatch) -> None:
    paths = write_frames(tmp_path, 3)
    whole = paths[1].read_bytes()
    paths[1].write_bytes(whole[: len(whole) // 2])  # half written
    real = folder_mod.read_depth_file
    calls: list[Path] = []

    def read_while_a_writer_finishes(path):
        calls.append(Path(path))
        try:
            return real(path)
        finally:
            if Path(path) == paths[1] and len(calls) == 2:
                paths[1].write_bytes(whole)  # the writer finishes while the half file is being decoded

    monkeypatch.setattr(folder_mod, "read_depth_file", read_while_a_writer_finishes)
    stream = FrameStream(f"folder:{tmp_path}?{URL_SPEC}")
    got = [(c.frame.index, float(c.frame.depth_mm[0, 0])) for c in stream]
    assert got == [(0, 500.0), (1, 500.125), (2, 500.25)]
    assert calls.count(paths[1]) == 2 and stream.status()["skipped"] == 0
    # a file that stays broken is not read twice
    paths[2].write_bytes(b"garbage")
    calls.clear()
    got = [c.frame.index for c in FrameStream(f"folder:{tmp_path}?{URL_SPEC}")]
    assert got == [0, 1] and calls.count(paths[2]) == 1


def test_realtime_folder_is_paced_at_its_fps(tmp_path: Path) -> None:
    write_frames(tmp_path, 6)
    t0 = time.monotonic()
    got = list(FrameStream(f"folder:{tmp_path}?{URL_SPEC}&fps=20&realtime=1"))
    elapsed = time.monotonic() - t0
    assert len(got) == 6
    assert elapsed >= 5 / 20 - 0.01  # six frames at 20 fps span 0.25 s
    t0 = time.monotonic()
    assert len(list(FrameStream(f"folder:{tmp_path}?{URL_SPEC}&fps=20"))) == 6
    assert time.monotonic() - t0 < elapsed  # not paced without realtime
