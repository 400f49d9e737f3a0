"""OpenNI2 devices and ``.oni`` recordings through the ``openni`` ctypes binding (the ``[sensors]`` extra).

``openni://`` opens the first device, ``openni://URI`` a given one (``openni://Dummy`` is the dummy driver of
Debian's ``libopenni2-0``, useful without hardware); ``openni:FILE.oni`` plays a recording frame by frame. The
native library is looked up in ``redist`` (argument), ``$OPENNI2_REDIST``, then the usual Debian/Ubuntu folders.
An Orbbec Astra needs Orbbec's own OpenNI2 redistributable (reference §1.2): pass its folder as ``redist``.

Intrinsics come from the ``intrinsics`` argument when given (any spec of
:func:`depthhand.geometry.camera.parse_intrinsics`; ``fx,fy,cx,cy`` takes the stream's size), else from the stream's
field of view; drivers that do not report it (the dummy driver) fall back to a nominal PrimeSense field of view
(58° × 45°) with a warning.
Depth is ``DEPTH_1_MM`` (or 100 µm) and timestamps are the driver's (µs).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.capture.base import DepthSource, SourceError, require
from depthhand.structures import CameraIntrinsics, DepthFrame

log = logging.getLogger(__name__)

REDIST_CANDIDATES = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib")
NOMINAL_FOV_DEG = (58.0, 45.0)


def find_redist(redist: str | Path | None = None) -> str:
    """The folder holding ``libOpenNI2.so``.

    Raises:
        FileNotFoundError: Naming the folders searched and the Debian packages to install.
    """
    candidates = [str(redist)] if redist else []
    if os.environ.get("OPENNI2_REDIST"):
        candidates.append(os.environ["OPENNI2_REDIST"])
    candidates.extend(REDIST_CANDIDATES)
    for folder in candidates:
        if (Path(folder) / "libOpenNI2.so").exists():
            return folder
    raise FileNotFoundError(
        f"libOpenNI2.so not found in {candidates}; install Debian's libopenni2-0 and libopenni2-dev, "
        "set OPENNI2_REDIST, or pass redist=<folder of a vendor redistributable>"
    )


def intrinsics_from_fov(width: int, height: int, hfov_rad: float, vfov_rad: float) -> CameraIntrinsics:
    """Pinhole intrinsics from image size and field of view (principal point at the image centre).

    ``fx = (W / 2) / tan(hfov / 2)``; the inverse is ``hfov = 2·atan(W / (2·fx))``.
    """
    fx = (width / 2.0) / math.tan(hfov_rad / 2.0)
    fy = (height / 2.0) / math.tan(vfov_rad / 2.0)
    return CameraIntrinsics(fx, fy, (width - 1) / 2.0, (height - 1) / 2.0, width, height)


class OpenNI2Source(DepthSource):
    """An OpenNI2 depth stream, live or from an ``.oni`` file.

    Args:
        uri: Device URI (``""`` = first device, ``"Dummy"`` = the dummy driver).
        file: An ``.oni`` recording to play instead.
        intrinsics: An intrinsics spec (:func:`depthhand.geometry.camera.parse_intrinsics`) used instead of the
            driver's field of view (needed where the driver reports none); its size must be the stream's.
        redist: Folder of ``libOpenNI2.so`` (see :func:`find_redist`).
        timeout_ms: How long a live read waits before it fails.
        url: Source id.
    """

    def __init__(
        self,
        uri: str = "",
        file: str | Path | None = None,
        intrinsics: str | None = None,
        redist: str | Path | None = None,
        timeout_ms: int = 2000,
        url: str = "",
    ) -> None:
        super().__init__(url or (f"openni:{file}" if file else f"openni://{uri}"))
        self.uri = uri
        self.file = Path(file) if file is not None else None
        self.is_live = self.file is None
        self.preset = intrinsics
        self.redist = redist
        self.timeout_ms = timeout_ms
        self._device: Any = None
        self._stream: Any = None
        self._n_frames = -1
        self._index = 0
        self._unit_mm = 1.0

    def _open(self) -> CameraIntrinsics:
        openni2: Any = require("openni.openni2", "openni")
        errors: Any = require("openni.utils", "openni")
        if self.file is not None and not self.file.is_file():
            raise FileNotFoundError(f"OpenNI2 recording {self.file} does not exist")
        if not openni2.is_initialized():
            openni2.initialize(find_redist(self.redist))
        try:
            if self.file is not None:
                device = openni2.Device.open_file(str(self.file).encode())
            elif self.uri:
                device = openni2.Device(self.uri.encode())
            else:
                device = openni2.Device.open_any()
            stream = device.create_depth_stream()
            if stream is None:
                raise SourceError(f"{self.url}: the device has no depth stream")
            if self.file is not None:
                device.playback.set_speed(-1)  # manual stepping: every read returns the next frame
                device.playback.set_repeat_enabled(False)
                self._n_frames = int(device.playback.get_number_of_frames(stream))
        except errors.OpenNIError as exc:
            raise SourceError(f"{self.url}: cannot open the OpenNI2 device: {exc}") from exc
        self._device, self._stream, self._index = device, stream, 0
        # Check the mode and intrinsics before starting the stream: tearing down a started Dummy stream is where
        # libOpenNI2 2.2.0.33 occasionally segfaults, so a rejected configuration should never start one.
        try:
            mode = stream.get_video_mode()
            fmt = str(mode.pixelFormat)
            self._unit_mm = 0.1 if "100_UM" in fmt else 1.0
            if "DEPTH" not in fmt:
                raise SourceError(f"{self.url}: depth stream has format {fmt}, expected DEPTH_1_MM or DEPTH_100_UM")
            w, h = int(mode.resolutionX), int(mode.resolutionY)
            k = self._intrinsics_for(stream, w, h, errors.OpenNIError)
        except (SourceError, ValueError):
            self._close()
            raise
        try:
            stream.start()
        except errors.OpenNIError as exc:
            self._close()
            raise SourceError(f"{self.url}: cannot start the OpenNI2 depth stream: {exc}") from exc
        return CameraIntrinsics(k.fx, k.fy, k.cx, k.cy, w, h, depth_unit_mm=self._unit_mm)

    def _intrinsics_for(self, stream: Any, w: int, h: int, error_type: Any) -> CameraIntrinsics:
        if self.preset:
            from depthhand.geometry.camera import parse_intrinsics

            k = parse_intrinsics(self.preset, width=w, height=h)
            if (k.width, k.height) != (w, h):
                raise ValueError(f"{self.url}: intrinsics {self.preset!r} are {k.width}×{k.height}, stream is {w}×{h}")
            return k
        try:
            return intrinsics_from_fov(w, h, float(stream.get_horizontal_fov()), float(stream.get_vertical_fov()))
        except error_type:
            log.warning("%s: the driver reports no field of view; using a nominal %s° FOV", self.url, NOMINAL_FOV_DEG)
            hfov, vfov = (math.radians(a) for a in NOMINAL_FOV_DEG)
            return intrinsics_from_fov(w, h, hfov, vfov)

    def _read(self) -> DepthFrame | None:
        if self._n_frames >= 0 and self._index >= self._n_frames:
            return None
        openni2: Any = require("openni.openni2", "openni")
        errors: Any = require("openni.utils", "openni")
        try:
            if self.file is None:
                ready = openni2.wait_for_any_stream([self._stream], self.timeout_ms / 1000.0)
                if ready is None:
                    raise SourceError(f"{self.url}: no frame within {self.timeout_ms} ms (device unplugged?)")
            frame = self._stream.read_frame()
        except errors.OpenNIError as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        raw = np.frombuffer(frame.get_buffer_as_uint16(), np.uint16).reshape(frame.height, frame.width)
        index = self._index
        self._index += 1
        return DepthFrame.from_raw(raw, self.intrinsics, int(frame.timestamp), source_id=self.url, index=index)

    def _close(self) -> None:
        # destroy the stream before its device: the other order crashes libOpenNI2 (seen with the Dummy driver)
        for obj, method in ((self._stream, "stop"), (self._stream, "close"), (self._device, "close")):
            if obj is not None:
                try:
                    getattr(obj, method)()
                except Exception as exc:  # the binding raises its own error types on a vanished device
                    log.debug("%s: %s() failed during close: %s", self.url, method, exc)
        self._stream = self._device = None
