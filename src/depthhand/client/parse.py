"""Decoded ``/ws/hands`` JSON → the records of :mod:`depthhand.client.messages` (checks shapes, names bad fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.client.messages import (
    EVENT_CLASSES,
    EVENT_TYPES,
    SCHEMA_VERSIONS,
    DepthPreview,
    Event,
    Finger,
    Flow,
    Frame,
    Hand,
    Hello,
    MessageError,
    Pinch,
    Skeleton,
    SourceState,
)
from depthhand.interact.calibration import Calibration
from depthhand.structures import CameraIntrinsics


def parse_message(msg: Mapping[str, Any]) -> Hello | Frame | Event | SourceState | DepthPreview | None:
    """A decoded wire message as a record; ``None`` for types this client does not model (``pong``, ``error``).

    Raises:
        MessageError: Naming the message type and the field, if the message does not follow the schema.
    """
    if not isinstance(msg, Mapping):
        raise MessageError(f"a message must be a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    try:
        if kind == "frame":
            return _frame(msg)
        if kind in EVENT_TYPES:
            return _event(msg)
        if kind == "hello":
            return _hello(msg)
        if kind == "source":
            return _source(msg.get("source"))
        if kind == "depth":
            return DepthPreview(int(msg["seq"]), int(msg.get("timestamp_us", 0)), str(msg["png_b64"]))
    except MessageError as exc:
        raise MessageError(f"{kind} message: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise MessageError(f"{kind} message: {detail}") from None
    return None


def _array(value: Any, shape: tuple[int, ...], name: str, dtype: type = np.float64) -> Any:
    try:
        arr: npt.NDArray[Any] = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        raise MessageError(f"{name} must be an array of numbers, got {str(value)[:60]}") from None
    if arr.shape != shape:
        raise MessageError(f"{name} must have shape {shape}, got {arr.shape}")
    arr.flags.writeable = False
    return arr


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _pair(value: Any, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise MessageError(f"{name} must be [x, y] or null, got {value!r}")
    return (_num(value[0]), _num(value[1]))


def _source(data: Any) -> SourceState:
    if not isinstance(data, Mapping):
        raise MessageError(f"source must be an object, got {data!r}")
    return SourceState(
        url=str(data.get("url", "")),
        kind=str(data.get("kind", "")),
        state=str(data.get("state", "")),
        ended=bool(data.get("ended", False)),
        last_error=str(data.get("last_error", "") or ""),
    )


def _hello(msg: Mapping[str, Any]) -> Hello:
    version = int(msg.get("v", 0))
    if version not in SCHEMA_VERSIONS:
        raise MessageError(f"wire version v={version} is not supported by this client (reads {SCHEMA_VERSIONS})")
    sk = msg.get("skeleton")
    skeleton = None
    if sk is not None:
        skeleton = Skeleton(
            name=str(sk["name"]),
            joints=tuple(str(n) for n in sk["joints"]),
            bones=tuple((int(a), int(b)) for a, b in sk.get("bones", [])),
            tips={str(k): int(v) for k, v in sk.get("tips", {}).items()},
        )
    sensor = msg.get("sensor")
    flow = msg.get("flow") or {}
    return Hello(
        version=version,
        skeleton=skeleton,
        intrinsics=None if sensor is None else CameraIntrinsics.from_dict(dict(sensor)),
        calibration=_calibration(msg.get("calibration")),
        fps=float(msg.get("fps") or 0.0),
        source=None if msg.get("source") is None else _source(msg["source"]),
        flow=Flow(
            mode=str(flow.get("mode", "ack" if flow.get("ack") else "latest")),
            window=int(flow.get("window", 4)),
            ack_every=max(1, int(flow.get("ack_every", 2))),
        ),
        waiting=bool(msg.get("waiting", False)),
        raw=msg,
    )


def _calibration(data: Any) -> Calibration | None:
    """``hello.calibration`` (plane, H, P, projector, errors) as a :class:`Calibration`."""
    if data is None:
        return None
    from depthhand.geometry.plane import Plane

    proj = data.get("projector") or {}
    try:
        plane = None if data.get("plane") is None else Plane.from_list(data["plane"])
    except ValueError as exc:
        raise MessageError(f"calibration.plane: {exc}") from None
    h = None if data.get("H") is None else np.asarray(data["H"], dtype=np.float64).reshape(3, 3)
    p = None if data.get("P") is None else np.asarray(data["P"], dtype=np.float64).reshape(3, 4)
    return Calibration(
        projector_size=(int(proj.get("width", 0)), int(proj.get("height", 0))),
        plane=plane,
        homography=h,
        projection=p,
        errors=dict(data.get("errors") or {}),
        created_utc=str(data.get("created_utc") or ""),
    )


def _hand(h: Mapping[str, Any], i: int) -> Hand:
    name = f"hands[{i}]"
    xyz = np.array(h["joints_xyz_mm"], dtype=np.float64) if "joints_xyz_mm" in h else None
    n = 0 if xyz is None or xyz.ndim != 2 else len(xyz)
    if n == 0:
        raise MessageError(f"{name}.joints_xyz_mm must be a (J, 3) array, got {str(h.get('joints_xyz_mm'))[:60]}")
    proj = h.get("joints_projector_px")
    fingers = {
        str(f): Finger(
            state=str(v.get("state", "none")),
            height_mm=_num(v.get("height_mm")),
            projector_px=_pair(v.get("projector_px"), f"{name}.fingers.{f}.projector_px"),
            projector_uv=_pair(v.get("projector_uv"), f"{name}.fingers.{f}.projector_uv"),
            contact_id=int(v.get("contact_id") or 0),
        )
        for f, v in (h.get("fingers") or {}).items()
    }
    pinch = h.get("pinch")
    return Hand(
        track_id=int(h["track_id"]),
        lost_frames=int(h.get("lost_frames", 0)),
        handedness=str(h.get("handedness", "unknown")),
        score=_num(h.get("score", 1.0)),
        joint_set=str(h.get("joint_set", "")),
        joints_xyz_mm=_array(h["joints_xyz_mm"], (n, 3), f"{name}.joints_xyz_mm"),
        joints_uvd=_array(h["joints_uvd"], (n, 3), f"{name}.joints_uvd"),
        confidence=_array(h.get("confidence", [1.0] * n), (n,), f"{name}.confidence"),
        visible=_array(h.get("visible", [True] * n), (n,), f"{name}.visible", bool),
        joints_projector_px=None if proj is None else _array(proj, (n, 2), f"{name}.joints_projector_px"),
        fingers=fingers,
        pinch=None
        if pinch is None
        else Pinch(bool(pinch["active"]), _num(pinch.get("strength")), _num(pinch.get("distance_mm"))),
    )


def _frame(msg: Mapping[str, Any]) -> Frame:
    hands = msg.get("hands")
    if not isinstance(hands, list):
        raise MessageError(f"hands must be a list, got {type(hands).__name__}")
    return Frame(
        seq=int(msg["seq"]),
        frame_index=int(msg.get("frame_index", 0)),
        timestamp_us=int(msg.get("timestamp_us", 0)),
        source=str(msg.get("source", "")),
        hands=tuple(_hand(h, i) for i, h in enumerate(hands)),
        timings_ms={str(k): _num(v) for k, v in (msg.get("timings_ms") or {}).items()},
        error=str(msg.get("error", "")),
        t_send_us=int(msg.get("t_send_us", 0)),
        t_relay_us=int(msg.get("t_relay_us", 0)),
    )


def _event(msg: Mapping[str, Any]) -> Event:
    kind = str(msg["type"])
    xyz = msg.get("xyz_mm")
    if not isinstance(xyz, list) or len(xyz) != 3:
        raise MessageError(f"xyz_mm must be [x, y, z], got {xyz!r}")
    cls = EVENT_CLASSES[kind.split("_", 1)[0]]
    return cls(
        type=kind,
        event_id=int(msg["event_id"]),
        contact_id=int(msg.get("contact_id") or 0),
        track_id=int(msg["track_id"]),
        finger=str(msg.get("finger", "")),
        timestamp_us=int(msg.get("timestamp_us", 0)),
        xyz_mm=(_num(xyz[0]), _num(xyz[1]), _num(xyz[2])),
        height_mm=_num(msg.get("height_mm")),
        projector_px=_pair(msg.get("projector_px"), "projector_px"),
        projector_uv=_pair(msg.get("projector_uv"), "projector_uv"),
        rule=str(msg.get("rule", "pose")),
    )
