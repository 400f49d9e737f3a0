"""Per-finger hover / touch state machine with hysteresis and debounce.

Each (hand id, finger) pair follows the states ``none → hover → touch`` (reference §2.3):

=====================  ==========================================================================
change                 condition (defaults in :class:`TouchSettings`, tuned for an Astra at ≈1 m)
=====================  ==========================================================================
none → hover           height < ``hover_enter_mm`` (60)
hover → touch          height < ``touch_enter_mm`` (10) for ``touch_debounce_frames`` (2) frames
touch → hover          height > ``touch_exit_mm`` (18) for ``touch_release_frames`` (1) frames
hover → none           height ≥ ``hover_exit_mm`` (70), or the hand missing > ``lost_frames`` (3)
=====================  ==========================================================================

The gap between the enter and exit thresholds is the hysteresis that keeps depth noise (σ ≈ 1–3 mm) from making
a resting finger flicker. Every contact (a touch from down to up, a hover from enter to leave) gets a
``contact_id`` that stays the same for all its events; ids are never reused within a tracker.

Three rules give a finger's height: ``pose`` (the pose's fingertip joint above the fitted plane), ``pixels``
(the depth pixels of the fingertip above the per-pixel surface, :mod:`depthhand.interact.contact`) and ``fused``
(both, in a Kalman filter of height and vertical speed: :mod:`depthhand.interact.fused`), each with its own
thresholds (``touch_*``, ``pixel_*``, ``fused_*``). With ``rule="pixels"`` a finger falls back to the pose rule
while the surface model is learning or its pixels are missing; with ``rule="fused"`` the pose alone feeds the
filter then. Every event says which rule made it (``rule``). With every rule a hand whose palm rests on the table
fires no touch (palm rejection, :mod:`depthhand.interact.fused`).

The original system's "deepest fingertip" marker is :func:`lowest_fingertip` with
``Plane.facing_camera(...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, signed_height
from depthhand.interact.contact import ContactReading
from depthhand.interact.events import EventType as EventType  # re-exported
from depthhand.interact.events import InteractionEvent as InteractionEvent  # re-exported
from depthhand.interact.events import TouchState as TouchState  # re-exported
from depthhand.interact.fused import HeightFilter, fused_height, pixel_sigma, pose_sigma
from depthhand.interact.position import locate
from depthhand.interact.touch_settings import RULES as RULES  # re-exported
from depthhand.interact.touch_settings import TouchSettings as TouchSettings  # re-exported
from depthhand.skeleton import Finger, JointSet


@dataclass(frozen=True, slots=True)
class FingerState:
    """State of one (hand, finger) pair.

    Attributes:
        state: Current state.
        below_count: Consecutive frames below ``touch_enter_mm`` (debounce counter).
        contact_id: Id of the current hover/touch contact (0 when none).
        missing: Consecutive frames the hand was absent.
        height_mm: Last height, mm.
        above_count: Consecutive touching frames above the exit threshold (release debounce counter).
    """

    state: TouchState = TouchState.NONE
    below_count: int = 0
    contact_id: int = 0
    missing: int = 0
    height_mm: float = float("inf")
    above_count: int = 0


def step_finger(
    prev: FingerState, height_mm: float, settings: TouchSettings, touch_exit_mm: float | None = None
) -> tuple[FingerState, list[EventType], bool]:
    """Advance one finger's state machine by one frame (pure).

    Args:
        prev: The state after the previous frame.
        height_mm: This frame's fingertip height above the plane, mm (NaN counts as far away).
        settings: Thresholds.
        touch_exit_mm: Overrides ``settings.touch_exit_mm`` (the fused rule's band widened by the pose noise).

    Returns:
        ``(next_state, event_types, new_contact)``: the events in order (e.g. ``[TOUCH_UP, HOVER_LEAVE]``) and
        whether a new contact id must be assigned (on ``hover_enter`` and on ``touch_down``).
    """
    h = height_mm if math.isfinite(height_mm) else float("inf")
    exit_mm = settings.touch_exit_mm if touch_exit_mm is None else touch_exit_mm
    below = prev.below_count + 1 if h < settings.touch_enter_mm else 0
    above = prev.above_count + 1 if prev.state is TouchState.TOUCH and h > exit_mm else 0
    state = prev.state
    events: list[EventType] = []
    new_contact = False
    if state is TouchState.NONE and h < settings.hover_enter_mm:
        state, new_contact = TouchState.HOVER, True
        events.append(EventType.HOVER_ENTER)
    if state is TouchState.HOVER:
        if below >= settings.touch_debounce_frames:
            if events:  # entered hover and touched in one frame: the touch gets its own contact
                events.clear()
            state, new_contact = TouchState.TOUCH, True
            events.append(EventType.TOUCH_DOWN)
        elif h >= settings.hover_exit_mm:
            state = TouchState.NONE
            events.append(EventType.HOVER_LEAVE)
        elif settings.emit_move_events and not events:
            events.append(EventType.HOVER_MOVE)
    elif state is TouchState.TOUCH and not new_contact:
        if h > exit_mm and (above >= settings.touch_release_frames or h >= settings.hover_exit_mm):
            events.append(EventType.TOUCH_UP)
            if h >= settings.hover_exit_mm:
                state = TouchState.NONE
            else:
                state, new_contact = TouchState.HOVER, True
                events.append(EventType.HOVER_ENTER)
        elif settings.emit_move_events:
            events.append(EventType.TOUCH_MOVE)
    return FingerState(state, below, prev.contact_id, 0, h, above), events, new_contact


_NO_STATE = FingerState()


def point_height(xyz: npt.NDArray[np.float64], plane: Plane) -> float:
    """Signed height of one (3,) point above the plane, mm (:func:`signed_height` without the array overhead)."""
    n = plane.normal
    return float(xyz[0]) * float(n[0]) + float(xyz[1]) * float(n[1]) + float(xyz[2]) * float(n[2]) + plane.offset_mm


def end_contact(prev: FingerState) -> list[EventType]:
    """Events that close a finger's open contact (hand lost): ``touch_up`` or ``hover_leave``."""
    if prev.state is TouchState.TOUCH:
        return [EventType.TOUCH_UP]
    if prev.state is TouchState.HOVER:
        return [EventType.HOVER_LEAVE]
    return []


@dataclass
class TouchTracker:
    """Runs :func:`step_finger` for every (hand id, finger) over time and numbers events and contacts.

    Attributes:
        settings: Thresholds.
        states: Current state per (hand id, finger).
        rules: The rule that decided each (hand id, finger) last.
    """

    settings: TouchSettings = field(default_factory=TouchSettings)
    states: dict[tuple[int, Finger], FingerState] = field(default_factory=dict)
    rules: dict[tuple[int, Finger], str] = field(default_factory=dict)
    _last_xyz: dict[tuple[int, Finger], npt.NDArray[np.float64]] = field(default_factory=dict)
    _filters: dict[tuple[int, Finger], HeightFilter] = field(default_factory=dict)
    _pix_avg: dict[tuple[int, Finger], float] = field(default_factory=dict)
    _by_rule: dict[str, TouchSettings] = field(default_factory=dict)
    _disarmed: set[tuple[int, Finger]] = field(default_factory=set)
    _seen_frames: dict[int, int] = field(default_factory=dict)
    _next_event: int = 1
    _next_contact: int = 1

    def reported_xyz(self, key: tuple[int, Finger]) -> npt.NDArray[np.float64] | None:
        """Where the last frame reported ``(hand id, finger)`` (``None``: a finger not tracked).

        That is its touch point while it touches, else its fingertip.
        """
        return self._last_xyz.get(key)

    def _note_seen(
        self,
        tips_xyz_mm: dict[int, dict[Finger, npt.NDArray[np.float64]]],
        pixels: dict[tuple[int, Finger], ContactReading],
    ) -> None:
        """Per hand: frames left while its pixels count as resolving its fingers (the clear veto applies then).

        Any finite reading of any of its fingers sets it to ``fused_clear_seen_frames``; each frame without one
        counts it down.
        """
        for hand_id in set(tips_xyz_mm) | set(self._seen_frames):  # hands gone count down too, then are dropped
            measured = hand_id in tips_xyz_mm and any(
                (r := pixels.get((hand_id, f))) is not None and r.ok and math.isfinite(r.height_mm)
                for f in self.settings.fingers
            )
            left = self.settings.fused_clear_seen_frames if measured else self._seen_frames.get(hand_id, 0) - 1
            if left > 0:
                self._seen_frames[hand_id] = left
            else:
                self._seen_frames.pop(hand_id, None)

    def _event(
        self,
        etype: EventType,
        key: tuple[int, Finger],
        contact: int,
        t_us: int,
        xyz: npt.NDArray[np.float64],
        h: float,
        rule: str = "pose",
    ) -> InteractionEvent:
        p = (float(xyz[0]), float(xyz[1]), float(xyz[2]))
        ev = InteractionEvent(etype, self._next_event, contact, key[0], key[1], t_us, p, h, rule=rule)
        self._next_event += 1
        return ev

    def _rule_settings(self, rule: str) -> TouchSettings:
        """The settings a rule's state machine runs with (cached; recomputed when ``settings`` is replaced)."""
        if self._by_rule.get("_base") is not self.settings:
            self._by_rule = {"_base": self.settings}
        if rule not in self._by_rule:
            self._by_rule[rule] = self._make_rule_settings(rule)
        return self._by_rule[rule]

    def _make_rule_settings(self, rule: str) -> TouchSettings:
        s = self.settings
        if rule == "pixels":
            return replace(
                s, touch_enter_mm=s.pixel_enter_mm, touch_exit_mm=s.pixel_exit_mm,
                touch_debounce_frames=s.pixel_debounce_frames, height_smoothing=1.0,
                touch_release_frames=s.pixel_release_frames,
            )  # fmt: skip
        return replace(
            s, touch_enter_mm=s.fused_enter_mm, touch_exit_mm=s.fused_exit_mm,
            touch_debounce_frames=s.fused_debounce_frames, height_smoothing=1.0,
        )  # fmt: skip

    def _fused(
        self, key: tuple[int, Finger], xyz: npt.NDArray[np.float64], plane: Plane, reading: ContactReading | None
    ) -> float:
        """The fused rule's filtered height for one finger."""
        s = self.settings
        filt = self._filters.setdefault(key, HeightFilter.new())
        ok = reading is not None and reading.ok and np.isfinite(reading.height_mm)
        pix = reading.height_mm if ok and reading is not None else None
        sigma = pixel_sigma(float(xyz[2]), reading.noise_mm if reading is not None else 0.0, s.fused)
        return fused_height(filt, point_height(xyz, plane), pix, sigma, s.fused)

    def _pixel_height(self, key: tuple[int, Finger], height_mm: float) -> float:
        """The pixel rule's smoothed height (EWMA of weight ``pixel_smoothing``; DIRECT: 0.5), mm."""
        alpha = self.settings.pixel_smoothing
        prev = self._pix_avg.get(key)
        h = height_mm
        if prev is not None and math.isfinite(prev) and math.isfinite(h) and alpha < 1:
            h = alpha * h + (1 - alpha) * prev
        self._pix_avg[key] = h
        return h

    def update(
        self,
        tips_xyz_mm: dict[int, dict[Finger, npt.NDArray[np.float64]]],
        plane: Plane,
        t_us: int,
        pixels: dict[tuple[int, Finger], ContactReading] | None = None,
        resting: set[int] | None = None,
        contacts_xyz_mm: dict[int, dict[Finger, npt.NDArray[np.float64]]] | None = None,
    ) -> list[InteractionEvent]:
        """Process one frame.

        Args:
            tips_xyz_mm: hand id → finger → (3,) fingertip in camera mm, for the hands seen in this frame.
            plane: The table.
            t_us: Capture time, µs.
            pixels: Pixel readings per (hand id, finger). Pixel rule: a finger with an ``ok`` reading is decided by
                it (a resting blob never touches), the others by the pose. Fused rule: the readings feed the filter.
            resting: Hands whose palm rests on the table (palm rejection): their fingers hover at most.
            contacts_xyz_mm: hand id → finger → (3,) the pose contact on the plane (:mod:`depthhand.interact.position`),
                camera mm: where the pose rule reports a touch, and the fused rule where the pixels are not trusted
                (:func:`~depthhand.interact.position.locate`); without it, the fingertip.

        Returns:
            This frame's events, without projector coordinates (see :class:`~depthhand.interact.engine.Interaction`).
        """
        events: list[InteractionEvent] = []
        fused = self.settings.rule == "fused"
        pixel_settings = self._rule_settings("pixels") if pixels else self.settings
        fused_settings = self._rule_settings("fused") if fused else self.settings
        s_veto = self.settings.fused_pixel_veto_mm
        if fused and self.settings.fused_clear_veto:
            self._note_seen(tips_xyz_mm, pixels or {})
        for hand_id, tips in tips_xyz_mm.items():
            for finger in self.settings.fingers:
                if finger not in tips:
                    continue
                key = (hand_id, finger)
                xyz = np.asarray(tips[finger], dtype=np.float64)
                prev = self.states.get(key, _NO_STATE)
                reading = pixels.get(key) if pixels else None
                at = (
                    contacts_xyz_mm[hand_id].get(finger, xyz) if contacts_xyz_mm and hand_id in contacts_xyz_mm else xyz
                )
                exit_mm = None
                if fused:
                    rule, settings = "fused", fused_settings
                    h, at = self._fused(key, xyz, plane, reading), locate(reading, at, self.settings)
                    band = settings.fused_enter_mm + settings.fused_band_sigmas * pose_sigma(
                        self._filters[key], settings.fused
                    )
                    exit_mm = max(band, settings.touch_exit_mm)
                elif reading is not None and reading.ok:
                    rule, settings = "pixels", pixel_settings
                    h = self._pixel_height(key, reading.height_mm)
                    exit_mm = max(
                        settings.touch_exit_mm, settings.touch_enter_mm + settings.pixel_band_sigmas * reading.sigma_mm
                    )
                    if reading.resting:  # a resting finger / palm: hovering at most, never touching
                        h = max(h, settings.touch_exit_mm + 1.0)
                    if reading.xyz_mm is not None:
                        at = np.asarray(reading.xyz_mm, dtype=np.float64)
                else:
                    rule, settings = "pose", self.settings
                    self._pix_avg.pop(key, None)
                    h = point_height(xyz, plane)
                    alpha = settings.height_smoothing
                    if alpha < 1 and np.isfinite(prev.height_mm) and np.isfinite(h):
                        h = alpha * h + (1 - alpha) * prev.height_mm
                veto = s_veto > 0 and fused and prev.state is not TouchState.TOUCH
                if veto and reading is not None and reading.ok and reading.height_mm > s_veto:
                    h = max(h, settings.touch_enter_mm)  # the pixels see it hover: no touch starts this frame
                clear = fused and self.settings.fused_clear_veto and prev.state is not TouchState.TOUCH
                clear = clear and self._seen_frames.get(hand_id, 0) > 0  # the pixels do resolve this hand's fingers
                if clear and reading is not None and reading.ok and reading.height_mm == math.inf:
                    h = max(h, settings.touch_enter_mm)  # no finger near the table there: no touch starts
                rests = resting is not None and hand_id in resting
                if rests and self.settings.palm_rearm_mm > 0:
                    self._disarmed.add(key)
                elif key in self._disarmed and not h <= self.settings.palm_rearm_mm:
                    self._disarmed.discard(key)  # lifted clear of the table after the rest: armed again
                if rests or key in self._disarmed:  # a resting palm: its fingers hover at most
                    h = max(h, (settings.touch_exit_mm if exit_mm is None else exit_mm) + 1.0)
                nxt, etypes, new_contact = step_finger(prev, h, settings, exit_mm)
                contact = prev.contact_id
                for etype in etypes:
                    if etype in (EventType.HOVER_ENTER, EventType.TOUCH_DOWN) and new_contact:
                        contact = self._next_contact
                        self._next_contact += 1
                    where = at if etype in (EventType.TOUCH_DOWN, EventType.TOUCH_MOVE) else xyz
                    events.append(self._event(etype, key, contact, t_us, where, h, rule))
                cid = contact if nxt.state is not TouchState.NONE else 0
                self.states[key] = FingerState(
                    nxt.state, nxt.below_count, cid, nxt.missing, nxt.height_mm, nxt.above_count
                )
                self._last_xyz[key] = at if nxt.state is TouchState.TOUCH else xyz
                self.rules[key] = rule
        for key, st in list(self.states.items()):
            if key[0] in tips_xyz_mm:
                continue
            missing = st.missing + 1
            if missing > self.settings.lost_frames:
                xyz = self._last_xyz.get(key, np.zeros(3))
                rule = self.rules.get(key, "pose")
                events.extend(
                    self._event(e, key, st.contact_id, t_us, xyz, st.height_mm, rule) for e in end_contact(st)
                )
                del self.states[key]
                self._last_xyz.pop(key, None)
                self._filters.pop(key, None)
                self._pix_avg.pop(key, None)
                self._disarmed.discard(key)
            else:
                self.states[key] = replace(st, missing=missing)
        return events


def fingertips(joints_xyz_mm: npt.NDArray[np.floating], joint_set: JointSet) -> dict[Finger, npt.NDArray[np.float64]]:
    """Fingertip positions of one hand by finger name, (3,) camera mm each."""
    return {finger: np.asarray(joints_xyz_mm[idx], dtype=np.float64) for finger, idx in joint_set.tips}


def lowest_fingertip(
    joints_xyz_mm: npt.NDArray[np.floating], joint_set: JointSet, plane: Plane
) -> tuple[Finger, float]:
    """The fingertip nearest the surface and its height, mm.

    With ``Plane.facing_camera(d)`` this is the original system's "deepest fingertip" (largest z).
    """
    tips = fingertips(joints_xyz_mm, joint_set)
    heights = {f: float(signed_height(p, plane)) for f, p in tips.items()}
    finger = min(heights, key=lambda f: heights[f])
    return finger, heights[finger]
