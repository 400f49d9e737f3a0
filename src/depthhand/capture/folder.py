"""A folder of depth images (16-bit PNG/TIFF/PGM or ``.npy``) as a finite :class:`DepthSource`.

Intrinsics come from, in this order: the ``intrinsics`` argument, any spec of
:func:`depthhand.geometry.camera.parse_intrinsics` (a preset name, ``fx,fy,cx,cy[,width,height]`` with the size of
the first readable image when omitted, or an intrinsics JSON file, relative paths also looked up in the folder), or
``intrinsics.json`` inside the folder (:func:`~depthhand.geometry.camera.read_intrinsics_json`). ``depth_unit_mm``
overrides the intrinsics' mm per raw unit (0.125 for the SR305 frames). Timestamps come from ``timestamps.csv`` in
the folder (``file,timestamp_us`` rows after an optional header; a malformed file is an error naming it) or are
``index / fps``. Files are ordered naturally (``2.png`` before ``10.png``).

A frame that cannot be read (a file deleted since the folder was listed, a corrupt file, an 8-bit image, a wrong
size) is skipped with a warning and counted in ``stats.frames_skipped`` and ``stats.errors`` (the message in
``stats.last_error``); the source keeps going. A file that changed while it was read (still being written) is read
once more after :data:`RETRY_DELAY_S` before it is skipped. A folder none of whose files can be read is an error
(``ValueError`` naming the folder and the last failure), not an empty source. With ``realtime`` frames are
delivered at ``fps`` like a camera's (``folder:DIR?realtime=1&fps=30``), else as fast as they are read.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.capture.base import DepthSource
from depthhand.geometry.camera import (
    INTRINSICS_SPEC_HELP,
    intrinsics_spec_needs_size,
    parse_intrinsics,
    read_intrinsics_json,
)
from depthhand.structures import CameraIntrinsics, DepthFrame


def _log() -> Any:
    import logging  # only when there is something to say (not on every cold start)

    return logging.getLogger(__name__)


IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".pgm", ".npy")
RETRY_DELAY_S = 0.05
"""Wait before reading a file again that changed while it was read, seconds."""


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically (``"f2" < "f10"``)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def load_intrinsics(
    spec: str | Path | None, folder: Path | None = None, *, width: int | None = None, height: int | None = None
) -> CameraIntrinsics:
    """Resolve an intrinsics spec (:func:`~depthhand.geometry.camera.parse_intrinsics`) or ``folder/intrinsics.json``.

    Args:
        spec: Any spec of :func:`~depthhand.geometry.camera.parse_intrinsics`, or ``None`` for the folder's file.
        folder: Where ``intrinsics.json`` and relative file specs are looked up.
        width: Image width, px, for an ``fx,fy,cx,cy`` spec.
        height: Image height, px, for an ``fx,fy,cx,cy`` spec.

    Raises:
        ValueError: Naming the spec, the file or the folder, and what was expected.
    """
    if spec is not None:
        return parse_intrinsics(spec, width=width, height=height, base_dir=folder)
    if folder is not None and (folder / "intrinsics.json").is_file():
        return read_intrinsics_json(folder / "intrinsics.json")
    raise ValueError(f"folder {folder} has no intrinsics.json; pass intrinsics=<{INTRINSICS_SPEC_HELP}>")


def read_image_file(path: str | Path) -> np.ndarray:
    """Decode an image file with OpenCV, unchanged (any depth and channel count).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: Saying which: a directory, a file that cannot be opened (permissions), or one OpenCV cannot
            decode (corrupt, or not an image).
    """
    import cv2

    file = Path(path)
    _check_readable(file)
    image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{file}: corrupt or not an image (OpenCV cannot decode it)")
    return np.asarray(image)


def _check_readable(file: Path) -> None:
    if not file.exists():
        raise FileNotFoundError(f"{file}: no such file")
    if file.is_dir():
        raise ValueError(f"{file}: is a directory, not a depth image")
    try:
        with file.open("rb"):
            pass
    except OSError as exc:
        raise ValueError(f"{file}: cannot be opened ({exc.strerror or exc})") from None


def read_depth_file(path: str | Path) -> np.ndarray:
    """Read one raw depth image, (H, W), from PNG/TIFF/PGM (16-bit or float) or NPY (any real dtype).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: Naming the file: a directory, undecodable, not single-channel, or an 8-bit image (a picture,
            not depth; the dtype found is in the message).
    """
    file = Path(path)
    if file.suffix.lower() == ".npy":
        _check_readable(file)
        try:
            arr = np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{file}: corrupt .npy file ({exc})") from None
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{file}: .npy depth must hold integers or floats, got dtype {arr.dtype}")
    else:
        arr = read_image_file(file)
        if arr.ndim == 2 and arr.dtype.itemsize == 1:
            raise ValueError(
                f"{file}: 8-bit image ({arr.dtype}); depth must be a single-channel 16-bit (or float) image"
            )
    if arr.ndim != 2:
        raise ValueError(f"{file}: depth must be a single-channel (H, W) image, got shape {arr.shape} {arr.dtype}")
    return np.asarray(arr)


def read_timestamps_csv(path: str | Path) -> dict[str, int]:
    """Capture times of a folder's files from ``timestamps.csv``: ``file,timestamp_us`` rows.

    A first row whose second field is not an integer is a header; blank lines are ignored; further columns are
    ignored.

    Returns:
        File name → timestamp, µs.

    Raises:
        ValueError: Naming the file and the line: unreadable or not text, a row with fewer than 2 fields, a
            timestamp that is not a whole number of µs, or a file listed twice.
    """
    file = Path(path)
    expected = "expected rows file,timestamp_us (whole µs)"
    import csv

    try:
        rows = list(csv.reader(file.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{file}: cannot be read as a CSV ({reason}); {expected}") from None
    out: dict[str, int] = {}
    first = True
    for line, row in enumerate(rows, 1):
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        if len(fields) < 2:
            raise ValueError(f"{file}: line {line} has {len(fields)} field(s); {expected}")
        name, value = fields[0], fields[1]
        try:
            ts = int(value)
        except ValueError:
            if first:  # a header
                first = False
                continue
            raise ValueError(f"{file}: line {line}: timestamp {value!r} is not a whole number; {expected}") from None
        first = False
        if name in out:
            raise ValueError(f"{file}: line {line}: {name!r} is listed twice")
        out[name] = ts
    return out


class FolderSource(DepthSource):
    """Depth images in a folder, in natural file-name order.

    Args:
        folder: The folder.
        intrinsics: A spec of :func:`~depthhand.geometry.camera.parse_intrinsics`, or ``None`` for
            ``folder/intrinsics.json``.
        depth_unit_mm: mm per raw image unit (positive, finite); overrides the intrinsics' value when given.
        fps: Frame rate for synthesised timestamps when there is no ``timestamps.csv`` (and of ``realtime``).
        url: Source id (default ``folder:FOLDER``).
        realtime: Deliver the frames at ``fps`` (a replay that looks like a camera), not as fast as they are read.

    Example:
        >>> src = FolderSource("frames", intrinsics="sr305")  # doctest: +SKIP
    """

    def __init__(
        self,
        folder: str | Path,
        intrinsics: str | Path | None = None,
        depth_unit_mm: float | None = None,
        fps: float = 30.0,
        url: str = "",
        realtime: bool = False,
    ) -> None:
        super().__init__(url or f"folder:{folder}")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive finite frame rate, got {fps}")
        if depth_unit_mm is not None and not (math.isfinite(depth_unit_mm) and depth_unit_mm > 0):
            raise ValueError(f"depth unit (scale) must be a positive finite mm per raw unit, got {depth_unit_mm}")
        self.folder = Path(folder)
        self._intrinsics_spec = intrinsics
        self._unit = depth_unit_mm
        self.fps = fps
        self.realtime = realtime
        self._next_t = 0.0
        self.files: list[Path] = []
        self._timestamps: dict[str, int] = {}
        self._pos = 0
        self._delivered = 0

    def _open(self) -> CameraIntrinsics:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"depth folder {self.folder} does not exist")
        spec = self._intrinsics_spec
        needs_size = spec is not None and intrinsics_spec_needs_size(spec, self.folder)
        k = None if needs_size else load_intrinsics(spec, self.folder)
        self.files = sorted(
            (p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: natural_key(p.name),
        )
        if not self.files:
            raise FileNotFoundError(f"depth folder {self.folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
        if k is None:
            width, height = self._first_size()
            k = load_intrinsics(spec, self.folder, width=width, height=height)
        if self._unit is not None:
            k = CameraIntrinsics(k.fx, k.fy, k.cx, k.cy, k.width, k.height, float(self._unit))
        ts_file = self.folder / "timestamps.csv"
        self._timestamps = read_timestamps_csv(ts_file) if ts_file.is_file() else {}
        self._pos = 0
        self._delivered = 0
        self._next_t = 0.0
        return k

    def _first_size(self) -> tuple[int, int]:
        """(width, height) of the first readable file, px (for an ``fx,fy,cx,cy`` spec)."""
        reason = ""
        for path in self.files:
            try:
                h, w = read_depth_file(path).shape
                return int(w), int(h)
            except (ValueError, OSError) as exc:
                reason = str(exc)
        raise self._nothing_readable(reason)

    def _nothing_readable(self, reason: str) -> ValueError:
        return ValueError(
            f"depth folder {self.folder}: none of its {len(self.files)} file(s) could be read as depth (last: {reason})"
        )

    def _read(self) -> DepthFrame | None:
        k = self.intrinsics
        while self._pos < len(self.files):
            i = self._pos
            path = self.files[i]
            self._pos += 1
            ts = self._timestamps.get(path.name, round(i * 1e6 / self.fps))
            try:
                raw = self._read_file(path)
                frame = DepthFrame.from_raw(raw, k, timestamp_us=ts, source_id=self.url, index=i)
            except (ValueError, OSError) as exc:
                _log().warning("skipping %s: %s", path, exc)
                self.stats.error(str(exc))
                self.stats.add(frames_skipped=1)
                continue
            self._delivered += 1
            self._pace()
            return frame
        if self._delivered == 0:
            raise self._nothing_readable(self.stats.last_error)
        return None

    def _read_file(self, path: Path) -> np.ndarray:
        """``read_depth_file``, once more after :data:`RETRY_DELAY_S` if the file changed while it was read."""
        before = _signature(path)
        try:
            return read_depth_file(path)
        except (ValueError, OSError):
            after = _signature(path)
            if before is None or after is None or after == before:
                raise  # gone, or unchanged: reading it again gives the same answer
        _log().info("%s changed while it was read; reading it again", path)
        time.sleep(RETRY_DELAY_S)
        return read_depth_file(path)

    def _pace(self) -> None:
        if not self.realtime:
            return
        if not self._next_t:  # the first frame goes at once, the next one 1/fps later
            self._next_t = time.monotonic()
        delay = self._next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 1.0 / self.fps)

    def __len__(self) -> int:
        self.open()
        return len(self.files)


def _signature(path: Path) -> tuple[int, int] | None:
    """(size, mtime ns) of a file, or ``None`` if it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
