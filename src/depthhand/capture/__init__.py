"""Stage 1: depth sources (sensors, recordings, synthetic scenes) yielding DepthFrames.

``open_source(url)`` is the entry point (see :mod:`depthhand.capture.sources` for the URL grammar); sensor
libraries are imported only when a sensor source is opened.
"""

from typing import TYPE_CHECKING, Any

from depthhand.capture.base import DepthSource as DepthSource
from depthhand.capture.base import MissingExtraError as MissingExtraError
from depthhand.capture.base import SourceError as SourceError
from depthhand.capture.base import SourceStats as SourceStats

if TYPE_CHECKING:
    from depthhand.capture.live import Backoff as Backoff
    from depthhand.capture.live import LatestFrameReader as LatestFrameReader
    from depthhand.capture.live import ReconnectingSource as ReconnectingSource
    from depthhand.capture.sources import open_source as open_source

_LAZY = {
    "Backoff": "depthhand.capture.live",
    "LatestFrameReader": "depthhand.capture.live",
    "ReconnectingSource": "depthhand.capture.live",
    "open_source": "depthhand.capture.sources",
}
"""Names imported on first use: reading one depth file (``depthhand predict``) needs neither module (3-5 ms)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
