"""Typed, frozen records of the ``/ws/hands`` messages (schema ``v: 2``, :mod:`depthhand.interact.schema`).

:func:`depthhand.client.parse.parse_message` turns one decoded JSON message into a record: :class:`Hello`,
:class:`Frame` (its hands :class:`Hand`), an :class:`Event` (:class:`TouchEvent`, :class:`HoverEvent`,
:class:`PinchEvent`), :class:`SourceState` or :class:`DepthPreview`. Coordinates keep the wire's frames and units:
``*_xyz_mm`` camera millimetres (x right, y down, z forward), ``*_uvd`` image pixels and depth mm,
``*_projector_px`` projector pixels.
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
        rule: What decided it: ``pose`` (the fingertip joint above the plane) or ``pixels`` (the depth pixels
            against the surface model; a touch's ``xyz_mm`` is then the contact's centroid on the table).
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
    rule: str = "pose"

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
