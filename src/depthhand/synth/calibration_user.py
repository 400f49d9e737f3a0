"""A scripted user who touches each calibration target the projector shows: the calibration walk-through, unattended.

The user reads the active calibration session (the targets the page shows, and how many points it has taken),
maps each target back onto the table through a known "true" projector homography of the scripted installation,
hovers over it, touches it for half a second and lifts, then waits for the page to advance. With the scripted
scene (:mod:`depthhand.synth.scripted`) this is an end-to-end check of calibration without a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from depthhand.geometry.projector import apply_homography, fit_homography, invert_homography
from depthhand.synth.scripted import REST_TIP_HEIGHT_MM, HandScriptPose

if TYPE_CHECKING:
    from depthhand.interact.calibration import Calibration

PROJECTOR_SIZE = (1280, 800)
"""Projector image of the scripted installation, (width, height) px."""
TABLE_CORNERS_AB_MM = np.array([[-180.0, -110.0], [180.0, -115.0], [190.0, 120.0], [-185.0, 110.0]])
"""Plane-local (a, b) mm of the projector image's corners on the table (a slightly keystoned quad)."""

SessionFn = Callable[[], Mapping[str, Any] | None]
"""Returns the calibration session as the server stores it (``active``, ``targets`` px, ``points``), or None."""


def true_projector_homography() -> np.ndarray:
    """(3, 3) plane-local (a, b) mm → projector px of the scripted installation."""
    w, h = PROJECTOR_SIZE
    return fit_homography(TABLE_CORNERS_AB_MM, np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]))


def calibration_user(session: SessionFn, fps: float) -> Iterator[HandScriptPose]:
    """Postures, one per frame, of a user touching the session's targets one after another.

    Args:
        session: Reads the current calibration session (see :data:`SessionFn`).
        fps: Frame rate (the touch timing is in seconds).
    """
    h_inv = invert_homography(true_projector_homography())
    current = -1
    t_since = 0.0
    while True:
        state = session() or {}
        targets = state.get("targets", [])
        done = len(state.get("points", []))
        if state.get("active") and done < len(targets):
            if done != current:
                current, t_since = done, 0.0
            ab = apply_homography(h_inv, np.asarray(targets[done], dtype=np.float64))
            # 0.5 s hover, 0.25 s down, 0.5 s touch, 0.25 s up, then wait hovering for the page to advance
            phase = t_since
            if phase < 0.5 or phase > 1.5:
                tip = 35.0
            elif phase < 0.75:
                tip = 35.0 * (0.75 - phase) / 0.25
            elif phase < 1.25:
                tip = 0.0
            else:
                tip = 35.0 * (phase - 1.25) / 0.25
            t_since += 1.0 / fps
        else:
            ab, tip = np.array([0.0, -60.0]), 40.0
        tips = (REST_TIP_HEIGHT_MM, tip, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM)
        yield HandScriptPose((float(ab[0]), float(ab[1])), 75.0, tips)


def scripted_calibration() -> Calibration:
    """The true calibration of the scripted installation: its table plane and :func:`true_projector_homography`.

    What a perfect calibration session on the scripted scene would store (``scripted://…`` sources); for runs and
    tests that need projector coordinates without a session first (``depthhand run --calibration``).
    """
    from depthhand.interact.calibration import Calibration
    from depthhand.synth.scripted import default_scene

    plane, _ = default_scene()
    return Calibration(PROJECTOR_SIZE, plane, true_projector_homography(), created_utc="scripted installation (truth)")
