"""Typed, frozen records of the ``/ws/hands`` messages (schema ``v: 2``, :mod:`depthhand.interact.schema`).

:func:`parse_message` turns one decoded JSON message into a record: :class:`Hello`, :class:`Frame` (its hands
:class:`Hand`), an :class:`Event` (:class:`TouchEvent`, :class:`HoverEvent`, :class:`PinchEvent`),
:class:`SourceState` or :class:`DepthPreview`. Coordinates keep the wire's frames and units: ``*_xyz_mm`` camera
millimetres (x right, y down, z forward), ``*_uvd`` image pixels and depth mm, ``*_projector_px`` projector pixels.
Joint arrays are read-only float64 numpy arrays; a ``null`` on the wire (a non-finite number) is NaN.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.interact.calibration import Calibration
from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]
SCHEMA_VERSIONS = (2,)
"""Wire versions this client reads."""


class MessageError(ValueError):
    """A message that does not follow the wire schema (names the message type and the field)."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the server's source is doing (``hello.source`` and ``source`` messages).

    Attributes:
        url: The source URL.
        kind: ``sensor``, ``file`` or ``scene`` (``""`` if not said).
        state: ``starting``, ``running``, ``reconnecting``, ``ended``, ``failed`` or ``stopped``.
        ended: Whether the source ended (a file played to its end, or failed).
        last_error: The source's last problem, ``""`` if none.
    """

    url: str
    kind: str = ""
    state: str = ""
    ended: bool = False
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    """The connection's flow control, from ``hello.flow``.

    Attributes:
        mode: ``latest`` (every frame while the client keeps up, else the newest) or ``ack``.
        window: Ack mode: at most this many frames are sent unacknowledged.
        ack_every: Ack mode: acknowledge every this many frames.
    """

    mode: str = "latest"
    window: int = 4
    ack_every: int = 2


@dataclass(frozen=True, slots=True)
class Skeleton:
    """The joint set of the poses (``hello.skeleton``).

    Attributes:
        name: Joint set name (``canonical21``, ...).
        joints: Joint names (lower case), in the order of every joint array.
        bones: (parent, child) joint index pairs.
        tips: Finger name (``thumb`` … ``pinky``) → joint index of its tip.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    tips: Mapping[str, int]

    def index(self, joint: str) -> int:
        """Index of a joint by name (``index_tip``) or finger tip (``index``)."""
        key = joint.lower()
        if key in self.tips:
            return self.tips[key]
        try:
            return self.joints.index(key)
        except ValueError:
            raise KeyError(f"no joint {joint!r} in {self.name}; joints: {', '.join(self.joints)}") from None


@dataclass(frozen=True, slots=True, eq=False)
class Hello:
    """The first message of every connection (and again when the server's camera, skeleton or calibration change).

    Attributes:
        version: Wire schema version ``v``.
        skeleton: The joint set, or ``None`` while a web-only server waits for its worker (``waiting``).
        intrinsics: The depth camera, once known.
        calibration: The installation's table plane and projector mapping
            (:meth:`~depthhand.interact.calibration.Calibration.to_projector` maps camera mm to projector px), or
            ``None``.
        fps: The source's nominal frame rate, frames/s (0 if not said).
        source: The source's state.
        flow: This connection's flow control.
        waiting: The server has no pipeline yet (web-only mode before the worker's first hello).
        raw: The message as decoded JSON.
    """

    version: int
    skeleton: Skeleton | None
    intrinsics: CameraIntrinsics | None
    calibration: Calibration | None
    fps: float
    source: SourceState | None
    flow: Flow
    waiting: bool
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Finger:
    """One fingertip's interaction state (present when the server's interaction engine ran).

    Attributes:
        state: ``none``, ``hover`` or ``touch``.
        height_mm: Height above the table, mm (NaN without a table plane).
        projector_px: Projector pixels (x, y), or ``None`` without a projector calibration.
        projector_uv: Projector pixels divided by the projector size, or ``None``.
        contact_id: Id of the current hover/touch contact, 0 when none.
    """

    state: str
    height_mm: float
    projector_px: tuple[float, float] | None
    projector_uv: tuple[float, float] | None
    contact_id: int


@dataclass(frozen=True, slots=True)
class Pinch:
    """Thumb–index pinch of one hand: ``active``, ``strength`` in [0, 1], ``distance_mm`` between the tips."""

    active: bool
    strength: float
    distance_mm: float


