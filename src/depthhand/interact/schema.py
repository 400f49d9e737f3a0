"""Versioned wire messages of ``/ws/hands`` (reference §5.3): ``hello``, ``frame``, events, ``depth`` previews.

Coordinates are camera millimetres (x right, y down, z forward) unless the key names another frame: ``*_uvd`` is
image pixels and depth mm, ``*_projector_px`` projector pixels, ``*_projector_uv`` projector pixels divided by the
projector size. Timestamps are integer microseconds since the Unix epoch (exact in JavaScript numbers). Numbers are
rounded as in every depthhand JSON record (:mod:`depthhand.structures`: 0.01 mm / px, 0.001 for scores and ms);
a non-finite number is ``null``.

Schema version 2 renamed version 1's ``joints_mm`` → ``joints_xyz_mm``, ``joint_conf`` → ``confidence``,
``joints_px`` → ``joints_projector_px``, ``id`` → ``track_id``, ``t_capture_us`` → ``timestamp_us`` (frames and
depth previews), finger and event ``px`` / ``uv`` → ``projector_px`` / ``projector_uv``, event ``hand_id`` →
``track_id`` and ``t_us`` → ``timestamp_us``; it added ``source``, ``joint_set``, ``joints_uvd``, ``visible`` and
``error``. A ``frame`` message::

    {"type": "frame", "v": 2, "seq": 17, "t_send_us": 1700000000123456,
     "frame_index": 17, "timestamp_us": 1700000000120000, "source": "scripted",
     "hands": [{"track_id": 1, "lost_frames": 0, "handedness": "right", "score": 0.93, "joint_set": "canonical21",
                "joints_xyz_mm": [[x, y, z], ...], "joints_uvd": [[u, v, d], ...], "confidence": [...],
                "visible": [true, ...],
                "joints_projector_px": [[x, y], ...] or null,
                "fingers": {"index": {"state": "touch", "height_mm": 3.2, "projector_px": [x, y] or null,
                                      "projector_uv": [u, v] or null, "contact_id": 4}, ...},
                "pinch": {"active": false, "strength": 0.1, "distance_mm": 80.25}}],
     "timings_ms": {"detect": 1.234, ..., "total": 5.4}, "error": "... (only when set)",
     "t_relay_us": 1700000000125000}

From ``frame_index`` to ``timings_ms`` / ``error``, and in each hand from ``track_id`` to ``visible``, the message is
:meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>`: the same keys and values as the JSONL of
``depthhand run`` and the JSON of ``depthhand predict``. ``joints_projector_px``, ``fingers`` and ``pinch`` are there
when the interaction engine ran on the frame (the projector keys are ``null`` without a projector calibration);
``t_relay_us`` is stamped last by the server's consumer. The head ``type``, ``v``, ``seq``, ``t_send_us`` comes first
(the load benchmark reads it without decoding, :mod:`depthhand.bench.serve`).

Events (``touch_down``, ``touch_move``, ``touch_up``, ``hover_*``, ``pinch_*``)::

    {"type": "touch_down", "event_id": 12, "contact_id": 4, "track_id": 1, "finger": "index",
     "timestamp_us": ..., "xyz_mm": [x, y, z], "height_mm": 3.2, "projector_px": [x, y] or null,
     "projector_uv": [u, v] or null, "rule": "pose", "v": 2}

``event_id`` is unique and increasing, ``contact_id`` shared by down … up. ``rule`` says what decided the
height: ``"pose"`` (the fingertip joint above the plane), ``"pixels"`` (the depth pixels against the surface
model; its touch events' ``xyz_mm`` is the contact blob's centroid on the plane) or ``"fused"`` (both in a height
filter, :mod:`depthhand.interact.fused`), :mod:`depthhand.interact.touch`.
A ``depth`` preview:
``{"type": "depth", "v": 2, "seq": ..., "timestamp_us": ..., "png_b64": "..."}``.

``hello`` (always the first message) says what the source is doing in ``source``:
``{"url": "folder:frames", "kind": "file", "state": "ended", "ended": true, "last_error": "..."}`` (``kind``
``sensor`` / ``file`` / ``scene``; ``state`` ``starting`` / ``running`` / ``reconnecting`` / ``ended`` / ``failed`` /
``stopped``), so a client that connects after a file source ended is told so. When the state changes, every client
gets ``{"type": "source", "v": 2, "source": {...the same keys...}}``.

These functions write the messages; :mod:`depthhand.serve.wire` describes them as pydantic models (served as JSON
Schema at ``/api/schema/ws.json``), and a test checks every message of a real server against that schema.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.interact.calibration import Calibration
from depthhand.interact.engine import HandInteraction, InteractionFrame
from depthhand.interact.events import InteractionEvent
from depthhand.skeleton import JointSet
from depthhand.structures import (
    COORD_DECIMALS,
    SCORE_DECIMALS,
    UV_DECIMALS,
    CameraIntrinsics,
    FrameResult,
    json_floats,
)

SCHEMA_VERSION = 2
"""Version ``v`` of every message; 2: the hand keys of :meth:`FrameResult.to_dict` (see the module docstring)."""
AXES = "x_right,y_down,z_forward"


def hello_message(
    joint_set: JointSet,
    intrinsics: CameraIntrinsics | None,
    calibration: Calibration | None,
    fps: float,
    source: str | Mapping[str, Any],
) -> dict[str, Any]:
    """The first message on every connection, without its ``flow`` block.

    Each connection adds its own (:func:`flow_block`): the mode is the client's choice.

    Args:
        joint_set: Skeleton of the poses.
        intrinsics: The camera, if known yet.
        calibration: The installation's calibration, if any.
        fps: Nominal frame rate, frames/s.
        source: The source's URL, or its state (:func:`source_summary`'s keys; a URL alone is
            ``{"url": URL}``).
    """
    return {
        "type": "hello",
        "v": SCHEMA_VERSION,
        "units": "mm",
        "frame": "camera",
        "axes": AXES,
        "skeleton": {
            "name": joint_set.name,
            "joints": [n.lower() for n in joint_set.names],
            "bones": [list(b) for b in joint_set.bones],
            "tips": {f.name.lower(): i for f, i in joint_set.tips},
        },
        "sensor": None if intrinsics is None else intrinsics.to_dict(),
        "calibration": None if calibration is None else calibration_summary(calibration),
        "fps": fps,
        "source": {"url": source} if isinstance(source, str) else source_summary(source),
    }


def flow_block(ack: bool, window: int) -> dict[str, Any]:
    """The ``flow`` block of one connection's ``hello``: its mode and, for ``?flow=ack``, the window.

    Args:
        ack: Whether the client asked for ``?flow=ack``.
        window: Most frames sent unacknowledged to an ack client.

    Returns:
        ``{"mode": "ack" | "latest", "ack": bool, "window": int, "ack_every": int}``: an ack client acknowledges
        at least every ``ack_every`` frames.
    """
    return {"mode": "ack" if ack else "latest", "ack": ack, "window": window, "ack_every": min(2, window)}


SOURCE_KEYS = ("url", "kind", "state", "ended", "last_error")
"""The keys of a source's state in ``hello`` and ``source`` messages (``/api/status`` has all its counters)."""


