"""Single-image mode (``depthhand predict``): depth images from any camera → per-hand poses (+ overlays).

Each image is processed on its own: detection and pose, no tracking or smoothing across images. The output is a
JSON list with one :meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>` record per image (the same
keys and values as ``depthhand run``'s JSONL and ``depthhand serve``'s ``frame`` messages): ``frame_index`` is the
image's position in the list, ``source`` its path, ``timestamp_us`` 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.geometry.camera import INTRINSICS
from depthhand.pipeline import HandPipeline, PipelineOptions
from depthhand.structures import CameraIntrinsics, DepthFrame

DEPTH_FORMATS = ("png16", "nyu-rgb")


def parse_intrinsics(text: str, width: int | None = None, height: int | None = None) -> CameraIntrinsics:
    """``nyu`` (a preset name) or ``fx,fy,cx,cy[,width,height]``; width/height default to the image's."""
    if text in INTRINSICS:
        return INTRINSICS[text]
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (4, 6):
        raise ValueError(
            f"--intrinsics must be a preset ({', '.join(sorted(INTRINSICS))}) or fx,fy,cx,cy[,width,height]; "
            f"got {text!r}"
        )
    w = int(values[4]) if len(values) == 6 else width
    h = int(values[5]) if len(values) == 6 else height
    if w is None or h is None:
        raise ValueError("--intrinsics fx,fy,cx,cy needs the image size (give fx,fy,cx,cy,width,height)")
    return CameraIntrinsics(values[0], values[1], values[2], values[3], w, h)


def read_depth_image(
    path: str | Path, depth_format: str = "png16", depth_scale: float = 1.0
) -> npt.NDArray[np.float32]:
    """Read a depth image as float32 mm (0 = invalid).

    Args:
        path: Image file.
        depth_format: ``png16`` (single-channel 16-bit, value × ``depth_scale`` = mm) or ``nyu-rgb`` (NYU's
            colour PNG, depth = G·256 + B mm).
        depth_scale: Millimetres per raw unit for ``png16`` (e.g. 0.125 for the SR305).

    Raises:
        FileNotFoundError: If the file is missing or unreadable.
        ValueError: If the image does not have the layout ``depth_format`` expects.
    """
    import cv2

    if depth_format not in DEPTH_FORMATS:
        raise ValueError(f"--depth-format must be one of {DEPTH_FORMATS}, got {depth_format!r}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"{path}: missing or not a readable image")
    if depth_format == "nyu-rgb":
        from depthhand.datasets.nyu import decode_nyu_depth

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{path}: nyu-rgb expects an 8-bit 3-channel PNG, got {image.shape} {image.dtype}")
        return decode_nyu_depth(image.astype(np.uint8, copy=False))
    if image.ndim != 2 or image.dtype not in (np.uint16, np.uint8, np.float32):
        raise ValueError(f"{path}: png16 expects a single-channel 16-bit image, got shape {image.shape} {image.dtype}")
    depth = image.astype(np.float32) * np.float32(depth_scale)
    depth[~np.isfinite(depth) | (depth < 0)] = 0
    out: npt.NDArray[np.float32] = depth
    return out


def predict_files(
    paths: Sequence[str | Path],
    intrinsics: str,
    depth_format: str = "png16",
    depth_scale: float = 1.0,
    options: PipelineOptions | None = None,
    overlay_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Poses of the hands in each image.

    Returns:
        One :meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>` record per image: ``source`` (the
        path), ``hands`` (joints in mm and uvd, joint set, handedness, score), ``timings_ms`` and ``error`` when the
        image was rejected.
    """
    from depthhand.viz import draw_overlay, write_png

    records: list[dict[str, Any]] = []
    if overlay_dir is not None:
        Path(overlay_dir).mkdir(parents=True, exist_ok=True)
    with HandPipeline(options) as pipe:
        for i, path in enumerate(paths):
            depth = read_depth_image(path, depth_format, depth_scale)
            k = parse_intrinsics(intrinsics, depth.shape[1], depth.shape[0])
            if (k.height, k.width) != depth.shape:
                raise ValueError(
                    f"{path}: image is {depth.shape[1]}×{depth.shape[0]}, intrinsics are {k.width}×{k.height}"
                )
            pipe.tracker.reset()
            result = pipe.process(DepthFrame(depth, k, 0, str(path), i))
            records.append(result.to_dict())
            if overlay_dir is not None:
                image = draw_overlay(depth, [h.pose for h in result.hands], result.timings_ms)
                write_png(Path(overlay_dir) / (Path(path).stem + "_overlay.png"), image)
    return records


def write_json(records: list[dict[str, Any]], path: str | Path) -> None:
    """Write predictions atomically (strict JSON: the records hold no NaN or infinity)."""
    atomic.write_json(path, records, indent=1, allow_nan=False)
