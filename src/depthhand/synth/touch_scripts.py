"""Per-condition motion scripts of the touch stress scenes (:mod:`depthhand.synth.touch_scenes`).

A script maps time (s, after the warm-up) to a :class:`_Pose`: template pose (joint angles), table position, yaw,
finger angle (pitch) and clearance above the table. This module holds the hand poses the conditions use, the
scripts themselves (tap, hover, drag, pinch, palm), the placement of a script pose on the table rig and
:func:`finger_angle_deg`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import Finger
from depthhand.structures import Handedness
from depthhand.synth.hand_model import NUM_DOF, Dof, HandShape, clamp_to_limits
from depthhand.synth.kinematics import HandState, forward_kinematics
from depthhand.synth.pose_prior import TEMPLATES

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Pose:
    """What a script says for one instant (world frame: table z = 0, the user at −y)."""

    angles: F64
    xy_w: F64
    yaw_deg: float
    pitch_deg: float
    clearance_mm: float
    level: tuple[int, int] | None = None  # tip-sphere indices (0 thumb … 4 pinky) to bring to the same height
    roll_deg: float = 0.0
    thumb_under: bool = False  # place by the lowest non-thumb point (a flat hand's thumb tucks under the table)


Script = Callable[[float], "_Pose"]


def _angles(name: str, rng: np.random.Generator, jitter_deg: float = 3.0) -> F64:
    return clamp_to_limits(TEMPLATES[name] + rng.normal(0, jitter_deg, NUM_DOF))


def _point_angles(rng: np.random.Generator) -> tuple[F64, float]:
    """A tapping hand (index pointing down, thumb tucked, others curled) and its pitch, degrees.

    The index's distal phalanx meets the table at ≈ pitch + MCP flexion + 15° = 55–68°; the curled middle
    finger's knuckle stays ≥ 5 mm above the table while the index touches.
    """
    a = _angles("touch_point", rng, 2.0)
    a[Dof.THUMB_CMC_FLEX : Dof.THUMB_IP + 1] = (40.0, 0.0, 55.0, 40.0)
    a[Dof.INDEX_MCP_FLEX : Dof.INDEX_DIP + 1] = (float(rng.uniform(20, 28)), 0.0, 10.0, 5.0)
    return clamp_to_limits(a), float(rng.uniform(18, 25))


def _pinch_angles(closed: float) -> F64:
    """Thumb and index spread (0) … pinched together (1); other fingers curled."""
    open_, shut = TEMPLATES["touch_point"].copy(), TEMPLATES["pinch"].copy()
    open_[Dof.THUMB_CMC_FLEX : Dof.THUMB_IP + 1] = (-25.0, 45.0, 0.0, 5.0)
    open_[Dof.INDEX_MCP_FLEX : Dof.INDEX_DIP + 1] = (10.0, 0.0, 10.0, 5.0)
    a = open_.copy()
    for d in (*range(Dof.THUMB_CMC_FLEX, Dof.THUMB_IP + 1), *range(Dof.INDEX_MCP_FLEX, Dof.INDEX_DIP + 1)):
        a[d] = (1 - closed) * open_[d] + closed * shut[d]
    return clamp_to_limits(a)


def smooth01(x: float) -> float:
    """Smooth step from 0 to 1 over ``x`` in [0, 1] (raised cosine; clipped outside)."""
    x = min(max(x, 0.0), 1.0)
    return float(0.5 - 0.5 * np.cos(np.pi * x))


def straight_index_angles(rng: np.random.Generator, finger_angle: float) -> F64:
    """A tapping hand with a nearly straight index for a given finger angle, degrees.

    Steep (≥ 45°): the other fingers curled, thumb tucked. Flat: at a 30° finger angle the palm is so low that
    curled fingers or a tucked thumb would reach the table first, so they are held up and back (extended, the
    thumb spread): only the index touches.
    """
    a = _angles("touch_point", rng, 2.0)
    if finger_angle >= 45:
        a[Dof.THUMB_CMC_FLEX : Dof.THUMB_IP + 1] = (40.0, 0.0, 55.0, 40.0)
    else:
        a[Dof.THUMB_CMC_FLEX : Dof.THUMB_IP + 1] = (-30.0, -20.0, 0.0, 0.0)
        for f in range(1, 4):
            a[Dof.INDEX_MCP_FLEX + 4 * f : Dof.INDEX_DIP + 4 * f + 1] = (-20.0, 0.0, 10.0, 5.0)
    mcp = 10.0 if finger_angle < 45 else 20.0
    a[Dof.INDEX_MCP_FLEX : Dof.INDEX_DIP + 1] = (mcp + float(rng.uniform(-2, 2)), 0.0, 8.0, 4.0)
    return clamp_to_limits(a)


def finger_angle_deg(joints_xyz_mm: F64, plane: F64, finger: Finger = Finger.INDEX) -> float:
    """Angle between a finger's MCP → tip line (canonical joints) and the table plane ``n · p = d``, degrees."""
    base, tip = joints_xyz_mm[1 + 4 * int(finger)], joints_xyz_mm[4 + 4 * int(finger)]
    d = base - tip
    return float(np.degrees(np.arcsin(np.clip((d @ plane[:3]) / np.linalg.norm(d), -1.0, 1.0))))


