"""The interaction events a touch tracker emits and the fingertip states behind them (see `interact.touch`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from depthhand.skeleton import Finger
from depthhand.structures import COORD_DECIMALS, UV_DECIMALS, json_floats


class TouchState(enum.Enum):
    """What a fingertip is doing relative to the surface."""

    NONE = "none"
    HOVER = "hover"
    TOUCH = "touch"


class EventType(enum.Enum):
    """Discrete interaction events sent to clients."""

    HOVER_ENTER = "hover_enter"
    HOVER_MOVE = "hover_move"
    HOVER_LEAVE = "hover_leave"
    TOUCH_DOWN = "touch_down"
    TOUCH_MOVE = "touch_move"
    TOUCH_UP = "touch_up"
    PINCH_START = "pinch_start"
    PINCH_END = "pinch_end"


@dataclass(frozen=True, slots=True)
class InteractionEvent:
    """One discrete event.

    Attributes:
        type: What happened.
        event_id: Unique, increasing id of this event.
        contact_id: Id shared by all events of one touch / hover / pinch (down … up).
        hand_id: Track id of the hand.
        finger: The finger (the index finger for pinches).
        t_us: Capture time of the frame, µs.
        xyz_mm: (3,) fingertip (pinch: thumb–index midpoint) in camera mm.
        height_mm: Height above the plane, mm.
        px: Projector pixel (x, y) when calibrated, else ``None``.
        uv: ``px`` normalised by the projector size, else ``None``.
        rule: Which rule measured the height: ``"pose"``, ``"pixels"`` or ``"fused"`` (touch events carry the
            contact on the plane as ``xyz_mm``: :mod:`depthhand.interact.position`).
    """

    type: EventType
    event_id: int
    contact_id: int
    hand_id: int
    finger: Finger
    t_us: int
    xyz_mm: tuple[float, float, float]
    height_mm: float
    px: tuple[float, float] | None = None
    uv: tuple[float, float] | None = None
    rule: str = "pose"

    def to_dict(self) -> dict[str, object]:
        """Wire form (see :mod:`depthhand.interact.schema`).

        The keys are those of the ``frame`` message: ``hand_id`` is written ``track_id``, ``t_us`` ``timestamp_us``,
        ``px`` and ``uv`` ``projector_px`` and ``projector_uv``; numbers are rounded like every JSON record
        (:func:`depthhand.structures.json_floats`).
        """
        return {
            "type": self.type.value,
            "event_id": self.event_id,
            "contact_id": self.contact_id,
            "track_id": self.hand_id,
            "finger": self.finger.name.lower(),
            "timestamp_us": self.t_us,
            "xyz_mm": json_floats(self.xyz_mm, COORD_DECIMALS),
            "height_mm": json_floats(self.height_mm, COORD_DECIMALS),
            "projector_px": None if self.px is None else json_floats(self.px, COORD_DECIMALS),
            "projector_uv": None if self.uv is None else json_floats(self.uv, UV_DECIMALS),
            "rule": self.rule,
        }