def source_summary(status: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`SOURCE_KEYS` of a source's status (:meth:`depthhand.capture.stream.FrameStream.status`)."""
    return {k: status[k] for k in SOURCE_KEYS if k in status}


def source_message(status: Mapping[str, Any]) -> dict[str, Any]:
    """Sent to every client when the source's state changes (ended, failed, reconnecting, running again)."""
    return {"type": "source", "v": SCHEMA_VERSION, "source": source_summary(status)}


def calibration_summary(calibration: Calibration) -> dict[str, Any]:
    """Plane, H, P, projector size and errors for clients."""
    d = calibration.to_dict()
    return {k: d[k] for k in ("plane", "H", "P", "projector", "errors", "created_utc")}


def _interaction_fields(hi: HandInteraction) -> dict[str, Any]:
    """The wire-only keys of one hand: projector joints, fingertip states and the pinch."""
    return {
        "joints_projector_px": None
        if hi.joints_projector_px is None
        else json_floats(hi.joints_projector_px, COORD_DECIMALS),
        "fingers": {
            f.finger.name.lower(): {
                "state": f.state.value,
                "height_mm": json_floats(f.height_mm, COORD_DECIMALS),
                "projector_px": None if f.px is None else json_floats(f.px, COORD_DECIMALS),
                "projector_uv": None if f.uv is None else json_floats(f.uv, UV_DECIMALS),
                "contact_id": f.contact_id,
            }
            for f in hi.fingers
        },
        "pinch": {
            "active": hi.pinch.active,
            "strength": json_floats(hi.pinch.strength, SCORE_DECIMALS),
            "distance_mm": json_floats(hi.pinch.distance_mm, COORD_DECIMALS),
        },
    }


def frame_message(
    result: FrameResult, interaction: InteractionFrame | None, seq: int, t_send_us: int
) -> dict[str, Any]:
    """One message per frame: :meth:`FrameResult.to_dict` under a head, hands extended by their interaction state.

    Args:
        result: The pipeline's frame.
        interaction: The interaction engine's output for it, or ``None``.
        seq: Message sequence number (clients acknowledge it).
        t_send_us: When the pipeline handed the frame to the server, µs since the epoch.

    Returns:
        The message (see the module docstring).
    """
    record = result.to_dict()
    if interaction is not None:
        for th, hand in zip(result.hands, record["hands"], strict=True):
            hi = interaction.hands.get(th.track_id)
            if hi is not None:
                hand.update(_interaction_fields(hi))
    return {"type": "frame", "v": SCHEMA_VERSION, "seq": seq, "t_send_us": int(t_send_us), **record}


def event_message(event: InteractionEvent) -> dict[str, Any]:
    """An interaction event (``touch_down``, ``touch_move``, ``touch_up``, ``hover_*``, ``pinch_*``)."""
    msg = event.to_dict()
    msg["v"] = SCHEMA_VERSION
    return msg


def depth_preview_png(depth_mm: npt.NDArray[np.floating], max_side: int = 160) -> bytes:
    """A downscaled 8-bit PNG of a depth image (near = bright, invalid = black)."""
    import cv2

    d: npt.NDArray[Any] = np.asarray(depth_mm, dtype=np.float32)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"depth preview needs a 2-D depth image, got {d.shape}")
    scale = max_side / max(d.shape)
    if scale < 1:
        d = cv2.resize(
            d, (max(1, round(d.shape[1] * scale)), max(1, round(d.shape[0] * scale))), interpolation=cv2.INTER_NEAREST
        )
    valid = d > 0
    img = np.zeros(d.shape, np.uint8)
    if valid.any():
        lo, hi = float(d[valid].min()), float(d[valid].max())
        img[valid] = (255 - 225 * (d[valid] - lo) / max(hi - lo, 1.0)).astype(np.uint8)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("PNG encoding of the depth preview failed")
    return bytes(buf.tobytes())


def depth_message(
    depth_mm: npt.NDArray[np.floating], seq: int, timestamp_us: int, max_side: int = 160
) -> dict[str, Any]:
    """A low-rate depth preview as a base64 PNG (``timestamp_us``: capture time of the frame it shows)."""
    png = depth_preview_png(depth_mm, max_side)
    return {
        "type": "depth",
        "v": SCHEMA_VERSION,
        "seq": seq,
        "timestamp_us": int(timestamp_us),
        "png_b64": base64.b64encode(png).decode("ascii"),
    }
