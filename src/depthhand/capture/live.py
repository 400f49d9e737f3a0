"""Live-stream semantics on top of any :class:`DepthSource`: newest frame wins, reconnect with back-off.

* :class:`LatestFrameReader` reads a source on a background thread into a one-slot buffer. A slow consumer gets the
  newest frame; frames it never took are dropped and counted (``stats.frames_dropped``), never queued.
* :class:`ReconnectingSource` wraps a source factory; when a read fails (:class:`SourceError`, ``OSError`` or
  ``RuntimeError`` from the driver), or the stream ends (``reopen_at_end``, a sensor), it closes the source and
  reopens it, waiting with exponential back-off while the reopened source keeps failing before its first frame, so
  the loop keeps running (``stats.reconnects``, ``stats.errors``, :attr:`~ReconnectingSource.state`).

Combined: ``LatestFrameReader(ReconnectingSource(lambda: open_source(url)))``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

from depthhand.capture.base import DepthSource, SourceError, SourceStats
from depthhand.structures import CameraIntrinsics, DepthFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off between reconnection attempts.

    Attributes:
        initial_s: First wait, seconds.
        factor: Growth per failed attempt.
        max_s: Longest wait, seconds.
        max_attempts: Give up (raise) after this many consecutive failures; 0 = never give up.
    """

    initial_s: float = 0.1
    factor: float = 2.0
    max_s: float = 5.0
    max_attempts: int = 0

    def delay(self, attempt: int) -> float:
        """Wait before attempt ``attempt`` (0-based), seconds."""
        return float(min(self.max_s, self.initial_s * self.factor**attempt))


class ReconnectingSource(DepthSource):
    """A source that reopens itself after failures.

    Args:
        factory: Builds a fresh (unopened) source; called at open and after every failure.
        backoff: Waiting policy between attempts.
        sleep: Sleep function (tests pass a fake clock's); default: a wait that :meth:`interrupt` cuts short.
        reopen_at_end: Treat the end of the stream (``read() -> None``) as a failure and reopen (a sensor's stream
            does not end); otherwise the end is passed through.

    A read that fails after frames came reopens at once; an open that fails, or a reopened source that fails (or
    ends) again before its first frame, waits ``backoff.delay(attempt)`` first, ``attempt`` counting the failures
    since the last frame. After ``backoff.max_attempts`` of them (0: never) it gives up with :class:`SourceError`.

    Attributes:
        state: ``"running"`` (open, or not yet opened), ``"reconnecting"`` (between a failure and the next
            successful open) or ``"failed"`` (gave up).
    """

    def __init__(
        self,
        factory: Callable[[], DepthSource],
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
        reopen_at_end: bool = False,
    ) -> None:
        self._factory = factory
        self._source: DepthSource | None = None
        self.backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self.reopen_at_end = reopen_at_end
        self.state = "running"
        self._attempt = 0  # failures since the last frame
        self._frames_since_open = 0
        first = factory()
        super().__init__(first.url)
        self._source = first
        self.is_live = first.is_live

    def _failed(self, exc: BaseException) -> None:
        """Count one failure before a frame; give up or wait the back-off."""
        self._attempt += 1
        if self.backoff.max_attempts and self._attempt >= self.backoff.max_attempts:
            self.state = "failed"
            raise SourceError(f"{self.url}: gave up after {self._attempt} attempts: {exc}") from exc
        delay = self.backoff.delay(self._attempt - 1)
        log.warning("%s: %s; retrying in %.2f s", self.url, exc, delay)
        self._sleep(delay)

    def _connect(self, source: DepthSource | None) -> CameraIntrinsics:
        while not self._stop.is_set():
            try:
                src = source if source is not None else self._factory()
                source = None
                src.open()
                self._source = src
                self._frames_since_open = 0
                self.state = "running"
                return src.intrinsics
            except (SourceError, OSError, RuntimeError) as exc:
                self.state = "reconnecting"
                self.stats.error(f"open failed: {exc}")
                self._failed(exc)
        raise SourceError(f"{self.url}: closed while reconnecting")

    def _open(self) -> CameraIntrinsics:
        self._stop.clear()
        return self._connect(self._source)

    def _read(self) -> DepthFrame | None:
        while True:
            src = self._source
            try:
                if src is None:
                    raise SourceError("not connected")
                frame = src.read()
                if frame is not None:
                    self._attempt = 0
                    self._frames_since_open += 1
                    return frame
                if not self.reopen_at_end:
                    return None
                raise SourceError("the stream ended")
            except (SourceError, OSError, RuntimeError) as exc:
                self.state = "reconnecting"
                self.stats.error(f"read failed: {exc}")
                log.warning("%s: read failed (%s); reconnecting", self.url, exc)
                if src is not None:
                    self._close_quietly(src)
                self._source = None
                if self._frames_since_open == 0:  # the reopened source failed at once: back off, do not spin
                    self._failed(exc)
                self._connect(None)
                self.stats.add(reconnects=1)

    @staticmethod
    def _close_quietly(src: DepthSource) -> None:
        try:
            src.close()
        except Exception as exc:  # a vanished device may fail to close in driver-specific ways
            log.debug("close after failure raised %s", exc)

    def interrupt(self) -> None:
        """Stop reconnecting (called from another thread before :meth:`close`)."""
        self._stop.set()

    def _close(self) -> None:
        self._stop.set()
        if self._source is not None:
            self._close_quietly(self._source)


class LatestFrameReader:
    """Read a source on a thread; hand the consumer only the newest frame.

    Args:
        source: Any source (wrap it in :class:`ReconnectingSource` for sensors that may vanish).

    ``read(timeout_s)`` blocks until a frame newer than the last one returned is available and returns it, or
    ``None`` when the source ended (or the timeout passed). A frame replaced before the consumer took it counts in
    ``stats.frames_dropped``; ``frames_read == frames_delivered + frames_dropped`` once the stream is drained.
    An exception escaping the source ends the stream; it is re-raised by the next :meth:`read`.

    Example:
        >>> with LatestFrameReader(open_source("synthetic://topdown")) as reader:  # doctest: +SKIP
        ...     for frame in reader:
        ...         process(frame)
    """

    def __init__(self, source: DepthSource) -> None:
        self.source = source
        self.stats = SourceStats()
        self._slot: DepthFrame | None = None
        self._cond = threading.Condition()
        self._ended = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Intrinsics of the wrapped source."""
        return self.source.intrinsics

    def start(self) -> LatestFrameReader:
        """Open the source and start the reading thread (idempotent)."""
        if self._thread is None:
            self.source.open()
            self._thread = threading.Thread(target=self._run, name=f"LatestFrameReader({self.source.url})", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                with self._cond:
                    self.stats.add(frames_read=1)
                    if self._slot is not None:
                        self.stats.add(frames_dropped=1)
                    self._slot = frame
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer by read()
            self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The newest frame not yet returned; ``None`` at the end of the stream or after ``timeout_s``."""
        self.start()
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._ended, timeout=timeout_s)
            frame, self._slot = self._slot, None
        if frame is not None:
            self.stats.add(frames_delivered=1)
            return frame
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return None

    def close(self) -> None:
        """Stop the thread and close the source."""
        self._stop.set()
        interrupt = getattr(self.source, "interrupt", None)
        if callable(interrupt):
            interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.source.close()

    def __enter__(self) -> LatestFrameReader:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[DepthFrame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame
