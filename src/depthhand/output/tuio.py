"""``--tuio HOST:PORT``: the touches as TUIO 1.1 cursors (``/tuio/2Dcur``), one bundle per frame.

Each frame sends one OSC bundle of the TUIO 1.1 2D cursor profile, in the order the specification gives::

    /tuio/2Dcur source depthhand@HOSTNAME
    /tuio/2Dcur alive s_id s_id ...          every frame: the session ids of all cursors down now (may be empty)
    /tuio/2Dcur set s_id x y X Y m           per cursor that is new or moved (all of them every 30th frame)
    /tuio/2Dcur fseq f_id                    frame sequence number, 1, 2, 3, ... (one per bundle)

A cursor is one touching fingertip on the projector image, from its ``touch_down`` event to its ``touch_up`` (each
finger of each hand is its own cursor, so two-finger gestures are two cursors). The projector image is the TUIO
surface: a touch outside it has no cursor, and a touch that slides off the image ends its cursor (one that comes back
on gets a new session, as on a touch screen). The session id ``s_id`` (int32) is new for every cursor and increases
over the run. ``x, y`` (float32) are the touch position normalised to the projector image, 0..1 from the left / top
edge (the event's ``projector_uv``); ``X, Y`` their velocity in image widths / heights per second and ``m`` the change
of speed per second (acceleration), both from the capture timestamps. Positions come from the touch events
(``touch_down``, ``touch_move``) and, when move events are switched off, from the touching finger's reading of the
frame.

Touches need projector coordinates, so TUIO needs a projector calibration: ``depthhand run --tuio`` refuses to
start without ``--calibration``; ``depthhand serve --tuio`` sends ``alive`` / ``fseq`` bundles with no cursors
until the projector is calibrated (``/calibrate``), counts the touches it could not place (``unmapped_touches`` in
:meth:`TuioOutput.stats`) and logs that once. The ``set`` of every alive cursor is repeated every
:data:`REFRESH_FRAMES` frames, so a receiver that lost a datagram (UDP) catches up with a resting finger.
"""

from __future__ import annotations

import logging
import math
import socket
from dataclasses import dataclass
from typing import Any

from depthhand.interact.engine import InteractionFrame
from depthhand.interact.events import EventType, TouchState
from depthhand.output.osc import bundle, message
from depthhand.output.udp import UdpSender, UdpTarget
from depthhand.skeleton import Finger
from depthhand.structures import FrameResult

log = logging.getLogger("depthhand.output")

PROFILE = "/tuio/2Dcur"
REFRESH_FRAMES = 30
"""Every this many frames, ``set`` goes out for every alive cursor, moved or not."""
STALE_FRAMES = 15
"""A cursor without any touch event or touching finger reading for this many frames is dropped (the touch engine
was replaced, e.g. the server's touch settings changed; the touch engine itself ends a lost hand's touches after
:attr:`~depthhand.interact.touch.TouchSettings.lost_frames`)."""

_Key = tuple[int, Finger, int]  # (track id, finger, contact id)


@dataclass(slots=True)
class Cursor:
    """One TUIO cursor.

    Attributes:
        session_id: TUIO session id.
        x: Position, 0..1 of the projector image width from the left.
        y: Position, 0..1 of the projector image height from the top.
        vx: Velocity along x, widths per second.
        vy: Velocity along y, heights per second.
        accel: Change of speed per second.
        t_us: Capture time of the position, µs.
        moved: Updated (created or moved) in the current frame.
        idle_frames: Frames since the last touch event or touching reading.
    """

    session_id: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    accel: float = 0.0
    t_us: int = 0
    moved: bool = True
    idle_frames: int = 0

    def move_to(self, x: float, y: float, t_us: int) -> None:
        """New position at ``t_us``; velocity and acceleration from the previous one."""
        dt = (t_us - self.t_us) / 1e6
        if dt > 0:
            vx, vy = (x - self.x) / dt, (y - self.y) / dt
            self.accel = (math.hypot(vx, vy) - math.hypot(self.vx, self.vy)) / dt
            self.vx, self.vy = vx, vy
        self.moved = self.moved or (x, y) != (self.x, self.y)
        self.x, self.y, self.t_us = x, y, t_us
        self.idle_frames = 0


def _inside(uv: tuple[float, float]) -> bool:
    return 0.0 <= uv[0] <= 1.0 and 0.0 <= uv[1] <= 1.0


