"""``open_source(url)``: one string grammar for every depth source.

===============================================  =============================================================
URL                                              source
===============================================  =============================================================
``synthetic://topdown?seed=1``                   :mod:`depthhand.synth.live` (rendered scene)
``folder:DIR?intrinsics=sr305&scale=0.125``      :class:`~depthhand.capture.folder.FolderSource`; a plain
                                                 directory path works too (``intrinsics.json`` inside it)
``rec:FILE.dhrec`` or ``FILE.dhrec``             :class:`~depthhand.capture.recording.RecordingSource`
                                                 (``?on_corrupt=skip``)
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

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from depthhand.capture.base import DepthSource, MissingExtraError
from depthhand.structures import CameraIntrinsics, DepthFrame

SCHEMES = ("synthetic", "folder", "rec", "realsense", "openni", "orbbec")


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

    A string without a known scheme is treated as a path: ``.dhrec`` → ``rec``, ``.bag``/``.db3`` → ``realsense``,
    ``.oni`` → ``openni``, a directory → ``folder``.

    Raises:
        ValueError: For an empty string or an unknown scheme.
    """
    if not url or not url.strip():
        raise ValueError("source URL is empty; expected e.g. synthetic://topdown, folder:DIR, rec:FILE.dhrec")
    body, _, query = url.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    scheme, sep, rest = body.partition(":")
    if sep and scheme in SCHEMES:
        return scheme, rest, params
    if sep and len(scheme) > 1 and scheme.isalpha() and not Path(body).exists():
        raise ValueError(f"unknown source scheme {scheme!r} in {url!r}; known: {', '.join(SCHEMES)}")
    suffix = Path(body).suffix.lower()
    by_suffix = {".dhrec": "rec", ".partial": "rec", ".bag": "realsense", ".db3": "realsense", ".oni": "openni"}
    if suffix in by_suffix:
        return by_suffix[suffix], body, params
    return "folder", body, params


def _take(params: dict[str, str], allowed: dict[str, Callable[[str], Any]], url: str) -> dict[str, Any]:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"{url}: unknown parameter(s) {unknown}; accepted: {sorted(allowed) or 'none'}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        try:
            out[key] = allowed[key](value)
        except ValueError as exc:
            raise ValueError(f"{url}: parameter {key}={value!r} is invalid: {exc}") from exc
    return out


def _device_and_file(rest: str) -> tuple[str, str | None]:
    """``//SERIAL`` → (serial, None); ``FILE`` → ("", file)."""
    if rest.startswith("//"):
        return rest[2:].strip("/"), None
    return "", rest


def _open_synthetic(rest: str, params: dict[str, str], url: str) -> DepthSource:
    try:
        module = importlib.import_module("depthhand.synth.live")
    except ImportError as exc:
        raise MissingExtraError(
            f"{url}: synthetic sources need depthhand.synth.live (the [synth] extra: numba); import failed: {exc}"
        ) from exc
    factory = getattr(module, "open_synthetic", None)
    if factory is None:
        raise MissingExtraError(f"{url}: depthhand.synth.live defines no open_synthetic(url) function")
    source = factory(url)
    if not isinstance(source, DepthSource):
        raise TypeError(
            f"{url}: depthhand.synth.live.open_synthetic returned {type(source).__name__}, not a DepthSource"
        )
    return source


def open_source(url: str) -> DepthSource:
    """Build the source a URL names (not yet opened; use it as a context manager).

    Args:
        url: See the module docstring.

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
        return _open_synthetic(rest, params, url)
    if scheme == "folder":
        kw = _take(params, {"intrinsics": str, "scale": float, "fps": float}, url)
        folder = Path(rest)
        if not folder.is_dir():
            raise FileNotFoundError(f"{url}: depth folder {folder} does not exist")
        from depthhand.capture.folder import FolderSource

        return FolderSource(folder, kw.get("intrinsics"), kw.get("scale"), kw.get("fps", 30.0), url=url)
    if scheme == "rec":
        kw = _take(params, {"on_corrupt": str}, url)
        if not Path(rest).is_file():
            raise FileNotFoundError(f"{url}: recording {rest} does not exist")
        from depthhand.capture.recording import RecordingSource

        return RecordingSource(rest, on_corrupt=kw.get("on_corrupt", "raise"), url=url)
    serial, file = _device_and_file(rest)
    if file is not None and not Path(file).is_file():
        raise FileNotFoundError(f"{url}: recording {file} does not exist")
    if scheme == "realsense":
        from depthhand.capture.realsense import RealSenseSource

        kw = _take(params, {"width": int, "height": int, "fps": int, "timeout_ms": int}, url)
        return RealSenseSource(serial, file, url=url, **kw)
    if scheme == "openni":
        from depthhand.capture.openni2 import OpenNI2Source

        kw = _take(params, {"intrinsics": str, "redist": str, "timeout_ms": int}, url)
        return OpenNI2Source(serial, file, url=url, **kw)
    from depthhand.capture.orbbec import OrbbecSource

    kw = _take(params, {"width": int, "height": int, "fps": int, "timeout_ms": int}, url)
    return OrbbecSource(serial, file, url=url, **kw)
