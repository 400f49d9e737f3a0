"""The :class:`DepthSource` interface every capture adapter implements, its errors and its statistics.

A source is opened as a context manager and iterated for :class:`~depthhand.structures.DepthFrame` objects::

    with open_source("folder:frames?intrinsics=sr305") as src:
        for frame in src:
            ...

Finite sources (folders, recordings) end their iteration at the last frame; live sources (sensors) run until closed.
Errors that a reopen may cure (a device that disappeared) raise :class:`SourceError`; configuration mistakes raise
``ValueError`` / ``FileNotFoundError``; a missing optional library raises :class:`MissingExtraError`.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from depthhand.structures import CameraIntrinsics, DepthFrame


class SourceError(RuntimeError):
    """A source failed while open (device unplugged, stream stopped); reopening may help."""


class MissingExtraError(ImportError):
    """An adapter's optional library is not installed; the message names the package and the extra."""


def require(module: str, package: str, extra: str = "sensors") -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming the pip package and the extra.

    Args:
        module: Module to import (``"pyrealsense2"``).
        package: The pip package that provides it.
        extra: depthhand's optional-dependency group that installs it.

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"this source needs the Python module {module!r}: pip install {package} "
            f"(or pip install 'depthhand[{extra}]'); import failed with: {exc}"
        ) from exc


@dataclass
class SourceStats:
    """Counters of a source, safe to read from another thread (updates hold :attr:`lock`).

    Attributes:
        frames_read: Frames the source produced.
        frames_delivered: Frames handed to the consumer.
        frames_dropped: Frames overwritten before the consumer took them (newest-frame-wins buffering).
        frames_skipped: Unreadable frames skipped (a corrupt file; for a recording, the frames a skipped chunk's
            header claims, an estimate since the header may be what is corrupt; 0 when it lacks the chunk magic).
        corrupt_chunks: Corrupt regions of a recording skipped (one or more adjacent bad chunks, or garbage, each).
        bytes_skipped: Bytes of a recording skipped over to reach the next valid chunk.
        reconnects: Successful reopenings after a failure.
        errors: Failures seen (each failed read or reopen).
        last_error: Text of the most recent failure.
        truncated: A recording ended inside a chunk (the tail was lost).
    """

    frames_read: int = 0
    frames_delivered: int = 0
    frames_dropped: int = 0
    frames_skipped: int = 0
    corrupt_chunks: int = 0
    bytes_skipped: int = 0
    reconnects: int = 0
    errors: int = 0
    last_error: str = ""
    truncated: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to counters by name (``stats.add(frames_read=1)``)."""
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def error(self, message: str) -> None:
        """Record one failure."""
        with self.lock:
            self.errors += 1
            self.last_error = message

    def to_dict(self) -> dict[str, int | str | bool]:
        """Plain-JSON snapshot."""
        with self.lock:
            return {
                "frames_read": self.frames_read,
                "frames_delivered": self.frames_delivered,
                "frames_dropped": self.frames_dropped,
                "frames_skipped": self.frames_skipped,
                "corrupt_chunks": self.corrupt_chunks,
                "bytes_skipped": self.bytes_skipped,
                "reconnects": self.reconnects,
                "errors": self.errors,
                "last_error": self.last_error,
                "truncated": self.truncated,
            }


class DepthSource(abc.ABC):
    """A stream of depth frames with known intrinsics and µs capture timestamps.

    Subclasses implement :meth:`_open`, :meth:`_read` and :meth:`_close`. ``read`` returns ``None`` at the end of
    a finite source. Using the source as a context manager opens and closes it; iterating an unopened source opens
    it.

    Attributes:
        url: The string the source was opened from (used as ``DepthFrame.source_id``).
        is_live: True for sensors (frames keep coming, old ones are worthless), False for files.
        stats: Counters (frames read, skipped, errors).
    """

    is_live: bool = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.stats = SourceStats()
        self._intrinsics: CameraIntrinsics | None = None
        self._is_open = False

    # ---- subclass hooks -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> CameraIntrinsics:
        """Open the device or file and return its intrinsics."""

    @abc.abstractmethod
    def _read(self) -> DepthFrame | None:
        """Return the next frame, or ``None`` at the end of a finite source."""

    def _close(self) -> None:
        """Release the device or file (default: nothing)."""
        return None

    # ---- public API -----------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` was not called since."""
        return self._is_open

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """The camera of the frames; opens the source if needed."""
        if self._intrinsics is None:
            self.open()
        intrinsics = self._intrinsics
        if intrinsics is None:
            raise SourceError(f"{self.url}: the source opened without intrinsics")
        return intrinsics

    def open(self) -> DepthSource:
        """Open the source (idempotent); returns ``self``."""
        if not self._is_open:
            self._intrinsics = self._open()
            self._is_open = True
        return self

    def read(self) -> DepthFrame | None:
        """The next frame, or ``None`` at the end of a finite source.

        Raises:
            SourceError: When the device or stream failed (a reopen may help).
        """
        if not self._is_open:
            self.open()
        frame = self._read()
        if frame is not None:
            self.stats.add(frames_read=1)
        return frame

    def close(self) -> None:
        """Close the source (idempotent)."""
        if self._is_open:
            self._is_open = False
            self._close()

    def __enter__(self) -> DepthSource:
        return self.open()

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class CameraSource(DepthSource):
    """A vendor SDK's depth stream: a live camera chosen by serial number, or the SDK's own recording format.

    Subclasses set :attr:`scheme` (the URL scheme: ``scheme://SERIAL`` live, ``scheme:FILE`` playback) and
    :attr:`default_size`, and implement the hooks of :class:`DepthSource`.

    Args:
        serial: Camera serial number (live; ``""`` = the first camera).
        file: A recording to play instead of a camera.
        width: Requested depth width (live; ``None`` = :attr:`default_size`, 0 = the device's default profile).
        height: Requested depth height (live; as ``width``).
        fps: Requested frame rate (live).
        timeout_ms: How long a read waits for a frame before it fails (live) or ends (file).
        url: Source id (default: built from ``scheme``, ``serial`` and ``file``).
    """

    scheme: str = ""
    default_size: tuple[int, int] = (640, 480)

    def __init__(
        self,
        serial: str = "",
        file: str | Path | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: int = 30,
        timeout_ms: int = 2000,
        url: str = "",
    ) -> None:
        super().__init__(url or (f"{self.scheme}:{file}" if file else f"{self.scheme}://{serial}"))
        self.serial = serial
        self.file = Path(file) if file is not None else None
        self.is_live = self.file is None
        w, h = self.default_size
        self.size = (w if width is None else width, h if height is None else height, fps)
        self.timeout_ms = timeout_ms
        self._pipeline: Any = None
        self._index = 0
