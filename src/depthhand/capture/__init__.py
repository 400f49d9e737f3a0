"""Stage 1: depth sources (sensors, recordings, synthetic scenes) yielding DepthFrames.

:func:`depthhand.capture.sources.open_source` is the entry point (see that module for the URL grammar); the live
helpers (reconnecting, latest-frame reading) are :mod:`depthhand.capture.live`. Sensor libraries are imported only
when a sensor source is opened. This package re-exports only the base types, so that reading one depth file
(``depthhand predict``) imports neither the URL table nor the live helpers (3-5 ms of a cold start).
"""

from depthhand.capture.base import DepthSource as DepthSource
from depthhand.capture.base import MissingExtraError as MissingExtraError
from depthhand.capture.base import SourceError as SourceError
from depthhand.capture.base import SourceStats as SourceStats

__all__ = ["DepthSource", "MissingExtraError", "SourceError", "SourceStats"]
