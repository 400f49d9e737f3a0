"""``open_stream(url)``: the frames of one source, as the live loops consume them.

The source is built once. Files and scene sources (synthetic, scripted) are read in order, every frame, each with
its ground truth where the source knows it. Sensors get live semantics: a
:class:`~depthhand.capture.live.ReconnectingSource` (a device that disappears is reopened with back-off; the first
attempt uses the source already built) under a :class:`~depthhand.capture.live.LatestFrameReader` (a slow loop
gets the newest frame, never a queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from depthhand.capture.base import DepthSource, SourceStats
from depthhand.capture.live import LatestFrameReader, ReconnectingSource
from depthhand.capture.sources import open_source
from depthhand.capture.synthetic import SceneSource, SceneTruth
from depthhand.structures import DepthFrame


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

    Attributes:
        source: The source, built once (the server reaches the calibration user's ``session`` through it).
    """

    def __init__(self, url: str, max_frames: int | None = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be at least 1 (or None for no limit), got {max_frames}")
        self.url = url
        self.max_frames = max_frames
        self.source: DepthSource = open_source(url)
        self._live: DepthSource | None = None

    @property
    def live(self) -> bool:
        """Whether the stream has sensor semantics (newest frame wins, reconnects)."""
        return self.source.is_live and not isinstance(self.source, SceneSource)

    @property
    def stats(self) -> SourceStats:
        """The source's counters (frames read, skipped, dropped, reconnects, errors)."""
        return self._live.stats if self._live is not None else self.source.stats

    def __iter__(self) -> Iterator[CapturedFrame]:
        for count, item in enumerate(self._frames(), start=1):
            yield item
            if self.max_frames is not None and count >= self.max_frames:
                return

    def _frames(self) -> Iterator[CapturedFrame]:
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
            return first.pop() if first else open_source(self.url)

        self._live = ReconnectingSource(factory)
        with LatestFrameReader(self._live) as reader:
            for frame in reader:
                yield CapturedFrame(frame)


def open_stream(url: str, max_frames: int | None = None) -> FrameStream:
    """The :class:`FrameStream` of ``url`` (the source is built here; a bad URL raises here)."""
    return FrameStream(url, max_frames)
