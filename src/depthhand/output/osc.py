"""``--osc HOST:PORT``: one OSC bundle per frame, in depthhand's address space, with flat typed arguments.

Every frame is one UDP datagram: an OSC bundle (time tag "immediately") holding, in this order::

    address                              types          arguments
    /depthhand/frame                     i h i          frame_index, timestamp_us (capture time, int64), hand_count
    /depthhand/hand/{slot}/end           i              track_id of a hand lost since the previous frame
    /depthhand/hand/{slot}               i s f i        track_id, handedness (left/right/unknown), score 0..1,
                                                        lost_frames (0 when seen in this frame)
    /depthhand/hand/{slot}/joints_mm     f × 3J         x0 y0 z0 x1 y1 z1 ... camera mm (x right, y down, z forward)
    /depthhand/hand/{slot}/joints_px     f × 2J         x0 y0 x1 y1 ... projector pixels (only when calibrated)
    /depthhand/event/{type}              i i i s h      event_id, contact_id, track_id, finger, timestamp_us,
                                         f f f f        x y z mm, height_mm above the table,
                                         [f f f f]      [projector x y px, u v 0..1: only when calibrated]

``{slot}`` is a small stable number per hand (0, 1, …): a hand keeps its slot while it is tracked, and a new hand
takes the lowest free one, so a receiver can bind ``/depthhand/hand/0/joints_mm`` to one set of channels
(TouchDesigner's OSC In CHOP, Max's ``route``). The track id in ``/depthhand/hand/{slot}`` tells hands apart over
time (ids are never reused within a run). ``J`` is 21 for the shipped model (``canonical21``: wrist, then thumb to
pinky, base to tip; the order of the JSONL header and the WebSocket ``hello``). ``{type}`` is one of the event types
of :class:`~depthhand.interact.touch.EventType` (``touch_down``, ``touch_move``, ``touch_up``, ``hover_enter``,
``hover_move``, ``hover_leave``, ``pinch_start``, ``pinch_end``); their arguments are the wire event's fields
(:meth:`InteractionEvent.to_dict <depthhand.interact.touch.InteractionEvent.to_dict>`) in that order. Touch and
hover events need the table plane (a calibration); pinches do not. Floats are 32-bit (0.0001 mm at 1 m), ``h`` is
OSC's 64-bit integer. The datagrams are python-osc's encoding (``pythonosc.parsing.osc_types`` writes the strings and
the time tag); a two-hand frame with its events is about 2 kB.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pythonosc.osc_bundle_builder import IMMEDIATELY
from pythonosc.parsing import osc_types

from depthhand.interact.engine import InteractionFrame
from depthhand.interact.events import InteractionEvent
from depthhand.output.udp import UdpSender, UdpTarget
from depthhand.structures import FrameResult

PREFIX = "/depthhand"
_PACK = {"i": ">i", "h": ">q", "f": ">f", "d": ">d"}


def message(address: str, types: str, values: Sequence[Any]) -> bytes:
    """One OSC message with explicitly typed arguments, as bytes.

    The bytes are those python-osc's ``OscMessageBuilder`` builds (python-osc writes the strings), without the
    builder's cost: it parses every message it builds back into its arguments, about 60× this function's time for a
    hand's 63 joint coordinates.

    Args:
        address: OSC address pattern (``/depthhand/frame``).
        types: One OSC type tag per value: ``i`` int32, ``h`` int64, ``f`` float32, ``d`` float64, ``s`` string.
        values: The arguments.

    Raises:
        ValueError: More or fewer tags than values, or a tag other than these.
        struct.error: A number out of its type's range.
    """
    if len(types) != len(values):
        raise ValueError(f"{address}: {len(types)} type tags for {len(values)} values")
    parts = [osc_types.write_string(address), osc_types.write_string("," + types)]
    for tag, value in zip(types, values, strict=True):
        if tag == "s":
            parts.append(osc_types.write_string(value))
        elif tag in _PACK:
            parts.append(struct.pack(_PACK[tag], value))
        else:
            raise ValueError(f"{address}: unsupported OSC type tag {tag!r}")
    return b"".join(parts)


def floats(address: str, values: npt.ArrayLike) -> bytes:
    """One OSC message of 32-bit floats (an array of any shape, flattened in C order)."""
    arr = np.ascontiguousarray(values, dtype=">f4").ravel()
    return osc_types.write_string(address) + osc_types.write_string("," + "f" * arr.size) + arr.tobytes()


def bundle(messages: Sequence[bytes]) -> bytes:
    """An OSC bundle of ``messages`` with the time tag "immediately" (one UDP datagram)."""
    parts = [b"#bundle\x00", osc_types.write_date(IMMEDIATELY)]
    for msg in messages:
        parts += [struct.pack(">i", len(msg)), msg]
    return b"".join(parts)


def event_message(event: InteractionEvent) -> bytes:
    """``/depthhand/event/{type}`` of one interaction event (see the module docstring)."""
    values: list[Any] = [event.event_id, event.contact_id, event.hand_id, event.finger.name.lower(), int(event.t_us)]
    values += [*map(float, event.xyz_mm), float(event.height_mm)]
    types = "iiish" + "f" * 4
    if event.px is not None and event.uv is not None:
        values += [*map(float, event.px), *map(float, event.uv)]
        types += "f" * 4
    return message(f"{PREFIX}/event/{event.type.value}", types, values)


class OscEncoder:
    """Frames → OSC bundles; keeps each tracked hand's slot (see the module docstring)."""

    def __init__(self) -> None:
        self._slots: dict[int, int] = {}

    def assign_slots(self, track_ids: list[int]) -> tuple[dict[int, int], list[tuple[int, int]]]:
        """Update the slots for this frame's hands.

        Args:
            track_ids: The track ids of this frame's hands.

        Returns:
            ``(slots, ended)``: track id → slot for every hand of the frame, and ``(slot, track_id)`` of the hands
            gone since the last frame.
        """
        ended = [(slot, tid) for tid, slot in self._slots.items() if tid not in track_ids]
        for _, tid in ended:
            del self._slots[tid]
        for tid in track_ids:
            if tid not in self._slots:
                used = set(self._slots.values())
                self._slots[tid] = next(s for s in range(len(used) + 1) if s not in used)
        return dict(self._slots), sorted(ended)

    def encode(self, result: FrameResult, interaction: InteractionFrame | None) -> bytes:
        """The bundle of one frame, one UDP datagram (see the module docstring for its messages)."""
        n = len(result.hands)
        messages = [message(f"{PREFIX}/frame", "ihi", [int(result.frame_index), int(result.timestamp_us), n])]
        slots, ended = self.assign_slots([h.track_id for h in result.hands])
        messages += [message(f"{PREFIX}/hand/{slot}/end", "i", [tid]) for slot, tid in ended]
        for hand in result.hands:
            base = f"{PREFIX}/hand/{slots[hand.track_id]}"
            pose = hand.pose
            head = [hand.track_id, pose.handedness.value, float(pose.score), int(hand.lost_frames)]
            messages += [message(base, "isfi", head), floats(f"{base}/joints_mm", pose.joints_xyz_mm)]
            inter = interaction.hands.get(hand.track_id) if interaction is not None else None
            if inter is not None and inter.joints_projector_px is not None:
                messages.append(floats(f"{base}/joints_px", inter.joints_projector_px))
        if interaction is not None:
            messages += [event_message(event) for event in interaction.events]
        return bundle(messages)


class OscOutput:
    """``--osc``: each frame's bundle to one UDP target (never raises into the loop, see :mod:`.udp`)."""

    name = "osc"

    def __init__(self, target: UdpTarget) -> None:
        self.encoder = OscEncoder()
        self.sender = UdpSender(target, "OSC")

    def send(self, result: FrameResult, interaction: InteractionFrame | None) -> None:
        """Encode and send one frame."""
        try:
            datagram = self.encoder.encode(result, interaction)
        except Exception as exc:  # a bad value in one frame must not stop the live loop
            self.sender.fail(exc)
            return
        self.sender.send(datagram)

    def stats(self) -> dict[str, Any]:
        """See :meth:`UdpSender.stats`."""
        return self.sender.stats()

    def close(self) -> None:
        """Close the socket."""
        self.sender.close()
