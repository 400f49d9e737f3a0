"""``open_stream(url)``: the frames of one source, as the live loops consume them, and the source's state.

The source is built once. Files and scene sources (synthetic, scripted) are read in order, every frame, each with
its ground truth where the source knows it; when they end, they end (``state`` ``"ended"``), and an error they raise
(a folder none of whose files is readable, a corrupt recording opened with ``on_corrupt=raise``) reaches the
consumer unchanged (``state`` ``"failed"``): they are never reopened. Sensors get live semantics: a
:class:`~depthhand.capture.live.ReconnectingSource` (a device that fails or whose stream ends is reopened with
back-off, ``state`` ``"reconnecting"`` meanwhile; the first attempt uses the source already built) under a
:class:`~depthhand.capture.live.LatestFrameReader` (a slow loop gets the newest frame, never a queue).

:meth:`FrameStream.status` is a plain-JSON snapshot of the state and the counters, safe to call from another thread
while the stream is iterated (the server publishes it in ``/api/status`` and ``hello``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from depthhand.capture.base import DepthSource, SourceStats
from depthhand.capture.live import Backoff, LatestFrameReader, ReconnectingSource
from depthhand.capture.sources import open_source
from depthhand.capture.synthetic import SceneSource, SceneTruth
from depthhand.structures import DepthFrame

STATES = ("starting", "running", "reconnecting", "ended", "failed", "stopped")
"""A stream's states: built and not yet read; delivering frames; a sensor being reopened after a failure; a finite
source at its end (or ``max_frames`` reached); a final error; closed by its consumer before the end."""
FINAL_STATES = ("ended", "failed", "stopped")


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame as a stream yields it.

    Attributes:
        frame: The depth frame.
        truth: Its ground truth (scene sources), else ``None``.
    """

    frame: DepthFrame
    truth: SceneTruth | None = None


class FrameStream:
    """The frames of one source URL (see the module docstring); iterate it once.

    Args:
        url: Source URL (:func:`depthhand.capture.sources.open_source`).
        max_frames: Stop after this many frames (``None``: until the source ends).
        on_corrupt: What a ``rec:`` URL without ``?on_corrupt=`` does at a corrupt chunk (the server skips).
        opener: Builds a source from ``url`` (default :func:`~depthhand.capture.sources.open_source`); called once
            here and again for every reopening of a sensor.
        backoff: Waiting policy between a sensor's reopenings.

    Attributes:
        source: The source, built once (the server reaches the calibration user's ``session`` through it).
    """

    def __init__(
        self,
        url: str,
        max_frames: int | None = None,
        *,
        on_corrupt: Literal["raise", "skip"] = "raise",
        opener: Callable[[str], DepthSource] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be at least 1 (or None for no limit), got {max_frames}")
        self.url = url
        self.max_frames = max_frames
        self._opener = opener or functools.partial(open_source, on_corrupt=on_corrupt)
        self._backoff = backoff
        self.source: DepthSource = self._opener(url)
        self._live: ReconnectingSource | None = None
        self._reader: LatestFrameReader | None = None
        self._state = "starting"
        self._frames = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def live(self) -> bool:
        """Whether the stream has sensor semantics (newest frame wins, reconnects)."""
        return self.source.is_live and not isinstance(self.source, SceneSource)

    @property
    def kind(self) -> str:
        """``"sensor"``, ``"scene"`` (synthetic, scripted) or ``"file"`` (folder, recording, SDK playback)."""
        if isinstance(self.source, SceneSource):
            return "scene"
        return "sensor" if self.live else "file"

    @property
    def stats(self) -> SourceStats:
        """The source's counters (frames read, skipped, dropped, reconnects, errors)."""
        return self._live.stats if self._live is not None else self.source.stats

    @property
    def state(self) -> str:
        """One of :data:`STATES`."""
        with self._lock:
            state = self._state
        if state == "running" and self._live is not None and self._live.state == "reconnecting":
            return "reconnecting"
        return state

    def status(self) -> dict[str, Any]:
        """The state and counters, as plain JSON.

        Returns:
            ``url``, ``kind``, ``state``, ``ended`` (no more frames will come), ``frames`` (yielded), ``skipped``
            (unreadable frames), ``dropped`` (newest-frame-wins), ``corrupt_chunks``, ``bytes_skipped``,
            ``truncated`` (recordings), ``reconnects``, ``errors`` and ``last_error``.
        """
        stats = self.stats.to_dict()
        reader = self._reader
        state = self.state
        with self._lock:
            frames = self._frames
        return {
            "url": self.url,
            "kind": self.kind,
            "state": state,
            "ended": state in FINAL_STATES,
            "frames": frames,
            "skipped": stats["frames_skipped"],
            "dropped": reader.stats.frames_dropped if reader is not None else stats["frames_dropped"],
            "corrupt_chunks": stats["corrupt_chunks"],
            "bytes_skipped": stats["bytes_skipped"],
            "truncated": stats["truncated"],
            "reconnects": stats["reconnects"],
            "errors": stats["errors"],
            "last_error": stats["last_error"],
        }

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def __iter__(self) -> Iterator[CapturedFrame]:
        self._set_state("running")
        final = "stopped"
        try:
            for item in self._items():
                with self._lock:
                    self._frames += 1
                    count = self._frames
                yield item
                if self.max_frames is not None and count >= self.max_frames:
                    break
            final = "stopped" if self._closed else "ended"
        except Exception as exc:  # a final error: recorded, and raised unchanged
            final = "failed"
            self.stats.error(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._set_state(final)

    def _items(self) -> Iterator[CapturedFrame]:
        src = self.source
        if isinstance(src, SceneSource):
            with src:
                for frame in src:
                    yield CapturedFrame(frame, src.truth_for(frame.index))
            return
        if not self.live:
            with src:
                for frame in src:
                    yield CapturedFrame(frame)
            return
        first = [src]

        def factory() -> DepthSource:
            return first.pop() if first else self._opener(self.url)

        self._live = ReconnectingSource(factory, self._backoff, reopen_at_end=True)
        self._reader = LatestFrameReader(self._live)
        with self._reader as reader:
            for frame in reader:
                yield CapturedFrame(frame)

    def close(self) -> None:
        """Stop a sensor's reading thread (from any thread; the iteration then ends, ``state`` ``"stopped"``)."""
        self._closed = True
        if self._reader is not None:
            self._reader.close()


def open_stream(
    url: str, max_frames: int | None = None, *, on_corrupt: Literal["raise", "skip"] = "raise"
) -> FrameStream:
    """The :class:`FrameStream` of ``url`` (the source is built here; a bad URL raises here)."""
    return FrameStream(url, max_frames, on_corrupt=on_corrupt)
