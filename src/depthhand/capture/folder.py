"""A folder of depth images (16-bit PNG/TIFF/PGM or ``.npy``) as a finite :class:`DepthSource`.

Intrinsics come from, in this order: the ``intrinsics`` argument (a preset name from
:data:`depthhand.geometry.camera.INTRINSICS` or a JSON file), or ``intrinsics.json`` inside the folder
(:meth:`CameraIntrinsics.to_dict` format). ``depth_unit_mm`` overrides the intrinsics' mm per raw unit (0.125 for
the SR305 frames). Timestamps come from ``timestamps.csv`` in the folder (``file,timestamp_us`` rows) or are
``index / fps``. Files are ordered naturally (``2.png`` before ``10.png``).

A frame that cannot be read (corrupt file, wrong size) is skipped with a warning and counted in
``stats.frames_skipped``; the source keeps going.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.capture.base import DepthSource
from depthhand.structures import CameraIntrinsics, DepthFrame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".pgm", ".npy")


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically (``"f2" < "f10"``)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def load_intrinsics(spec: str | Path | None, folder: Path | None = None) -> CameraIntrinsics:
    """Resolve intrinsics from a preset name, a JSON file, or ``folder/intrinsics.json``.

    Raises:
        ValueError: Naming the preset list or the folder when nothing matches.
        FileNotFoundError: If a named JSON file does not exist.
    """
    from depthhand.geometry.camera import INTRINSICS

    if spec is not None and str(spec) in INTRINSICS:
        return INTRINSICS[str(spec)]
    path: Path | None = None
    if spec is not None:
        path = Path(spec)
        if not path.is_absolute() and folder is not None and not path.exists():
            path = folder / path
        if not path.is_file():
            raise FileNotFoundError(
                f"intrinsics {spec!r} is neither a preset ({', '.join(sorted(INTRINSICS))}) nor an existing JSON file"
            )
    elif folder is not None and (folder / "intrinsics.json").is_file():
        path = folder / "intrinsics.json"
    if path is None:
        raise ValueError(
            f"folder {folder} has no intrinsics.json; pass intrinsics=<preset or file> "
            f"(presets: {', '.join(sorted(INTRINSICS))})"
        )
    try:
        return CameraIntrinsics.from_dict(json.loads(path.read_text()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: bad intrinsics JSON: {exc}") from exc


def read_depth_file(path: Path) -> np.ndarray:
    """Read one raw depth image (any numeric dtype, (H, W)) from PNG/TIFF/PGM/NPY.

    Raises:
        ValueError: If the file cannot be decoded or is not single-channel.
    """
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False)
    else:
        import cv2

        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ValueError(f"{path}: cannot decode the image")
    if arr.ndim != 2:
        raise ValueError(f"{path}: depth must be a single-channel (H, W) image, got shape {arr.shape}")
    return np.asarray(arr)


class FolderSource(DepthSource):
    """Depth images in a folder, in natural file-name order.

    Args:
        folder: The folder.
        intrinsics: Preset name, JSON path, or ``None`` for ``folder/intrinsics.json``.
        depth_unit_mm: mm per raw image unit; overrides the intrinsics' value when given.
        fps: Frame rate for synthesised timestamps when there is no ``timestamps.csv``.
        url: Source id (default ``folder:FOLDER``).

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
    ) -> None:
        super().__init__(url or f"folder:{folder}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.folder = Path(folder)
        self._intrinsics_spec = intrinsics
        self._unit = depth_unit_mm
        self.fps = fps
        self.files: list[Path] = []
        self._timestamps: dict[str, int] = {}
        self._pos = 0

    def _open(self) -> CameraIntrinsics:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"depth folder {self.folder} does not exist")
        k = load_intrinsics(self._intrinsics_spec, self.folder)
        if self._unit is not None:
            data = k.to_dict()
            data["depth_unit_mm"] = float(self._unit)
            k = CameraIntrinsics.from_dict(data)
        self.files = sorted(
            (p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: natural_key(p.name),
        )
        if not self.files:
            raise FileNotFoundError(f"depth folder {self.folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
        ts_file = self.folder / "timestamps.csv"
        if ts_file.is_file():
            with ts_file.open(newline="") as fh:
                for row in csv.reader(fh):
                    if len(row) >= 2 and row[1].strip().lstrip("-").isdigit():
                        self._timestamps[row[0].strip()] = int(row[1])
        self._pos = 0
        return k

    def _read(self) -> DepthFrame | None:
        k = self.intrinsics
        while self._pos < len(self.files):
            i = self._pos
            path = self.files[i]
            self._pos += 1
            ts = self._timestamps.get(path.name, round(i * 1e6 / self.fps))
            try:
                raw = read_depth_file(path)
                return DepthFrame.from_raw(raw, k, timestamp_us=ts, source_id=self.url, index=i)
            except (ValueError, OSError) as exc:
                log.warning("skipping %s: %s", path, exc)
                self.stats.error(str(exc))
                self.stats.add(frames_skipped=1)
        return None

    def __len__(self) -> int:
        self.open()
        return len(self.files)
