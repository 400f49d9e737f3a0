"""Stage 1: depth sources (sensors, recordings, synthetic scenes) yielding DepthFrames.

``open_source(url)`` is the entry point (see :mod:`depthhand.capture.sources` for the URL grammar); sensor
libraries are imported only when a sensor source is opened.
"""

from depthhand.capture.base import DepthSource as DepthSource
from depthhand.capture.base import MissingExtraError as MissingExtraError
from depthhand.capture.base import SourceError as SourceError
from depthhand.capture.base import SourceStats as SourceStats
from depthhand.capture.live import Backoff as Backoff
from depthhand.capture.live import LatestFrameReader as LatestFrameReader
from depthhand.capture.live import ReconnectingSource as ReconnectingSource
from depthhand.capture.sources import open_source as open_source

__all__ = [
    "Backoff",
    "DepthSource",
    "LatestFrameReader",
    "MissingExtraError",
    "ReconnectingSource",
    "SourceError",
    "SourceStats",
    "open_source",
]
