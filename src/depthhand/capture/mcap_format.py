"""depthhand's MCAP recordings (``.mcap``): what the file holds, for Foxglove, the ``mcap`` tools and our reader.

`MCAP <https://mcap.dev>`_ is an open, chunked, CRC-checked log format; Foxglove opens it directly. A depthhand
recording has three channels; every message's ``log_time`` and ``publish_time`` are the frame's capture time in ns
(``DepthFrame.timestamp_us × 1000``):

======================  ===========================================  ===============================================
topic                   schema (schema encoding / message encoding)  messages
======================  ===========================================  ===============================================
``/depth/camera_info``  ``foxglove.CameraCalibration``               one, before the first frame: ``width``,
                        (protobuf / protobuf)                        ``height``, ``K`` = [fx 0 cx; 0 fy cy; 0 0 1],
                                                                     ``P`` = [K | 0], ``R`` = I, no distortion
``/depth/image``        ``foxglove.RawImage`` (protobuf / protobuf)  one per frame: ``encoding`` ``16UC1``
                                                                     (little-endian uint16, ``step`` = 2 × width),
                                                                     the message ``sequence`` = the frame index
``/hands``              ``depthhand.Hands`` (jsonschema / json)      one per frame when the pipeline ran
                                                                     (``depthhand run --record``):
                                                                     :meth:`FrameResult.to_dict`
======================  ===========================================  ===============================================

Channel metadata: ``/depth/image`` ``depth_unit_mm`` (mm per stored uint16 step; 0 = invalid pixel; stored value
``round(depth_mm / depth_unit_mm)``); ``/depth/camera_info`` ``depth_unit_mm`` (the sensor's raw unit,
:attr:`CameraIntrinsics.depth_unit_mm`); ``/hands`` ``joint_set`` and ``joint_names`` (a JSON list). Both image
channels name the frame ``depth`` (``frame_id``), axes x right, y down, z forward (the optical frame). A Metadata
record ``depthhand`` (written before the first chunk) holds ``format``, ``version``, ``source`` and ``created_utc``.

Why ``foxglove.RawImage`` 16UC1 in protobuf: it is lossless and Foxglove's Image panel shows it (colour-mapped)
with no plug-in; compression is left to the MCAP chunk: lz4 by default (about 0.4 ms per 640×480 SR305 frame,
≈ 97 kB), zstd on request (the ``mcap`` writer's level 3: about 1.1 ms, ≈ 67 kB), where a 16-bit PNG per frame
(``foxglove.CompressedImage``) costs about 6 ms (≈ 53 kB) on the same CPU; lz4 keeps the whole write under the 2 ms
per frame budget (``depthhand bench live.record_mcap``). Protobuf keeps the pixels binary where JSON would base64
them (+33 %).

Crash safety: the writer closes a chunk (and its message indexes) every ``chunk_frames`` frames, writes it whole
and flushes it, so a killed writer loses at most the chunk being filled. Channels and the calibration go into the
first chunk, flushed before the first frame. The file is written as ``FILE.partial`` and renamed on close (as
``.dhrec`` is); a crash-left ``.partial`` lacks the summary and footer. depthhand's reader scans records in file
order and needs neither; the ``mcap`` library's ``StreamReader`` / ``NonSeekingReader`` yield its messages and then
raise ``EndOfFile``; ``mcap recover`` (the MCAP CLI) rewrites it with an index.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.capture.base import require
from depthhand.structures import CameraIntrinsics

FORMAT = "depthhand-mcap"
VERSION = 1
PROFILE = ""
"""MCAP profile (none: the channels use protobuf and JSON, no ROS profile)."""
DEPTH_TOPIC = "/depth/image"
CALIBRATION_TOPIC = "/depth/camera_info"
HANDS_TOPIC = "/hands"
FRAME_ID = "depth"
RAW_IMAGE = "foxglove.RawImage"
CAMERA_CALIBRATION = "foxglove.CameraCalibration"
HANDS_SCHEMA = "depthhand.Hands"
DEPTH_ENCODINGS = ("16UC1", "mono16")
"""RawImage encodings the reader accepts (both little-endian uint16 per pixel)."""

HANDS_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": HANDS_SCHEMA,
    "description": "The hands of one frame: depthhand's FrameResult.to_dict() (as run's JSONL and the wire's frame)",
    "type": "object",
    "required": ["frame_index", "timestamp_us", "hands"],
    "properties": {
        "frame_index": {"type": "integer"},
        "timestamp_us": {"type": "integer", "description": "capture time, µs"},
        "source": {"type": "string"},
        "error": {"type": "string"},
        "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
        "hands": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "track_id": {"type": "integer"},
                    "lost_frames": {"type": "integer"},
                    "handedness": {"type": "string"},
                    "score": {"type": ["number", "null"]},
                    "joint_set": {"type": "string"},
                    "joints_xyz_mm": {
                        "description": "(J, 3) camera frame, mm",
                        "type": "array",
                        "items": {"type": "array", "items": {"type": ["number", "null"]}},
                    },
                    "joints_uvd": {
                        "description": "(J, 3) image pixels u, v and depth mm",
                        "type": "array",
                        "items": {"type": "array", "items": {"type": ["number", "null"]}},
                    },
                    "confidence": {"type": "array", "items": {"type": ["number", "null"]}},
                    "visible": {"type": "array", "items": {"type": "boolean"}},
                },
            },
        },
    },
}


def foxglove_classes() -> tuple[Any, Any]:
    """``(RawImage, CameraCalibration)``: the compiled foxglove protobuf classes (the ``mcap`` extra)."""
    raw: Any = require("foxglove_schemas_protobuf.RawImage_pb2", "foxglove-schemas-protobuf", extra="mcap")
    cal: Any = require("foxglove_schemas_protobuf.CameraCalibration_pb2", "foxglove-schemas-protobuf", extra="mcap")
    return raw.RawImage, cal.CameraCalibration


def schema_data(message_class: Any) -> bytes:
    """The serialized ``FileDescriptorSet`` of a protobuf class (an MCAP ``protobuf`` schema's data)."""
    schema: Any = require("mcap_protobuf.schema", "mcap-protobuf-support", extra="mcap")
    data: bytes = schema.build_file_descriptor_set(message_class).SerializeToString()
    return data


def hands_schema_data() -> bytes:
    """The JSON Schema of the ``/hands`` messages, as bytes."""
    return json.dumps(HANDS_JSON_SCHEMA).encode()


def quantize(depth_mm: npt.NDArray[np.float32], unit_mm: float) -> npt.NDArray[np.uint16]:
    """(H, W) mm → uint16 steps of ``unit_mm``: ``round(depth / unit)``, NaN/inf → 0, clipped to [0, 65535]."""
    steps = np.divide(depth_mm, np.float32(unit_mm), dtype=np.float32)
    np.rint(steps, out=steps)
    np.copyto(steps, np.float32(0), where=~np.less(steps, np.inf))  # NaN and +inf: invalid, as in .dhrec
    np.clip(steps, 0, 65535, out=steps)  # negatives and -inf → 0
    return steps.astype(np.uint16)


def calibration_message(calibration_class: Any, k: CameraIntrinsics, timestamp_ns: int) -> Any:
    """The ``foxglove.CameraCalibration`` of ``k`` (pinhole, no distortion)."""
    msg = calibration_class(
        frame_id=FRAME_ID,
        width=k.width,
        height=k.height,
        distortion_model="plumb_bob",
        D=[0.0] * 5,
        K=[k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0],
        R=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        P=[k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )
    msg.timestamp.FromNanoseconds(timestamp_ns)
    return msg


def intrinsics_from_calibration(msg: Any, depth_unit_mm: float) -> CameraIntrinsics:
    """The :class:`CameraIntrinsics` of a ``foxglove.CameraCalibration`` (fx, fy, cx, cy from ``K``).

    Raises:
        ValueError: ``K`` does not have 9 entries, or the values are not a valid camera.
    """
    if len(msg.K) != 9:
        raise ValueError(f"CameraCalibration.K has {len(msg.K)} entries, expected 9 (row-major 3×3)")
    fx, _, cx, _, fy, cy = (float(v) for v in msg.K[:6])
    return CameraIntrinsics(fx, fy, cx, cy, int(msg.width), int(msg.height), depth_unit_mm=depth_unit_mm)


def unit_from_metadata(metadata: dict[str, str], topic: str) -> float:
    """``depth_unit_mm`` of a channel's metadata (1.0, the ROS 16UC1 convention of mm, when absent).

    Raises:
        ValueError: The value is not a positive finite number.
    """
    text = metadata.get("depth_unit_mm", "1.0")
    try:
        unit = float(text)
    except ValueError:
        unit = float("nan")
    if not np.isfinite(unit) or unit <= 0:
        raise ValueError(f"channel {topic}: metadata depth_unit_mm={text!r} is not a positive number of mm")
    return unit
