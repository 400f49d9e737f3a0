"""Versioned wire messages of ``/ws/hands`` (reference §5.3): ``hello``, ``frame``, events, ``depth`` previews.

All coordinates are camera millimetres, x right, y down, z forward; timestamps are integer microseconds since the
Unix epoch (exact in JavaScript numbers). ``joints_px`` and finger ``px`` appear only when a projector calibration
exists. Events carry ``event_id`` (unique, increasing) and ``contact_id`` (shared by down … up).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.interact.calibration import Calibration
from depthhand.interact.engine import InteractionFrame
from depthhand.interact.touch import InteractionEvent
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, FrameResult

SCHEMA_VERSION = 1
AXES = "x_right,y_down,z_forward"


def hello_message(
    joint_set: JointSet,
    intrinsics: CameraIntrinsics | None,
    calibration: Calibration | None,
    fps: float,
    source: str,
    window: int,
) -> dict[str, Any]:
    """The first message on every connection."""
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
        "source": source,
        "flow": {"ack": True, "window": window, "ack_every": min(2, window)},
    }


def calibration_summary(calibration: Calibration) -> dict[str, Any]:
    """Plane, H, P, projector size and errors for clients."""
    d = calibration.to_dict()
    return {k: d[k] for k in ("plane", "H", "P", "projector", "errors", "created_utc")}


def _r(values: npt.NDArray[np.floating], nd: int) -> list[Any]:
    out: list[Any] = np.round(np.asarray(values, dtype=np.float64), nd).tolist()
    return out


def frame_message(
    result: FrameResult, interaction: InteractionFrame | None, seq: int, t_send_us: int
) -> dict[str, Any]:
    """One message per frame: hands with joints (mm, and projector px when calibrated) and fingertip states."""
    hands = []
    for th in result.hands:
        pose = th.pose
        hand: dict[str, Any] = {
            "id": th.track_id,
            "handedness": pose.handedness.value,
            "score": round(float(pose.score), 3),
            "lost_frames": th.lost_frames,
            "joints_mm": _r(pose.joints_xyz_mm, 1),
            "joint_conf": _r(pose.confidence, 2),
        }
        hi = None if interaction is None else interaction.hands.get(th.track_id)
        if hi is not None:
            hand["joints_px"] = hi.joints_px
            hand["fingers"] = {
                f.finger.name.lower(): {
                    "state": f.state.value,
                    "height_mm": None if not np.isfinite(f.height_mm) else round(f.height_mm, 1),
                    "px": None if f.px is None else [round(v, 1) for v in f.px],
                    "uv": None if f.uv is None else [round(v, 4) for v in f.uv],
                    "contact_id": f.contact_id,
                }
                for f in hi.fingers
            }
            hand["pinch"] = {
                "active": hi.pinch.active,
                "strength": round(hi.pinch.strength, 3),
                "distance_mm": round(hi.pinch.distance_mm, 1),
            }
        hands.append(hand)
    return {
        "type": "frame",
        "v": SCHEMA_VERSION,
        "seq": seq,
        "frame_index": result.frame_index,
        "t_capture_us": int(result.timestamp_us),
        "t_send_us": int(t_send_us),
        "timings_ms": {k: round(float(v), 2) for k, v in result.timings_ms.items()},
        "hands": hands,
    }


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
    depth_mm: npt.NDArray[np.floating], seq: int, t_capture_us: int, max_side: int = 160
) -> dict[str, Any]:
    """A low-rate depth preview as a base64 PNG."""
    png = depth_preview_png(depth_mm, max_side)
    return {
        "type": "depth",
        "v": SCHEMA_VERSION,
        "seq": seq,
        "t_capture_us": int(t_capture_us),
        "png_b64": base64.b64encode(png).decode("ascii"),
    }
