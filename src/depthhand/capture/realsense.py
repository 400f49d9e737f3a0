"""Intel RealSense cameras and recordings through ``pyrealsense2`` (the ``[sensors]`` extra).

``realsense://`` opens the first camera, ``realsense://SERIAL`` a given one; ``realsense:FILE.bag`` /
``realsense:FILE.db3`` plays a recording (ROS1 ``.bag`` from librealsense ≤ 2.56 and ROS2 ``.db3`` from ≥ 2.59;
pyrealsense2 2.59 writes ``.db3`` only). Playback runs non-real-time, so no frame is dropped. Depth is converted to
mm with the sensor's depth scale; timestamps are the frames' own (ms → µs).

API use follows librealsense's documentation (pipeline, config, playback); see the reference §1.4.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.capture.base import CameraSource, SourceError, require
from depthhand.structures import CameraIntrinsics, DepthFrame


def _rs() -> Any:
    return require("pyrealsense2", "pyrealsense2")


class RealSenseSource(CameraSource):
    """A RealSense depth stream, live or from a ``.bag`` / ``.db3`` recording (arguments: :class:`CameraSource`)."""

    scheme = "realsense"
    default_size = (640, 480)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._playback: Any = None
        self._unit_mm = 1.0

    def _open(self) -> CameraIntrinsics:
        rs = _rs()
        if self.file is not None and not self.file.is_file():
            raise FileNotFoundError(f"RealSense recording {self.file} does not exist")
        pipeline = rs.pipeline()
        config = rs.config()
        try:
            if self.file is not None:
                config.enable_device_from_file(str(self.file), repeat_playback=False)
                config.enable_stream(rs.stream.depth)
            else:
                if self.serial:
                    config.enable_device(self.serial)
                w, h, fps = self.size
                config.enable_stream(rs.stream.depth, w, h, rs.format.z16, fps)
            profile = pipeline.start(config)
        except RuntimeError as exc:
            what = f"recording {self.file}" if self.file else f"camera {self.serial or '(first found)'}"
            raise SourceError(f"{self.url}: cannot start the RealSense {what}: {exc}") from exc
        device = profile.get_device()
        if self.file is not None:
            self._playback = device.as_playback()
            self._playback.set_real_time(False)
        vp = profile.get_stream(rs.stream.depth).as_video_stream_profile()
        k = vp.get_intrinsics()
        # the scale arrives as float32 (0.001 → 0.0010000000475); round to 1 nm so mm units stay exact
        self._unit_mm = round(float(device.first_depth_sensor().get_depth_scale()) * 1000.0, 6)
        self._pipeline = pipeline
        self._index = 0
        return CameraIntrinsics(
            fx=float(k.fx),
            fy=float(k.fy),
            cx=float(k.ppx),
            cy=float(k.ppy),
            width=int(k.width),
            height=int(k.height),
            depth_unit_mm=self._unit_mm,
        )

    def _wait(self) -> Any:
        rs = _rs()
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while True:
            ok, frames = self._pipeline.try_wait_for_frames(50 if self._playback is not None else self.timeout_ms)
            if ok:
                return frames
            if self._playback is not None and self._playback.current_status() == rs.playback_status.stopped:
                return None
            if time.monotonic() > deadline:
                if self._playback is not None:
                    return None
                raise SourceError(f"{self.url}: no frame within {self.timeout_ms} ms (camera unplugged?)")

    def _read(self) -> DepthFrame | None:
        try:
            frames = self._wait()
        except RuntimeError as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        if frames is None:
            return None
        depth = frames.get_depth_frame()
        if not depth:
            raise SourceError(f"{self.url}: frameset without a depth frame")
        raw = np.asanyarray(depth.get_data())
        index = self._index
        self._index += 1
        ts_us = round(float(depth.get_timestamp()) * 1000.0)
        return DepthFrame.from_raw(raw, self.intrinsics, timestamp_us=ts_us, source_id=self.url, index=index)

    def _close(self) -> None:
        if self._pipeline is not None:
            with contextlib.suppress(RuntimeError):
                self._pipeline.stop()
            self._pipeline = None
            self._playback = None


def write_software_recording(
    path: str | Path, raw_frames: list[np.ndarray], intrinsics: CameraIntrinsics, fps: int = 30
) -> Path:
    """Record synthetic uint16 depth frames to a RealSense ``.db3`` with librealsense's software device.

    Used by tests and demos to build RealSense recordings without a camera (reference §1.4).

    Args:
        path: Output file; must end in ``.db3`` for pyrealsense2 ≥ 2.59.
        raw_frames: (H, W) uint16 frames in units of ``intrinsics.depth_unit_mm``.
        intrinsics: Their camera.
        fps: Nominal frame rate (timestamps are ``1000 + i·1000/fps`` ms).

    Returns:
        The path written.
    """
    rs = _rs()
    w, h = intrinsics.width, intrinsics.height
    device = rs.software_device()
    sensor = device.add_sensor("Depth")
    k = rs.intrinsics()
    k.width, k.height, k.fx, k.fy, k.ppx, k.ppy = w, h, intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    k.model = rs.distortion.none
    k.coeffs = [0.0] * 5
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
    stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = w, h, fps, 2, rs.format.z16
    stream.intrinsics = k
    profile = sensor.add_video_stream(stream)
    sensor.add_read_only_option(rs.option.depth_units, intrinsics.depth_unit_mm / 1000.0)
    recorder = rs.recorder(str(path), device)
    queue = rs.frame_queue(len(raw_frames) + 1)
    sensor.open(profile)
    sensor.start(queue)
    for i, raw in enumerate(raw_frames):
        if raw.shape != (h, w) or raw.dtype != np.uint16:
            raise ValueError(f"frame {i} must be ({h}, {w}) uint16, got {raw.shape} {raw.dtype}")
        frame = rs.software_video_frame()
        frame.pixels = np.ascontiguousarray(raw)
        frame.stride, frame.bpp = 2 * w, 2
        frame.timestamp = 1000.0 + i * 1000.0 / fps
        frame.domain = rs.timestamp_domain.hardware_clock
        frame.frame_number = i
        frame.profile = profile.as_video_stream_profile()
        sensor.on_video_frame(frame)
        time.sleep(0.002)  # let the recorder's writer keep up (frame 0 is otherwise lost, reference §1.4)
    sensor.stop()
    sensor.close()
    del recorder
    return Path(path)
