"""Pinch detection from the thumb–index fingertip distance, with hysteresis.

A pinch starts when the distance drops below ``start_mm`` (≈25 mm) and ends above ``end_mm`` (≈40 mm), like
Ultraleap's ``pinch_distance``; ``strength`` is a continuous 0–1 value (1 at ``start_mm`` or closer, 0 at
``zero_strength_mm`` or farther) similar to its ``pinch_strength``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class PinchSettings:
    """Pinch thresholds, mm.

    Attributes:
        start_mm: Pinch starts below this thumb–index distance.
        end_mm: Pinch ends above this distance (> ``start_mm``).
        zero_strength_mm: Distance at which ``strength`` reaches 0.
        lost_frames: A hand missing for more frames than this ends its pinch.
    """

    start_mm: float = 25.0
    end_mm: float = 40.0
    zero_strength_mm: float = 80.0
    lost_frames: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.start_mm < self.end_mm <= self.zero_strength_mm:
            raise ValueError(
                f"PinchSettings must satisfy 0 < start_mm < end_mm <= zero_strength_mm, got {self.start_mm}, "
                f"{self.end_mm}, {self.zero_strength_mm}"
            )


def pinch_strength(distance_mm: float, settings: PinchSettings) -> float:
    """0–1 pinch strength from the thumb–index distance (1 = closed)."""
    s = (settings.zero_strength_mm - distance_mm) / (settings.zero_strength_mm - settings.start_mm)
    return float(np.clip(s, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class PinchReading:
    """Pinch status of one hand in one frame.

    Attributes:
        active: Pinching now.
        strength: 0–1 strength.
        distance_mm: Thumb–index tip distance, mm.
        midpoint_xyz_mm: (3,) midpoint of the two tips, camera mm.
        started: The pinch started this frame.
        ended: The pinch ended this frame.
        contact_id: Id of the current (or just ended) pinch, 0 when none.
    """

    active: bool
    strength: float
    distance_mm: float
    midpoint_xyz_mm: tuple[float, float, float]
    started: bool = False
    ended: bool = False
    contact_id: int = 0


@dataclass
class PinchTracker:
    """Pinch state per hand id over time."""

    settings: PinchSettings = field(default_factory=PinchSettings)
    _active: dict[int, int] = field(default_factory=dict)  # hand id → contact id
    _missing: dict[int, int] = field(default_factory=dict)
    _next_contact: int = 1

    def update(
        self, hand_id: int, thumb_tip_xyz_mm: npt.NDArray[np.floating], index_tip_xyz_mm: npt.NDArray[np.floating]
    ) -> PinchReading:
        """Process one hand seen in this frame."""
        a = np.asarray(thumb_tip_xyz_mm, dtype=np.float64)
        b = np.asarray(index_tip_xyz_mm, dtype=np.float64)
        dist = float(np.linalg.norm(a - b))
        mid = (a + b) / 2
        mid_t = (float(mid[0]), float(mid[1]), float(mid[2]))
        self._missing[hand_id] = 0
        contact = self._active.get(hand_id, 0)
        started = ended = False
        if contact == 0 and dist < self.settings.start_mm:
            contact = self._next_contact
            self._next_contact += 1
            self._active[hand_id] = contact
            started = True
        elif contact and dist > self.settings.end_mm:
            del self._active[hand_id]
            ended = True
        active = hand_id in self._active
        return PinchReading(active, pinch_strength(dist, self.settings), dist, mid_t, started, ended, contact)

    def end_missing(self, seen_hand_ids: set[int]) -> list[tuple[int, int]]:
        """Count frames for absent hands; return ``(hand_id, contact_id)`` of pinches ended by a lost hand."""
        ended = []
        for hand_id in list(self._missing):
            if hand_id in seen_hand_ids:
                continue
            self._missing[hand_id] += 1
            if self._missing[hand_id] > self.settings.lost_frames:
                del self._missing[hand_id]
                contact = self._active.pop(hand_id, 0)
                if contact:
                    ended.append((hand_id, contact))
        return ended
