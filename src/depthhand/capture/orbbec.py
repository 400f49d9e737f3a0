"""Orbbec cameras through the Orbbec SDK v2 Python binding (``pip install pyorbbecsdk2``, module ``pyorbbecsdk``).

``orbbec://`` opens the first device, ``orbbec://SERIAL`` a given one, ``orbbec:FILE.bag`` plays an
Orbbec-recorded ROS1 bag (the SDK rejects RealSense bags). SDK v2 supports Astra 2 / Astra Mini (S) Pro, Gemini
and Femto devices; the original Astra and Astra Mini need OpenNI2 with Orbbec's redistributable instead (reference
§1.2–1.3). Depth is converted to mm with each frame's depth scale; timestamps are the device's (µs).

``pyorbbecsdk2`` normally pulls open3d and other large packages; ``pip install --no-deps pyorbbecsdk2`` is enough
for this adapter (reference §1.1).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from depthhand.capture.base import CameraSource, SourceError, require
from depthhand.structures import CameraIntrinsics, DepthFrame


class OrbbecSource(CameraSource):
    """An Orbbec SDK v2 depth stream, live or from an Orbbec ``.bag`` (arguments: :class:`CameraSource`).

    The default size 0 × 0 takes the device's default depth profile.
    """

    scheme = "orbbec"
    default_size = (0, 0)

    def _open(self) -> CameraIntrinsics:
        ob: Any = require("pyorbbecsdk", "pyorbbecsdk2")
        if self.file is not None and not self.file.is_file():
            raise FileNotFoundError(f"Orbbec recording {self.file} does not exist")
        try:
            if self.file is not None:
                pipeline = ob.Pipeline(ob.PlaybackDevice(str(self.file)))
            else:
                # enumerate first: Pipeline() without a device waits about a minute before failing
                devices = ob.Context().query_devices()
                if devices.get_count() == 0:
                    raise SourceError(f"{self.url}: no Orbbec device found (SDK v2 devices only; see the module doc)")
                if self.serial:
                    pipeline = ob.Pipeline(devices.get_device_by_serial_number(self.serial))
                else:
                    pipeline = ob.Pipeline(devices.get_device_by_index(0))
            profiles = pipeline.get_stream_profile_list(ob.OBSensorType.DEPTH_SENSOR)
            w, h, fps = self.size
            if w and h:
                profile = profiles.get_video_stream_profile(w, h, ob.OBFormat.Y16, fps)
            else:
                profile = profiles.get_default_video_stream_profile()
            config = ob.Config()
            config.enable_stream(profile)
            pipeline.start(config)
            k = profile.as_video_stream_profile().get_intrinsic()
        except SourceError:
            raise
        except RuntimeError as exc:
            raise SourceError(f"{self.url}: cannot start the Orbbec pipeline: {exc}") from exc
        self._pipeline, self._index = pipeline, 0
        width, height = int(profile.get_width()), int(profile.get_height())
        fx, fy = float(k.fx), float(k.fy)
        if not (fx > 0 and fy > 0):
            raise SourceError(f"{self.url}: the device reports no depth intrinsics (fx={fx}, fy={fy})")
        return CameraIntrinsics(fx, fy, float(k.cx), float(k.cy), width, height)

    def _read(self) -> DepthFrame | None:
        try:
            frames = self._pipeline.wait_for_frames(self.timeout_ms)
        except RuntimeError as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        depth = frames.get_depth_frame() if frames is not None else None
        if depth is None:
            if self.file is not None:
                return None
            raise SourceError(f"{self.url}: no depth frame within {self.timeout_ms} ms (device unplugged?)")
        k = self.intrinsics
        raw = np.frombuffer(depth.get_data(), np.uint16).reshape(depth.get_height(), depth.get_width())
        depth_mm = raw.astype(np.float32) * np.float32(depth.get_depth_scale())
        index = self._index
        self._index += 1
        return DepthFrame.from_raw(
            depth_mm,  # already mm: the intrinsics' depth_unit_mm is 1.0
            k,
            timestamp_us=int(depth.get_timestamp_us()),
            source_id=self.url,
            index=index,
        )

    def _close(self) -> None:
        if self._pipeline is not None:
            with contextlib.suppress(RuntimeError):
                self._pipeline.stop()
            self._pipeline = None