def pitch_for_angle(rig: object, angles: F64, shape: HandShape, hand: Handedness, target_deg: float) -> float:
    """The hand pitch at which the index's MCP → tip line meets the table at ``target_deg`` (bisection)."""
    lo, hi = -20.0, 80.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        geo = forward_kinematics(place(rig, _Pose(angles, np.zeros(2), 0.0, mid, 0.0), shape, hand))
        if finger_angle_deg(geo.joints_xyz_mm, rig.plane) < target_deg:  # type: ignore[attr-defined]
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def tap_script(
    rate_per_min: float,
    lift: tuple[float, float],
    rng: np.random.Generator,
    centre: F64,
    hand_pose: tuple[F64, float] | None = None,
) -> Script:
    """Taps at ``rate_per_min`` with a lift drawn from ``lift`` (mm), at spots within 35 mm of ``centre``."""
    period = 60.0 / rate_per_min
    n = 4096
    lifts = rng.uniform(*lift, n)
    spots = centre + rng.uniform(-35, 35, (n, 2))
    angles, pitch = hand_pose if hand_pose is not None else _point_angles(rng)

    def script(t: float) -> _Pose:
        k, phase = divmod(t / period, 1.0)
        k = int(k) % n
        # contact for 40 % of the period, cosine swings down and up around it
        if phase < 0.3:
            c = lifts[k] * (1 - smooth01(phase / 0.3))
        elif phase < 0.7:
            c = 0.0
        else:
            c = lifts[k] * smooth01((phase - 0.7) / 0.3)
        xy = spots[k]
        if phase >= 0.7:
            xy = spots[k] + (spots[(k + 1) % n] - spots[k]) * smooth01((phase - 0.7) / 0.3)
        return _Pose(angles, xy, 10.0 * np.sin(0.3 * t), pitch, c)

    return script


def hover_script(rng: np.random.Generator, centre: F64) -> Script:
    """A pointing hand hovering 5–30 mm above the table, drifting slowly around ``centre`` (world mm); never touches."""
    f = rng.uniform(0.15, 0.5, 3)
    ph = rng.uniform(0, 2 * np.pi, 3)
    angles, pitch = _point_angles(rng)

    def script(t: float) -> _Pose:
        s = (np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * np.pi * f[1] * t + ph[1])) / 1.5
        c = 5.0 + 25.0 * 0.5 * (1 + s)
        xy = centre + 50.0 * np.array([np.sin(2 * np.pi * f[2] * t + ph[2]), np.cos(2 * np.pi * f[1] * t)])
        return _Pose(angles, xy, 10.0 * np.sin(0.4 * t), pitch, float(c))

    return script


def drag_script(rng: np.random.Generator, centre: F64) -> Script:
    """Index-finger drags of 180 mm in random directions across ``centre``, lifting 20–40 mm between them."""
    cycle, down, drag, up = 2.5, 0.25, 1.5, 0.25
    n = 512
    dirs = rng.uniform(0, 2 * np.pi, n)
    lifts = rng.uniform(20, 40, n)
    angles, pitch = _point_angles(rng)

    def script(t: float) -> _Pose:
        k, s = divmod(t, cycle)
        k = int(k) % n
        d = np.array([np.cos(dirs[k]), 0.6 * np.sin(dirs[k])])
        start = centre - 0.5 * 180.0 * d
        if s < down:
            c, xy = lifts[k] * (1 - smooth01(s / down)), start
        elif s < down + drag:
            c, xy = 0.0, start + 180.0 * d * smooth01((s - down) / drag)
        elif s < down + drag + up:
            c, xy = lifts[k] * smooth01((s - down - drag) / up), start + 180.0 * d
        else:
            back = smooth01((s - down - drag - up) / (cycle - down - drag - up))
            nxt = centre - 0.5 * 180.0 * np.array([np.cos(dirs[(k + 1) % n]), 0.6 * np.sin(dirs[(k + 1) % n])])
            c, xy = lifts[k], start + 180.0 * d + (nxt - start - 180.0 * d) * back
        return _Pose(angles, xy, 0.0, pitch, float(c))

    return script


