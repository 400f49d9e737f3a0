"""The fused touch rule and palm rejection: the pose says which fingertip and where, the pixels add their evidence.

**Fused height** (``TouchSettings.rule = "fused"``). Per (hand, finger) a 1-D constant-velocity Kalman filter
tracks the fingertip's height above the surface and its vertical speed. Every frame it takes up to two
measurements:

* the pose: the fingertip joint's height above the plane minus ``fused_pose_level_mm`` (the joint's height when
  the finger touches), noise σ ``fused_pose_sigma_mm``;
* the pixels, when the contact reading is ``ok`` (:func:`depthhand.interact.contact.measure_hand`: the mean
  height of the finger's farthest tip pixels, already corrected by its level at contact), noise σ
  ``pixel_sigma_mm · (1 + a / noise_ref_mm)² · max(1, (z / 1 m)²)`` with ``a`` the surface model's noise
  amplitude (:func:`pixel_sigma`). On clean depth the pixels dominate; on noisy depth (a of 2–25 mm in
  ``touch.stress``) their weight falls and the pose leads. This weighting was tuned for the earlier pixel
  statistic (the lowest pixels of the finger band, biased by the sensor: ToF ≈ 0 mm even hovering, from flying
  pixels); the current reading's own σ (:attr:`~depthhand.interact.contact.ContactReading.sigma_mm`) is not used
  yet.

The filtered height goes through the usual hysteresis + debounce state machine
(:func:`depthhand.interact.touch.step_finger`) with the ``fused_*`` thresholds. **Pixel veto**
(``fused_pixel_veto_mm``): a touch does not *start* in a frame whose pixel reading is above that height, whatever
the filter says. On noisy depth the filter follows the pose, whose lasting offset puts hovering fingertips on the
table; the pixels, too noisy to weigh much, still see them 10–22 mm up (``touch.stress`` hover, `net9`), while at a
true contact they read above 13 mm in ≤ 17 % of the first three frames (structured light 0.8 m; a touch that is
vetoed once usually starts a frame later). Ongoing touches are not vetoed. Off by default (0): it cost recall on
the held-out seed and end to end with the shipped networks (see ``TouchSettings.fused_pixel_veto_mm``).

**Clear veto** (``fused_clear_veto``, on): a touch does not start in a frame whose pixels show no finger near the
table around the fingertip (an ``ok`` reading of height ``inf``); the filter alone would follow the pose there,
whose offset puts a raised thumb beside a tapping index finger on the table. Ongoing touches are not vetoed.

Where the pixels give no reading (occlusion, dropout, the surface model still learning) the pose alone updates
the filter, so the rule degrades to a smoothed pose rule rather than stopping. The touch position is the pixel
contact where the reading is trusted, else the pose contact (:mod:`depthhand.interact.position`).

**Palm rejection** (every rule). A hand *rests* when its palm lies within a palm thickness of the table:
the mean height of its palm joints (wrist and MCPs, ``JointSet.palm``) is below ``palm_rest_mm``, or, with the
pixel and fused rules, the median height of the depth pixels around the palm centre is below
``palm_rest_pixels_mm``. A resting hand fires no touch (its fingers hover at most); it stops resting when the
heights rise above the thresholds plus ``palm_release_mm`` (hysteresis). A tapping hand's palm stays ≥ 38 mm up
even at a 30° finger angle; a flat resting hand's palm joints lie ≈ 26–29 mm up, its palm pixels ≈ 42 mm
(``touch.stress``, seed 0). Two rules keep the rest from leaking touches when the hand moves (both found on the
``palm`` scene, where every touch is false):

* **Re-arm** (``palm_rearm_mm``, :class:`~depthhand.interact.touch.TouchTracker`): a finger of a resting hand is
  disarmed; it can touch again only after its own height has risen above ``palm_rearm_mm``. Without it the thumb
  (lying at or below the table beside the flat palm) fired the moment the palm rose above the rest band.
* **Hold** (``palm_hold_frames``, ``palm_clear_mm``, :meth:`RestState.rejected`): after the palm stops resting the
  hand fires no new touch for ``palm_hold_frames`` frames, unless its palm joints rise above ``palm_clear_mm``
  first. Without it the long fingers of a flat hand lifted a few cm and put down again fired as they landed (with
  the `net9` pose error: palm joints 35–57 mm up and descending at 50–110 mm/s, which a 30° tap also shows, so
  height and speed alone cannot tell them apart; having rested just before can).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, signed_height
from depthhand.skeleton import JointSet

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FusedSettings:
    """Parameters of the fused rule's height filter (see the module docstring).

    Attributes:
        pose_level_mm: The fingertip joint's height above the plane when the finger touches, mm.
        pose_sigma_mm: Smallest noise σ of the pose's fingertip height, mm; the filter estimates the pose's
            noise from its innovations (exponential average of weight ``adapt_rate``) and uses it, clipped to
            ``[pose_sigma_mm, pose_sigma_max_mm]``.
        pose_sigma_max_mm: Largest pose noise σ, mm.
        adapt_rate: Weight of a new innovation in the pose noise estimate (0: fixed ``pose_sigma_mm``).
        pixel_sigma_mm: Noise σ of the pixel height on noise-free depth at ≤ 1 m, mm.
        noise_ref_mm: Surface noise amplitude that doubles the pixel σ's root (see :func:`pixel_sigma`), mm.
        accel_sigma_mm_s2: Process noise: σ of the vertical acceleration, mm/s².
        fps: Frame rate, for the filter's time step.
    """

    pose_level_mm: float = 1.5
    pose_sigma_mm: float = 2.5
    pose_sigma_max_mm: float = 15.0
    adapt_rate: float = 0.05
    pixel_sigma_mm: float = 3.0
    noise_ref_mm: float = 2.0
    accel_sigma_mm_s2: float = 6000.0
    fps: float = 30.0


@dataclass(slots=True)
class HeightFilter:
    """Constant-velocity Kalman filter of one fingertip's height (mm) and vertical speed (mm/s).

    The state and covariance are plain floats (a 2-state filter in numpy costs more in call overhead than in
    arithmetic); :attr:`x` and :attr:`p` give them as arrays.

    Attributes:
        h: Height, mm.
        v: Vertical speed, mm/s.
        p00: Height variance, mm².
        p01: Height-speed covariance, mm²/s.
        p11: Speed variance, mm²/s².
        ready: Whether a first measurement has been taken.
        r_pose: Running estimate of the pose measurement's noise variance, mm² (adaptive R).
    """

    h: float = 0.0
    v: float = 0.0
    p00: float = 1e12
    p01: float = 0.0
    p11: float = 1e12
    ready: bool = False
    r_pose: float = 0.0

    @classmethod
    def new(cls) -> HeightFilter:
        """An empty filter (the first measurement initialises it)."""
        return cls()

    @property
    def x(self) -> F64:
        """(2,) state: height, speed."""
        return np.array([self.h, self.v])

    @property
    def p(self) -> F64:
        """(2, 2) covariance."""
        return np.array([[self.p00, self.p01], [self.p01, self.p11]])

    def predict(self, settings: FusedSettings) -> None:
        """Advance one frame (``x ← F x``, ``P ← F P Fᵀ + Q``, ``F = [[1, dt], [0, 1]]``)."""
        if not self.ready:
            return
        dt = 1.0 / settings.fps
        qa = settings.accel_sigma_mm_s2**2
        self.h += dt * self.v
        p00, p01, p11 = self.p00, self.p01, self.p11
        self.p00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + qa * dt**4 / 4
        self.p01 = p01 + dt * p11 + qa * dt**3 / 2
        self.p11 = p11 + qa * dt**2

    def measure(self, z_mm: float, sigma_mm: float) -> None:
        """Take one height measurement with noise σ, mm (non-finite values are ignored)."""
        if not math.isfinite(z_mm):
            return
        if not self.ready:
            self.h, self.v = float(z_mm), 0.0
            self.p00, self.p01, self.p11 = sigma_mm**2, 0.0, 300.0**2
            self.ready = True
            return
        s = self.p00 + sigma_mm**2
        k0, k1 = self.p00 / s, self.p01 / s
        innov = z_mm - self.h
        self.h += k0 * innov
        self.v += k1 * innov
        p00, p01 = self.p00, self.p01
        self.p00 = p00 - k0 * p00
        self.p11 = self.p11 - k1 * p01
        self.p01 = p01 - k0 * p01

    @property
    def height_mm(self) -> float:
        """Filtered height, mm (inf before the first measurement)."""
        return self.h if self.ready else float("inf")


def fused_height(
    filt: HeightFilter,
    pose_height_mm: float,
    pixel_height_mm: float | None,
    pixel_noise_mm: float,
    settings: FusedSettings,
) -> float:
    """One frame of the fused rule: predict, take the pose and (when given) the pixel height; the filtered height.

    Args:
        filt: The finger's filter (updated in place).
        pose_height_mm: The fingertip joint's height above the plane, mm.
        pixel_height_mm: The pixel reading's height, mm, or ``None`` without one.
        pixel_noise_mm: The surface noise σ at the fingertip scaled to the measurement (see
            :func:`pixel_sigma`), mm.
        settings: Filter parameters.
    """
    filt.predict(settings)
    z = pose_height_mm - settings.pose_level_mm
    if filt.ready and math.isfinite(z) and settings.adapt_rate > 0:
        # the pose's own noise, from its innovations (what the prediction's variance does not explain)
        excess = (z - filt.h) ** 2 - filt.p00
        filt.r_pose = (1 - settings.adapt_rate) * filt.r_pose + settings.adapt_rate * excess
    filt.measure(z, pose_sigma(filt, settings))
    if pixel_height_mm is not None:
        filt.measure(pixel_height_mm, pixel_noise_mm)
    return filt.height_mm


def pose_sigma(filt: HeightFilter, settings: FusedSettings) -> float:
    """The pose noise σ the filter uses now: its estimate, clipped to ``[pose_sigma_mm, pose_sigma_max_mm]``."""
    lo, hi = settings.pose_sigma_mm, settings.pose_sigma_max_mm
    return math.sqrt(min(max(filt.r_pose, lo * lo), hi * hi))


def pixel_sigma(depth_mm: float, noise_amplitude_mm: float, settings: FusedSettings) -> float:
    """Noise σ of a pixel height reading, mm: ``pixel_sigma_mm · (1 + a / noise_ref_mm)² · max(1, (z / 1 m)²)``.

    Args:
        depth_mm: The fingertip's depth, mm.
        noise_amplitude_mm: The surface model's noise amplitude ``a``, mm.
        settings: Filter parameters.
    """
    grow = (1.0 + max(noise_amplitude_mm, 0.0) / settings.noise_ref_mm) ** 2
    return settings.pixel_sigma_mm * grow * max(1.0, (depth_mm / 1000.0) ** 2)


def palm_joint_height(joints_xyz_mm: npt.NDArray[np.floating], joint_set: JointSet, plane: Plane) -> float:
    """Mean height of a hand's palm joints (``joint_set.palm``) above the plane, mm (NaN when none are finite)."""
    j = np.asarray(joints_xyz_mm, dtype=np.float64)[list(joint_set.palm)]
    j = j[np.all(np.isfinite(j), axis=1)]
    return float(np.mean(signed_height(j, plane))) if len(j) else float("nan")