class TuioCursors:
    """Touch events → the TUIO cursors alive in each frame (no sockets; see the module docstring).

    Attributes:
        cursors: The cursors down now, by (track id, finger, contact id).
        unmapped_touches: Touches that could not be sent (no projector coordinates).
    """

    def __init__(self) -> None:
        self.cursors: dict[_Key, Cursor] = {}
        self.unmapped_touches = 0
        self._next_session = 1

    def update(self, interaction: InteractionFrame | None, t_us: int) -> None:
        """Apply one frame's events and finger readings."""
        for cursor in self.cursors.values():
            cursor.moved = False
            cursor.idle_frames += 1
        if interaction is None:
            interaction = InteractionFrame({}, ())
        for ev in interaction.events:
            key = (ev.hand_id, ev.finger, ev.contact_id)
            if ev.type is EventType.TOUCH_UP:
                self.cursors.pop(key, None)
            elif ev.type in (EventType.TOUCH_DOWN, EventType.TOUCH_MOVE):
                if ev.uv is None:
                    self.unmapped_touches += ev.type is EventType.TOUCH_DOWN
                    continue
                if ev.type is EventType.TOUCH_DOWN:
                    self.cursors.pop(key, None)  # a new touch is a new session, whatever came before
                self._place(key, ev.uv, ev.t_us)
        for hand in interaction.hands.values():  # touches no event moved this frame (move events switched off)
            for reading in hand.fingers:
                if reading.state is not TouchState.TOUCH or not reading.contact_id:
                    continue
                key = (hand.hand_id, reading.finger, reading.contact_id)
                held = self.cursors.get(key)
                if held is not None and not held.idle_frames:
                    continue  # an event placed it
                if held is not None:
                    held.idle_frames = 0
                if reading.uv is not None:
                    self._place(key, reading.uv, t_us)
        for key in [k for k, c in self.cursors.items() if c.idle_frames >= STALE_FRAMES]:
            del self.cursors[key]

    def _place(self, key: _Key, uv: tuple[float, float], t_us: int) -> None:
        """Move the touch ``key`` to ``uv``: a new cursor when it enters the image, none while it is outside."""
        x, y = float(uv[0]), float(uv[1])
        cursor = self.cursors.get(key)
        if not _inside((x, y)):
            self.cursors.pop(key, None)
        elif cursor is None:
            self.cursors[key] = Cursor(self._next_session, x, y, t_us=t_us)
            self._next_session += 1
        else:
            cursor.move_to(x, y, t_us)


class TuioEncoder:
    """Frames → TUIO 1.1 ``/tuio/2Dcur`` bundles (see the module docstring).

    Args:
        source: The ``source`` message's ``name@address`` (``None``: ``depthhand@`` this host's name).
    """

    def __init__(self, source: str | None = None) -> None:
        self.source = source or f"depthhand@{socket.gethostname()}"
        self.tracker = TuioCursors()
        self.fseq = 0

    def encode(self, result: FrameResult, interaction: InteractionFrame | None) -> bytes:
        """The bundle of one frame, one UDP datagram."""
        self.tracker.update(interaction, int(result.timestamp_us))
        self.fseq += 1
        refresh = self.fseq % REFRESH_FRAMES == 0
        cursors = sorted(self.tracker.cursors.values(), key=lambda c: c.session_id)
        messages = [
            message(PROFILE, "ss", ["source", self.source]),
            message(PROFILE, "s" + "i" * len(cursors), ["alive", *(c.session_id for c in cursors)]),
        ]
        for c in cursors:
            if c.moved or refresh:
                messages.append(message(PROFILE, "sifffff", ["set", c.session_id, c.x, c.y, c.vx, c.vy, c.accel]))
        messages.append(message(PROFILE, "si", ["fseq", self.fseq]))
        return bundle(messages)


class TuioOutput:
    """``--tuio``: each frame's TUIO bundle to one UDP target (never raises into the loop, see :mod:`.udp`)."""

    name = "tuio"

    def __init__(self, target: UdpTarget, source: str | None = None) -> None:
        self.encoder = TuioEncoder(source)
        self.sender = UdpSender(target, "TUIO")

    def send(self, result: FrameResult, interaction: InteractionFrame | None) -> None:
        """Encode and send one frame."""
        unmapped = self.encoder.tracker.unmapped_touches
        try:
            datagram = self.encoder.encode(result, interaction)
        except Exception as exc:  # a bad value in one frame must not stop the live loop
            self.sender.fail(exc)
            return
        if unmapped == 0 and self.encoder.tracker.unmapped_touches:
            log.warning(
                "TUIO to %s: a touch has no projector coordinates (no projector calibration): TUIO sends no cursors "
                "until the projector is calibrated",
                self.sender.target,
            )
        self.sender.send(datagram)

    def stats(self) -> dict[str, Any]:
        """See :meth:`UdpSender.stats`; also ``fseq`` and ``unmapped_touches``."""
        return {
            **self.sender.stats(),
            "fseq": self.encoder.fseq,
            "unmapped_touches": self.encoder.tracker.unmapped_touches,
        }

    def close(self) -> None:
        """Close the socket."""
        self.sender.close()