def pinch_script(rng: np.random.Generator, centre: F64) -> Script:
    """Thumb and index finger touching the table and pinching together, lifted between gestures."""
    cycle, down, gesture, up = 2.2, 0.25, 1.2, 0.25
    pitch = float(rng.uniform(15, 25))
    closed_max = float(rng.uniform(0.85, 1.0))

    def script(t: float) -> _Pose:
        k, s = divmod(t, cycle)
        start, end = (0.0, closed_max) if int(k) % 2 == 0 else (closed_max, 0.0)  # close, then open, on the table
        lift = 30.0
        if s < down:
            c, closed = lift * (1 - smooth01(s / down)), start
        elif s < down + gesture:
            c, closed = 0.0, start + (end - start) * smooth01((s - down) / gesture)
        elif s < down + gesture + up:
            c, closed = lift * smooth01((s - down - gesture) / up), end
        else:
            c, closed = lift, end
        xy = centre + 20.0 * np.array([np.sin(0.5 * t), 0.0])
        return _Pose(_pinch_angles(closed), xy, 0.0, pitch, float(c), level=(0, 1))

    return script


def palm_script(rng: np.random.Generator, centre: F64) -> Script:
    """A flat hand resting on the table, lifted a little and put down again (every touch it fires is false)."""
    cycle, rest = 3.0, 2.0
    angles = _angles("flat", rng, 1.5)
    angles[Dof.WRIST_FLEX] = 0.0
    flex = float(rng.uniform(7, 9))  # with pitch 3°, palm and finger pads rest on the table together
    for f in range(4):
        angles[Dof.INDEX_MCP_FLEX + 4 * f] = flex

    def script(t: float) -> _Pose:
        k, s = divmod(t, cycle)
        xy = centre + np.array([30.0 * np.sin(1.3 * k), 20.0 * np.cos(0.7 * k)])
        c = 0.0 if s < rest else 40.0 * np.sin(np.pi * (s - rest) / (cycle - rest))
        return _Pose(angles, xy, 5.0 * np.sin(0.5 * k), 3.0, float(c), thumb_under=True)

    return script


def place(rig: object, p: _Pose, shape: HandShape, hand: Handedness) -> HandState:
    """The hand state of a script pose (lowest point ``clearance_mm`` above the table, optional levelling)."""
    from depthhand.synth.scene_layout import _heights, table_hand

    state, geo = table_hand(rig, hand, p.angles, shape, p.xy_w, p.yaw_deg, 0.0, p.pitch_deg, p.roll_deg)  # type: ignore[arg-type]
    plane = rig.plane  # type: ignore[attr-defined]
    if p.level is not None:
        i, j = p.level
        tips = geo.tip_spheres
        h = tips[:, :3] @ plane[:3] - plane[3] - tips[:, 3]
        lo, hi = (i, j) if h[i] <= h[j] else (j, i)
        n = plane[:3]
        horiz = (tips[hi, :3] - tips[lo, :3]) - ((tips[hi, :3] - tips[lo, :3]) @ n) * n
        dist = float(np.linalg.norm(horiz))
        if dist > 1.0:
            axis = np.cross(n, horiz / dist)
            ang = np.arctan2(h[hi] - h[lo], dist)
            rot = _axis_angle(axis, ang)
            pivot = tips[lo, :3]
            state = HandState(
                state.angles_deg,
                rot @ state.rotation,
                pivot + rot @ (state.wrist_xyz_mm - pivot),
                state.shape,
                state.handedness,
            )
            geo = forward_kinematics(state)
    heights = _heights(geo, plane)
    shift = p.clearance_mm - float((heights[3:] if p.thumb_under else heights).min())  # cones 0-2: the thumb
    return HandState(state.angles_deg, state.rotation, state.wrist_xyz_mm + shift * plane[:3], shape, hand)


def _axis_angle(axis: F64, angle: float) -> F64:
    """Rotation matrix about the unit ``axis`` by ``angle`` rad (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    out: F64 = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)
    return out