@dataclass(frozen=True, slots=True, eq=False)
class Hand:
    """One tracked hand of a frame.

    Attributes:
        track_id: Stable id while the hand stays in view.
        lost_frames: Frames since it was last detected (0: seen in this frame).
        handedness: ``left``, ``right`` or ``unknown``.
        score: Confidence in [0, 1].
        joint_set: Name of the joint set (see :attr:`Hello.skeleton` for the names).
        joints_xyz_mm: (J, 3) camera mm.
        joints_uvd: (J, 3) image pixels u, v and depth mm.
        confidence: (J,) per-joint confidence in [0, 1].
        visible: (J,) bool, False for joints beyond the image edge.
        joints_projector_px: (J, 2) projector pixels, or ``None`` without a projector calibration.
        fingers: Finger name → :class:`Finger` (empty when the interaction engine did not run).
        pinch: The pinch, or ``None``.
    """

    track_id: int
    lost_frames: int
    handedness: str
    score: float
    joint_set: str
    joints_xyz_mm: F64
    joints_uvd: F64
    confidence: F64
    visible: npt.NDArray[np.bool_]
    joints_projector_px: F64 | None
    fingers: Mapping[str, Finger]
    pinch: Pinch | None


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One ``frame`` message.

    Attributes:
        seq: Message sequence number (increasing per server run; gaps are frames replaced for a slow client).
        frame_index: Index of the frame within its source.
        timestamp_us: Capture time, µs since the epoch (or the source's clock).
        source: The source id.
        hands: The tracked hands.
        timings_ms: Per-stage time, ms.
        error: Why the frame was rejected, ``""`` if it was not.
        t_send_us: When the pipeline handed the frame to the server, µs since the epoch.
        t_relay_us: When the server's consumer sent it to this client, µs since the epoch (0 if not stamped).
    """

    seq: int
    frame_index: int
    timestamp_us: int
    source: str
    hands: tuple[Hand, ...]
    timings_ms: Mapping[str, float]
    error: str
    t_send_us: int
    t_relay_us: int


@dataclass(frozen=True, slots=True)
class Event:
    """An interaction event (touch, hover or pinch; the subclasses say which).

    Attributes:
        type: ``touch_down``, ``touch_move``, ``touch_up``, ``hover_enter``, ``hover_move``, ``hover_leave``,
            ``pinch_start`` or ``pinch_end``.
        event_id: Unique, increasing.
        contact_id: Shared by the events of one contact (down … up, enter … leave, start … end).
        track_id: The hand.
        finger: ``thumb`` … ``pinky``.
        timestamp_us: Capture time of the frame it happened in, µs.
        xyz_mm: Fingertip, camera mm.
        height_mm: Fingertip height above the table, mm (NaN without a plane).
        projector_px: Projector pixels, or ``None`` without a projector calibration.
        projector_uv: Projector pixels divided by the projector size, or ``None``.
    """

    type: str
    event_id: int
    contact_id: int
    track_id: int
    finger: str
    timestamp_us: int
    xyz_mm: tuple[float, float, float]
    height_mm: float
    projector_px: tuple[float, float] | None
    projector_uv: tuple[float, float] | None

    @property
    def kind(self) -> str:
        """``touch``, ``hover`` or ``pinch``."""
        return self.type.split("_", 1)[0]

    @property
    def phase(self) -> str:
        """``down`` / ``move`` / ``up``, ``enter`` / ``move`` / ``leave`` or ``start`` / ``end``."""
        return self.type.split("_", 1)[1]


@dataclass(frozen=True, slots=True)
class TouchEvent(Event):
    """``touch_down``, ``touch_move``, ``touch_up``."""


@dataclass(frozen=True, slots=True)
class HoverEvent(Event):
    """``hover_enter``, ``hover_move``, ``hover_leave``."""


@dataclass(frozen=True, slots=True)
class PinchEvent(Event):
    """``pinch_start``, ``pinch_end``."""


EVENT_CLASSES: Mapping[str, type[Event]] = {"touch": TouchEvent, "hover": HoverEvent, "pinch": PinchEvent}
EVENT_TYPES = (
    "touch_down",
    "touch_move",
    "touch_up",
    "hover_enter",
    "hover_move",
    "hover_leave",
    "pinch_start",
    "pinch_end",
)


@dataclass(frozen=True, slots=True)
class DepthPreview:
    """A low-rate depth preview (only yielded with ``depth=True``): an 8-bit PNG, near = bright, invalid = black.

    Attributes:
        seq: Sequence number of the frame it belongs to.
        timestamp_us: Capture time of that frame, µs.
        png_b64: The PNG, base64.
    """

    seq: int
    timestamp_us: int
    png_b64: str

    @property
    def png(self) -> bytes:
        """The PNG file's bytes."""
        return base64.b64decode(self.png_b64)


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The client lost the server (or could not reach it) and tries again after ``delay_s``.

    Attributes:
        attempt: 1 for the first try after a drop, then 2, 3, … (reset once a ``hello`` arrives).
        delay_s: Seconds until the try.
        reason: What happened (the close code and reason, or the connection error).
    """

    attempt: int
    delay_s: float
    reason: str


Message = Hello | Frame | Event | SourceState | DepthPreview | Reconnecting
"""Everything :func:`depthhand.client.connect` yields."""


# ---------------------------------------------------------------------------------------------------- parsing
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
    )
