from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from depthhand.capture.base import DepthSource, SourceError
from depthhand.capture.live import Backoff, LatestFrameReader, ReconnectingSource
from depthhand.capture.sources import ArraySource
from depthhand.structures import CameraIntrinsics, DepthFrame

K = CameraIntrinsics(10.0, 10.0, 3.5, 2.5, 8, 6)


def _frame(i: int) -> DepthFrame:
    return DepthFrame(np.full((6, 8), 500 + i, np.float32), K, timestamp_us=i * 1000, index=i)


class PacedSource(DepthSource):
    """A live-like source producing ``n`` frames, one every ``period_s``."""

    is_live = True

    def __init__(self, n: int, period_s: float) -> None:
        super().__init__("paced://")
        self.n, self.period_s, self.i = n, period_s, 0

    def _open(self) -> CameraIntrinsics:
        return K

    def _read(self) -> DepthFrame | None:
        if self.i >= self.n:
            return None
        time.sleep(self.period_s)
        self.i += 1
        return _frame(self.i - 1)


class Device:
    """A device shared by successive FlakySource instances: it vanishes after some frames and for some opens."""

    def __init__(self, fail_at: set[int], failed_opens: int, total: int, period_s: float = 0.0) -> None:
        self.period_s = period_s
        self.counter = 0
        self.fail_at = fail_at
        self.failed_opens = failed_opens
        self.total = total
        self.opens = 0


class FlakySource(DepthSource):
    is_live = True

    def __init__(self, device: Device) -> None:
        super().__init__("flaky://")
        self.device = device

    def _open(self) -> CameraIntrinsics:
        self.device.opens += 1
        if self.device.failed_opens > 0:
            self.device.failed_opens -= 1
            raise SourceError("device not found")
        return K

    def _read(self) -> DepthFrame | None:
        d = self.device
        if d.counter >= d.total:
            return None
        if d.counter in d.fail_at:
            d.fail_at.discard(d.counter)
            raise SourceError("USB transfer failed")
        time.sleep(d.period_s)
        d.counter += 1
        return _frame(d.counter - 1)


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted() -> None:
    n = 60
    with LatestFrameReader(PacedSource(n, 0.002)) as reader:
        got = []
        while (frame := reader.read(timeout_s=5.0)) is not None:
            got.append(frame.index)
            time.sleep(0.012)  # a consumer ~6× slower than the source
    stats = reader.stats
    assert got == sorted(got) and len(set(got)) == len(got)  # newest first, never a repeat or an old frame
    assert got[-1] == n - 1  # the last frame is always delivered
    assert stats.frames_read == n
    assert stats.frames_delivered == len(got)
    assert stats.frames_delivered + stats.frames_dropped == n
    assert stats.frames_dropped > n // 2  # it dropped instead of queueing


def test_fast_consumer_gets_every_frame() -> None:
    reader = LatestFrameReader(PacedSource(20, 0.02))
    got = [f.index for f in reader]
    reader.close()
    assert got == sorted(got) and got[-1] == 19
    assert reader.stats.frames_dropped <= 2  # only a scheduler stall > 20 ms can drop one
    assert len(got) + reader.stats.frames_dropped == 20


def test_reader_timeout_and_end() -> None:
    reader = LatestFrameReader(PacedSource(1, 0.3))
    t0 = time.perf_counter()
    assert reader.read(timeout_s=0.05) is None  # nothing yet
    assert time.perf_counter() - t0 < 0.25
    assert reader.read(timeout_s=5.0) is not None
    assert reader.read(timeout_s=5.0) is None  # ended
    reader.close()


def test_reconnect_with_backoff_keeps_the_stream_going() -> None:
    device = Device(fail_at={5, 12}, failed_opens=0, total=20)
    sleeps: list[float] = []

    def factory() -> DepthSource:
        return FlakySource(device)

    src = ReconnectingSource(factory, Backoff(initial_s=0.1, factor=2.0, max_s=0.3), sleep=sleeps.append)
    with src:
        # after the first failure the device stays away for 3 opens
        got = []
        for frame in src:
            got.append(frame.index)
            if frame.index == 4:
                device.failed_opens = 3
    assert got == list(range(20))
    assert src.stats.reconnects == 2
    assert src.stats.errors == 2 + 3  # two read failures, three failed opens
    assert sleeps == pytest.approx([0.1, 0.2, 0.3])  # exponential, capped at max_s
    assert device.opens == 1 + 4 + 1


def test_reconnect_gives_up_after_max_attempts() -> None:
    device = Device(fail_at=set(), failed_opens=10, total=5)
    src = ReconnectingSource(lambda: FlakySource(device), Backoff(max_attempts=3), sleep=lambda s: None)
    with pytest.raises(SourceError, match="gave up after 3 attempts"):
        src.open()


def test_reader_over_reconnecting_source_survives_unplugging() -> None:
    device = Device(fail_at={3, 7, 9}, failed_opens=0, total=15, period_s=0.02)
    src = ReconnectingSource(lambda: FlakySource(device), Backoff(initial_s=0.001))
    with LatestFrameReader(src) as reader:
        got = [f.index for f in reader]
    assert got == sorted(got) and len(set(got)) == len(got) and got[-1] == 14
    assert len(got) + reader.stats.frames_dropped == 15  # every frame read once, across three reconnects
    assert len(got) >= 12  # the consumer is much faster than the source
    assert src.stats.reconnects == 3


class Broken(DepthSource):
    def _open(self) -> CameraIntrinsics:
        return K

    def _read(self) -> DepthFrame | None:
        raise KeyError("a bug, not a device failure")


def test_unexpected_errors_reach_the_consumer() -> None:
    reader = LatestFrameReader(Broken("broken://"))
    with pytest.raises(KeyError, match="a bug"):
        reader.read(timeout_s=5.0)
    reader.close()


def test_close_stops_a_reconnect_loop_quickly() -> None:
    device = Device(fail_at={0}, failed_opens=0, total=10)
    src = ReconnectingSource(lambda: FlakySource(device), Backoff(initial_s=0.01))
    src.open()
    device.failed_opens = 10**6  # unplugged for good after the first read fails
    reader = LatestFrameReader(src).start()
    time.sleep(0.1)  # the thread is now retrying forever
    t0 = time.perf_counter()
    reader.close()
    assert time.perf_counter() - t0 < 2.0
    assert src.stats.errors > 2
    assert not any(t.name.startswith("LatestFrameReader(flaky") and t.is_alive() for t in threading.enumerate())


def test_array_source_under_reader_keeps_order() -> None:
    frames = [_frame(i) for i in range(5)]
    with LatestFrameReader(ArraySource(frames)) as reader:
        out = [f.index for f in reader]
    assert out[-1] == 4 and out == sorted(out)
    assert reader.stats.frames_delivered + reader.stats.frames_dropped == 5


def test_backoff_delays() -> None:
    b = Backoff(initial_s=0.5, factor=3.0, max_s=4.0)
    assert [b.delay(i) for i in range(4)] == [0.5, 1.5, 4.0, 4.0]
