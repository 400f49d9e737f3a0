"""``open_source(url)``: one string grammar for every depth source.

===============================================  =============================================================
URL                                              source
===============================================  =============================================================
``synthetic://topdown?seed=1``                   :class:`~depthhand.capture.synthetic.SyntheticSource`
                                                 (rendered hand scene with ground truth; ``?poses=truth``)
``scripted://demo``, ``scripted://calibration``    :class:`~depthhand.capture.synthetic.ScriptedSource`
                                                 (scripted hands over a table; also ``tap``, ``hover``)
``folder:DIR?intrinsics=sr305&scale=0.125``      :class:`~depthhand.capture.folder.FolderSource`; a plain
                                                 directory path works too (``intrinsics.json`` inside it;
                                                 ``?fps=&realtime=1`` paces the frames like a camera)
``rec:FILE.dhrec`` or ``FILE.dhrec``             :class:`~depthhand.capture.recording.RecordingSource`
                                                 (``?on_corrupt=skip``)
``mcap:FILE.mcap`` or ``FILE.mcap``              :class:`~depthhand.capture.mcap_reader.McapRecordingSource`
                                                 (``?on_corrupt=skip``; needs the ``mcap`` extra)
``realsense://[SERIAL]``, ``realsense:FILE.bag``  :class:`~depthhand.capture.realsense.RealSenseSource`
  (also ``.db3``; a bare ``FILE.bag`` works)     (``?width=&height=&fps=``)
``openni://[URI]``, ``openni:FILE.oni``          :class:`~depthhand.capture.openni2.OpenNI2Source`
                                                 (``?intrinsics=&redist=``)
``orbbec://[SERIAL]``, ``orbbec:FILE.bag``        :class:`~depthhand.capture.orbbec.OrbbecSource`
===============================================  =============================================================

Query parameters unknown to the chosen source raise ``ValueError`` naming the accepted ones. Sensor adapters import
their libraries only when opened and raise :class:`~depthhand.capture.base.MissingExtraError` naming the package.
The grammar follows the reference's advice (one ``source=`` string for cameras, files, folders and synthetic
scenes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

from depthhand.capture.base import DepthSource
from depthhand.capture.params import take_params
from depthhand.structures import CameraIntrinsics, DepthFrame

RENAMED = {
    "scripted": "scripted://demo",
    "scripted-calibration": "scripted://calibration",
    "synthetic-truth": "synthetic://topdown?poses=truth",
}
"""Source names of earlier versions → their URL now."""
SCHEMES = ("synthetic", "scripted", "folder", "rec", "mcap", "realsense", "openni", "orbbec")


class ArraySource(DepthSource):
    """Frames already in memory as a finite source (tests, replays of decoded data).

    Args:
        frames: The frames, in order; all with the same intrinsics.
        url: Source id.
    """

    def __init__(self, frames: Sequence[DepthFrame], url: str = "memory:") -> None:
        super().__init__(url)
        if not frames:
            raise ValueError("ArraySource needs at least one frame")
        self.frames = list(frames)
        self._pos = 0

    def _open(self) -> CameraIntrinsics:
        self._pos = 0
        return self.frames[0].intrinsics

    def _read(self) -> DepthFrame | None:
        if self._pos >= len(self.frames):
            return None
        self._pos += 1
        return self.frames[self._pos - 1]


def split_url(url: str) -> tuple[str, str, dict[str, str]]:
    """Split ``scheme:rest?k=v&...`` into ``(scheme, rest, params)``; ``scheme://x`` keeps ``rest = "//x"``.

    A string without a known scheme is treated as a path: ``.dhrec`` → ``rec``, ``.mcap`` (and a crash-left
    ``.mcap.partial``) → ``mcap``, ``.bag``/``.db3`` → ``realsense``, ``.oni`` → ``openni``, a directory → ``folder``.

    Raises:
        ValueError: For an empty string or an unknown scheme.
    """
    if not url or not url.strip():
        raise ValueError("source URL is empty; expected e.g. synthetic://topdown, folder:DIR, FILE.dhrec, FILE.mcap")
    if url in RENAMED:
        raise ValueError(f"source {url!r} is now {RENAMED[url]!r} (one URL grammar for every source)")
    body, _, query = url.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    scheme, sep, rest = body.partition(":")
    if sep and scheme in SCHEMES:
        return scheme, rest, params
    if sep and len(scheme) > 1 and scheme.isalpha() and not Path(body).exists():
        raise ValueError(f"unknown source scheme {scheme!r} in {url!r}; known: {', '.join(SCHEMES)}")
    suffix = Path(body).suffix.lower()
    if body.lower().endswith(".mcap.partial"):
        suffix = ".mcap"
    by_suffix = {
        ".dhrec": "rec",
        ".partial": "rec",
        ".mcap": "mcap",
        ".bag": "realsense",
        ".db3": "realsense",
        ".oni": "openni",
    }
    if suffix in by_suffix:
        return by_suffix[suffix], body, params
    return "folder", body, params


def _device_and_file(rest: str) -> tuple[str, str | None]:
    """``//SERIAL`` → (serial, None); ``FILE`` → ("", file)."""
    if rest.startswith("//"):
        return rest[2:].strip("/"), None
    return "", rest