@dataclass
class RestState:
    """Per-hand palm-rejection state with hysteresis, and the hold after a rest (see the module docstring).

    Attributes:
        resting: Hand id → whether it rests on the table now.
        hold: Hand id → frames its touches stay rejected after its palm stopped resting (0: none).
    """

    resting: dict[int, bool]
    hold: dict[int, int] = field(default_factory=dict)

    def update(
        self, hand_id: int, pose_mm: float, pixels_mm: float | None, rest_mm: float, rest_px_mm: float, release: float
    ) -> bool:
        """Whether the hand rests this frame (see the module docstring)."""
        was = self.resting.get(hand_id, False)
        margin = release if was else 0.0
        low = np.isfinite(pose_mm) and pose_mm < rest_mm + margin
        if pixels_mm is not None and np.isfinite(pixels_mm):
            low = low or pixels_mm < rest_px_mm + margin
        self.resting[hand_id] = bool(low)
        return bool(low)

    def rejected(self, hand_id: int, pose_mm: float, hold_frames: int, clear_mm: float) -> bool:
        """Whether the hand's touches are rejected this frame: it rests, or rested and has not lifted clear yet.

        Call after :meth:`update`. A resting hand (re)starts a hold of ``hold_frames`` frames; the hold ends early
        when the palm joints rise above ``clear_mm`` (pose height, mm).
        """
        if self.resting.get(hand_id, False):
            self.hold[hand_id] = hold_frames
            return True
        left = self.hold.get(hand_id, 0)
        if left <= 0 or (np.isfinite(pose_mm) and pose_mm > clear_mm):
            self.hold.pop(hand_id, None)
            return False
        self.hold[hand_id] = left - 1
        return True

    def forget(self, keep: set[int]) -> None:
        """Drop the hands not in ``keep``."""
        for h in [h for h in self.resting if h not in keep]:
            del self.resting[h]
        for h in [h for h in self.hold if h not in keep]:
            del self.hold[h]
