"""A scripted user of the projector page (``/projector``): presses its buttons and paints, in a loop.

Every gesture is given in projector pixels of the scripted installation and mapped back onto the table through
its true projector homography (:func:`~depthhand.synth.calibration_user.true_projector_homography`), so a page
that maps touches through the true calibration draws them exactly there. After :data:`START_S` of hovering, one
cycle of :data:`PAINT_CYCLE` (≈ 6.3 s at any frame rate) follows another: clear, pick green, tap two dots, drag a
line, switch the eraser on, erase the first dot, switch the eraser off, tap a third dot. A page that connects late
sees the next cycle whole (each starts with the clear).

The toolbar positions mirror the layout of ``serve/static/depthhand/projector.js`` (:data:`BUTTONS`; the page
exposes its rectangles, and the browser test checks that each scripted press lands inside the right one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depthhand.geometry.projector import apply_homography, invert_homography
from depthhand.synth.calibration_user import PROJECTOR_SIZE, true_projector_homography
from depthhand.synth.scripted import REST_TIP_HEIGHT_MM, HandScriptPose, ScriptFn

BUTTONS = ("clear", "red", "green", "blue", "yellow", "erase")
"""The page's toolbar, left to right along the top edge."""
BUTTON_ORIGIN_PX = (24.0, 24.0)
BUTTON_SIZE_PX = (110.0, 70.0)
BUTTON_GAP_PX = 16.0
"""Toolbar layout for a 1280 × 800 projector (the page scales it by ``min(width / 1280, height / 800)``)."""
HOVER_TIP_MM = 35.0
"""Index fingertip height between gestures, mm (a hover: below the 60 mm hover threshold, above a touch)."""
APPROACH_S, DESCEND_S, TOUCH_S, LIFT_S = 0.1, 0.12, 0.25, 0.13
"""A tap: hover over the spot, lower the finger, rest on the table, lift (seconds)."""
DRAG_MOVE_S = 0.5
"""A drag slides the resting finger from its start to its end in this long (after ``TOUCH_S / 3`` at rest)."""
LEAD_S = 0.3
"""Hovering over the middle of the table at the start of each cycle."""
START_S = 5.0
"""The user steps up this long after the source starts (a page opened meanwhile sees the first cycle whole)."""


def button_center_px(name: str) -> tuple[float, float]:
    """Centre of a toolbar button on the scripted 1280 × 800 projector, px."""
    i = BUTTONS.index(name)
    x0, y0 = BUTTON_ORIGIN_PX
    w, h = BUTTON_SIZE_PX
    return (x0 + i * (w + BUTTON_GAP_PX) + w / 2, y0 + h / 2)


@dataclass(frozen=True, slots=True)
class Gesture:
    """One touch of the scripted user.

    Attributes:
        start_px: Where the fingertip comes down, projector px.
        end_px: Where it lifts (a drag when it differs from ``start_px``), projector px.
        label: What the gesture is for (``"button:green"``, ``"dot A"``, ...).
    """

    start_px: tuple[float, float]
    end_px: tuple[float, float]
    label: str

    @property
    def is_drag(self) -> bool:
        """Whether the finger slides while down."""
        return self.start_px != self.end_px

    @property
    def duration_s(self) -> float:
        """Approach, descent, contact (and slide), lift, s."""
        return APPROACH_S + DESCEND_S + TOUCH_S + LIFT_S + (DRAG_MOVE_S if self.is_drag else 0.0)


def _tap(px: tuple[float, float], label: str) -> Gesture:
    return Gesture(px, px, label)


DOT_A_PX, DOT_B_PX, DOT_E_PX = (400.0, 450.0), (900.0, 300.0), (700.0, 520.0)
DRAG_PX = ((300.0, 650.0), (1000.0, 600.0))
PAINT_CYCLE: tuple[Gesture, ...] = (
    _tap(button_center_px("clear"), "button:clear"),
    _tap(button_center_px("green"), "button:green"),
    _tap(DOT_A_PX, "dot A"),
    _tap(DOT_B_PX, "dot B"),
    Gesture(DRAG_PX[0], DRAG_PX[1], "drag"),
    _tap(button_center_px("erase"), "button:erase"),
    _tap(DOT_A_PX, "erase A"),
    _tap(button_center_px("erase"), "button:erase"),
    _tap(DOT_E_PX, "dot E"),
)
"""One cycle of the paint script (projector px of the scripted 1280 × 800 installation)."""


def cycle_duration_s(cycle: tuple[Gesture, ...] = PAINT_CYCLE) -> float:
    """Length of one cycle, s."""
    return LEAD_S + sum(g.duration_s for g in cycle)


def _gesture_at(phase: float, g: Gesture) -> tuple[tuple[float, float], float]:
    """(projector px under the fingertip, fingertip height mm) at ``phase`` s into gesture ``g``."""
    t = phase - APPROACH_S
    if t < 0:
        return g.start_px, HOVER_TIP_MM
    if t < DESCEND_S:
        return g.start_px, HOVER_TIP_MM * (1 - t / DESCEND_S)
    t -= DESCEND_S
    rest = TOUCH_S + (DRAG_MOVE_S if g.is_drag else 0.0)
    if t < rest:
        if not g.is_drag:
            return g.start_px, 0.0
        f = float(np.clip((t - TOUCH_S / 3) / DRAG_MOVE_S, 0.0, 1.0))
        x = g.start_px[0] + f * (g.end_px[0] - g.start_px[0])
        y = g.start_px[1] + f * (g.end_px[1] - g.start_px[1])
        return (x, y), 0.0
    t -= rest
    return g.end_px, HOVER_TIP_MM * min(1.0, t / LIFT_S)


def paint_script(cycle: tuple[Gesture, ...] = PAINT_CYCLE, start_s: float = START_S) -> ScriptFn:
    """The projector page's scripted user: one right hand hovering for ``start_s``, then playing ``cycle`` forever.

    Args:
        cycle: The gestures of one cycle, projector px of the scripted installation (:data:`PROJECTOR_SIZE`).
        start_s: Hovering before the first cycle, s.
    """
    h_inv = invert_homography(true_projector_homography())
    period = cycle_duration_s(cycle)
    park = (PROJECTOR_SIZE[0] / 2, PROJECTOR_SIZE[1] * 0.4)

    def script(t: float) -> list[HandScriptPose]:
        phase = (t - start_s) % period
        px, tip = park, HOVER_TIP_MM
        if t >= start_s and phase >= LEAD_S:
            phase -= LEAD_S
            for g in cycle:
                if phase < g.duration_s:
                    px, tip = _gesture_at(phase, g)
                    break
                phase -= g.duration_s
        ab = apply_homography(h_inv, np.asarray(px, dtype=np.float64))
        tips = (REST_TIP_HEIGHT_MM, tip, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM)
        return [HandScriptPose((float(ab[0]), float(ab[1])), 75.0, tips)]

    return script