def open_source(url: str, *, on_corrupt: Literal["raise", "skip"] = "raise") -> DepthSource:
    """Build the source a URL names (not yet opened; use it as a context manager).

    Args:
        url: See the module docstring.
        on_corrupt: What a recording URL (``.dhrec``, ``.mcap``) without ``?on_corrupt=`` does at a corrupt chunk
            (``depthhand serve`` skips; :class:`~depthhand.capture.recording.RecordingSource`).

    Returns:
        An unopened :class:`DepthSource`.

    Raises:
        ValueError: Unknown scheme or parameter, bad parameter value.
        FileNotFoundError: A named file or folder does not exist (raised here for files, at open for devices).
        MissingExtraError: The adapter's library is missing (raised when the source is opened).

    Example:
        >>> src = open_source("folder:frames?intrinsics=sr305")  # doctest: +SKIP
        >>> with src:  # doctest: +SKIP
        ...     frame = src.read()
    """
    scheme, rest, params = split_url(url)
    if scheme == "synthetic":
        from depthhand.capture.synthetic import open_synthetic

        return open_synthetic(url, rest, params)
    if scheme == "scripted":
        from depthhand.capture.synthetic import open_scripted

        return open_scripted(url, rest, params)
    if scheme == "folder":
        kw = take_params(params, {"intrinsics": str, "scale": float, "fps": float, "realtime": int}, url)
        folder = Path(rest)
        if not folder.is_dir():
            raise FileNotFoundError(f"{url}: depth folder {folder} does not exist")
        from depthhand.capture.folder import FolderSource

        fps, realtime = kw.get("fps", 30.0), bool(kw.get("realtime", 0))
        return FolderSource(folder, kw.get("intrinsics"), kw.get("scale"), fps, url=url, realtime=realtime)
    if scheme == "rec":
        kw = take_params(params, {"on_corrupt": str}, url)
        if not Path(rest).is_file():
            raise FileNotFoundError(f"{url}: recording {rest} does not exist")
        from depthhand.capture.recording import RecordingSource

        return RecordingSource(rest, on_corrupt=kw.get("on_corrupt", on_corrupt), url=url)
    if scheme == "mcap":
        kw = take_params(params, {"on_corrupt": str}, url)
        if not Path(rest).is_file():
            raise FileNotFoundError(f"{url}: MCAP recording {rest} does not exist")
        from depthhand.capture.mcap_reader import McapRecordingSource

        return McapRecordingSource(rest, on_corrupt=kw.get("on_corrupt", on_corrupt), url=url)
    serial, file = _device_and_file(rest)
    if file is not None and not Path(file).is_file():
        raise FileNotFoundError(f"{url}: recording {file} does not exist")
    if scheme == "realsense":
        from depthhand.capture.realsense import RealSenseSource

        kw = take_params(params, {"width": int, "height": int, "fps": int, "timeout_ms": int}, url)
        return RealSenseSource(serial, file, url=url, **kw)
    if scheme == "openni":
        from depthhand.capture.openni2 import OpenNI2Source

        kw = take_params(params, {"intrinsics": str, "redist": str, "timeout_ms": int}, url)
        return OpenNI2Source(serial, file, url=url, **kw)
    from depthhand.capture.orbbec import OrbbecSource

    kw = take_params(params, {"width": int, "height": int, "fps": int, "timeout_ms": int}, url)
    return OrbbecSource(serial, file, url=url, **kw)
