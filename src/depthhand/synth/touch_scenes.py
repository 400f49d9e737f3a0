"""Scripted top-down touch sequences with the articulated hand: the touch stress test's scenes.

Each sequence is one *condition* on one table rig (camera height, tilt, sensor noise fixed for the sequence, as a
mounted sensor is): an articulated hand (:mod:`depthhand.synth.kinematics`, round cones, forearm and upper arm)
driven by a script of template pose, position, yaw, finger angle (pitch) and clearance, ray-cast and noised with
one parameter set of :mod:`depthhand.synth.noise`. Conditions (:data:`CONDITIONS`):

* ``hover``: a pointing hand hovering 5–30 mm above the table (slowly varying), never touching;
* ``tap80_low`` / ``tap80_high`` / ``tap120_low`` / ``tap120_high``: index taps at 80 or 120 per minute with a
  lift of 10–20 mm or 70–80 mm between taps (the UBC latency study's conditions), a new spot every tap; the
  index's MCP → tip line meets the table at ≈ 35–45° (its distal phalanx at 55–68°);
* ``tap30`` / ``tap60``: taps at 80 per minute, lift 10–20 mm, with a nearly straight index whose MCP → tip line
  meets the table at 30° or 60° (the UBC study's finger angles; :func:`finger_angle_deg`);
* ``drag``: index down, dragged 1.5 s at ≈ 120 mm/s, lifted 20–40 mm, again;
* ``pinch``: thumb and index tips both on the table closing / opening (a two-finger pinch), lifted between;
* ``palm``: the flat hand resting on the table (palm and finger pads down), lifted 40 mm and put down again —
  the truth has **no** touches here (a resting hand must fire none);
* ``object``: taps at 80 per minute while a box is put down on the table 70–90 mm beside the tapping finger
  (it falls for 0.4 s from 150 mm, 1.5 s into the sequence) and stays there.

Every sequence starts with ``warmup_s`` of the empty table (the installation's surface calibration); those frames
carry ``warmup=True`` and no hand. Truth: a fingertip touches when its tip sphere's lowest point is at most
:data:`TOUCH_TRUTH_MM` above the table; the true contact point is the foot of the tip sphere's centre on the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import INTRINSICS
from depthhand.geometry.plane import Plane
from depthhand.skeleton import Finger
from depthhand.structures import CameraIntrinsics, Handedness
from depthhand.synth.hand_model import NUM_DOF, Dof, HandShape, clamp_to_limits, sample_shape
from depthhand.synth.kinematics import (
    PART_OTHER,
    HandState,
    forward_kinematics,
    part_tag,
    rot_x,
    rot_z,
)
from depthhand.synth.pose_prior import TEMPLATES

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
CONDITIONS = (
    "hover",
    "tap80_low",
    "tap80_high",
    "tap120_low",
    "tap120_high",
    "tap30",
    "tap60",
    "drag",
    "pinch",
    "palm",
    "object",
)
NOISE_MODELS = ("structured_light", "active_stereo", "tof")
TOUCH_TRUTH_MM = 1.0
"""A fingertip whose tip sphere's lowest point is at most this high above the table is touching (truth)."""


@dataclass(frozen=True, slots=True)
class StressFrame:
    """One rendered frame of a stress sequence with its truth.

    Attributes:
        index: Frame number within the sequence (warm-up included).
        timestamp_us: Capture time, µs (``index / fps``).
        depth_mm: (H, W) float32 noisy depth, mm, 0 = invalid.
        intrinsics: The camera.
        plane: The true table plane.
        joints_xyz_mm: hand id → (21, 3) true canonical joints, camera mm.
        handedness: hand id → handedness.
        touches: ``(hand id, finger) → (3,)`` true contact point on the table, camera mm.
        warmup: An empty-table calibration frame (not scored).
        condition: The condition name.
        noise: The sensor noise family (``None``: clean depth).
        camera_height_mm: The camera's height above the table, mm.
        seed: The sequence's seed.
    """

    index: int
    timestamp_us: int
    depth_mm: F32
    intrinsics: CameraIntrinsics
    plane: Plane
    joints_xyz_mm: dict[int, F64]
    handedness: dict[int, Handedness]
    touches: dict[tuple[int, Finger], tuple[float, float, float]]
    warmup: bool
    condition: str
    noise: str | None = None
    camera_height_mm: float = 0.0
    seed: int = 0


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


_Script = Callable[[float], "_Pose"]


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


def _smooth01(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return float(0.5 - 0.5 * np.cos(np.pi * x))


def _straight_index_angles(rng: np.random.Generator, finger_angle: float) -> F64:
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


def _pitch_for_angle(rig: object, angles: F64, shape: HandShape, hand: Handedness, target_deg: float) -> float:
    """The hand pitch at which the index's MCP → tip line meets the table at ``target_deg`` (bisection)."""
    lo, hi = -20.0, 80.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        geo = forward_kinematics(_place(rig, _Pose(angles, np.zeros(2), 0.0, mid, 0.0), shape, hand))
        if finger_angle_deg(geo.joints_xyz_mm, rig.plane) < target_deg:  # type: ignore[attr-defined]
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _tap_script(
    rate_per_min: float,
    lift: tuple[float, float],
    rng: np.random.Generator,
    centre: F64,
    hand_pose: tuple[F64, float] | None = None,
) -> _Script:
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
            c = lifts[k] * (1 - _smooth01(phase / 0.3))
        elif phase < 0.7:
            c = 0.0
        else:
            c = lifts[k] * _smooth01((phase - 0.7) / 0.3)
        xy = spots[k]
        if phase >= 0.7:
            xy = spots[k] + (spots[(k + 1) % n] - spots[k]) * _smooth01((phase - 0.7) / 0.3)
        return _Pose(angles, xy, 10.0 * np.sin(0.3 * t), pitch, c)

    return script


def _hover_script(rng: np.random.Generator, centre: F64) -> _Script:
    f = rng.uniform(0.15, 0.5, 3)
    ph = rng.uniform(0, 2 * np.pi, 3)
    angles, pitch = _point_angles(rng)

    def script(t: float) -> _Pose:
        s = (np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * np.pi * f[1] * t + ph[1])) / 1.5
        c = 5.0 + 25.0 * 0.5 * (1 + s)
        xy = centre + 50.0 * np.array([np.sin(2 * np.pi * f[2] * t + ph[2]), np.cos(2 * np.pi * f[1] * t)])
        return _Pose(angles, xy, 10.0 * np.sin(0.4 * t), pitch, float(c))

    return script


def _drag_script(rng: np.random.Generator, centre: F64) -> _Script:
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
            c, xy = lifts[k] * (1 - _smooth01(s / down)), start
        elif s < down + drag:
            c, xy = 0.0, start + 180.0 * d * _smooth01((s - down) / drag)
        elif s < down + drag + up:
            c, xy = lifts[k] * _smooth01((s - down - drag) / up), start + 180.0 * d
        else:
            back = _smooth01((s - down - drag - up) / (cycle - down - drag - up))
            nxt = centre - 0.5 * 180.0 * np.array([np.cos(dirs[(k + 1) % n]), 0.6 * np.sin(dirs[(k + 1) % n])])
            c, xy = lifts[k], start + 180.0 * d + (nxt - start - 180.0 * d) * back
        return _Pose(angles, xy, 0.0, pitch, float(c))

    return script


def _pinch_script(rng: np.random.Generator, centre: F64) -> _Script:
    cycle, down, gesture, up = 2.2, 0.25, 1.2, 0.25
    pitch = float(rng.uniform(15, 25))
    closed_max = float(rng.uniform(0.85, 1.0))

    def script(t: float) -> _Pose:
        k, s = divmod(t, cycle)
        start, end = (0.0, closed_max) if int(k) % 2 == 0 else (closed_max, 0.0)  # close, then open, on the table
        lift = 30.0
        if s < down:
            c, closed = lift * (1 - _smooth01(s / down)), start
        elif s < down + gesture:
            c, closed = 0.0, start + (end - start) * _smooth01((s - down) / gesture)
        elif s < down + gesture + up:
            c, closed = lift * _smooth01((s - down - gesture) / up), end
        else:
            c, closed = lift, end
        xy = centre + 20.0 * np.array([np.sin(0.5 * t), 0.0])
        return _Pose(_pinch_angles(closed), xy, 0.0, pitch, float(c), level=(0, 1))

    return script


def _palm_script(rng: np.random.Generator, centre: F64) -> _Script:
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


def _place(rig: object, p: _Pose, shape: HandShape, hand: Handedness) -> HandState:
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


def stress_sequence(
    condition: str,
    seed: int = 0,
    noise: str | None = "structured_light",
    camera_height_mm: float = 1000.0,
    duration_s: float = 6.0,
    fps: float = 30.0,
    warmup_s: float = 1.0,
    intrinsics: CameraIntrinsics | None = None,
) -> Iterator[StressFrame]:
    """Render one stress sequence.

    Args:
        condition: One of :data:`CONDITIONS`.
        seed: Seeds the rig (tilt, yaw), the hand (shape, handedness, finger angle), the script and the noise.
        noise: Sensor family of :data:`NOISE_MODELS` (parameters drawn once per sequence) or ``None`` (clean).
        camera_height_mm: Camera height above the table, mm.
        duration_s: Scripted duration after the warm-up, s.
        fps: Frame rate.
        warmup_s: Empty-table frames first, s.
        intrinsics: Camera (default: the Astra preset, 640×480).

    Yields:
        One :class:`StressFrame` per frame (warm-up first).
    """
    from depthhand.synth import noise as noise_mod
    from depthhand.synth.raycast import Primitives, box_row, concat_primitives, render_labelled
    from depthhand.synth.scene_layout import sample_table_rig, upper_arm

    if condition not in CONDITIONS:
        raise ValueError(f"unknown touch condition {condition!r}; known: {', '.join(CONDITIONS)}")
    if noise is not None and noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS} or None, got {noise!r}")
    intr = intrinsics or INTRINSICS["astra"]
    rng = np.random.default_rng([seed, CONDITIONS.index(condition), int(camera_height_mm)])
    rig = sample_table_rig(rng, intr, camera_height_mm)
    params = noise_mod.sample_params(noise, rng) if noise is not None else None
    noise_rng = np.random.default_rng(rng.integers(1 << 62))
    hx, hy = rig.visible_half_extent_mm()
    hand = Handedness.RIGHT if rng.random() < 0.6 else Handedness.LEFT
    shape = sample_shape(rng, (0.85, 1.15))
    centre = np.array([rng.uniform(-0.25, 0.25) * hx, rng.uniform(-0.1, 0.3) * hy])
    script: Callable[[float], _Pose]
    if condition in ("tap30", "tap60"):
        target = 30.0 if condition == "tap30" else 60.0
        angles = _straight_index_angles(rng, target)
        pitch = _pitch_for_angle(rig, angles, shape, hand, target)
        script = _tap_script(80.0, (10.0, 20.0), rng, centre, (angles, pitch))
    elif condition.startswith("tap") or condition == "object":
        rate = 80.0 if condition in ("tap80_low", "tap80_high", "object") else 120.0
        lift = (70.0, 80.0) if condition.endswith("high") else (10.0, 20.0)
        script = _tap_script(rate, lift, rng, centre)
    else:
        script = {"hover": _hover_script, "drag": _drag_script, "pinch": _pinch_script, "palm": _palm_script}[
            condition
        ](rng, centre)
    side = 1.0 if rng.random() < 0.5 else -1.0
    box_half = np.array([rng.uniform(25, 45), rng.uniform(20, 35), rng.uniform(12, 25)])
    box_xy = centre + np.array([side * (80.0 + box_half[0] + rng.uniform(0, 10)), rng.uniform(-10, 10)])
    table = Primitives(planes=rig.plane[None], plane_tags=np.array([part_tag(PART_OTHER)], np.int32))
    plane = Plane(np.asarray(rig.plane[:3], np.float64), -float(rig.plane[3]))
    up = rig.r_cw @ np.array([0.0, 0.0, 1.0])
    n_warm = round(warmup_s * fps)
    n_total = n_warm + round(duration_s * fps)
    for i in range(n_total):
        t = (i - n_warm) / fps
        parts = [table]
        joints: dict[int, F64] = {}
        touches: dict[tuple[int, Finger], tuple[float, float, float]] = {}
        if i >= n_warm:
            p = script(t)
            state = _place(rig, p, shape, hand)
            geo = forward_kinematics(state)
            joints[1] = geo.joints_xyz_mm
            parts.append(Primitives(cones=geo.cones, cone_tags=(geo.cone_parts + 4).astype(np.int32)))
            back = rig.r_cw @ (rot_z(p.yaw_deg) @ np.array([0.0, -1.0, 0.0]))
            parts.append(upper_arm(geo, 0, up, back, np.random.default_rng(seed)))
            tips = geo.tip_spheres
            heights = tips[:, :3] @ rig.plane[:3] - rig.plane[3] - tips[:, 3]
            if condition != "palm":
                for f in Finger:
                    if heights[int(f)] <= TOUCH_TRUTH_MM:
                        c = tips[int(f), :3]
                        foot = c - (c @ rig.plane[:3] - rig.plane[3]) * rig.plane[:3]
                        touches[(1, f)] = (float(foot[0]), float(foot[1]), float(foot[2]))
        if condition == "object" and t >= 1.5:
            drop = 150.0 * (1 - _smooth01(min((t - 1.5) / 0.4, 1.0)))
            r_w = rot_x(0.0) @ rot_z(15.0 * side)
            centre_w = [box_xy[0], box_xy[1], box_half[2] + drop]
            box = box_row(rig.to_cam(centre_w), rig.r_cw @ r_w, box_half)
            parts.append(Primitives(boxes=box[None], box_tags=np.array([part_tag(PART_OTHER)], np.int32)))
        clean, tag, _, _ = render_labelled(concat_primitives(parts), intr, max_depth_mm=8000.0)
        depth = clean if params is None else noise_mod.apply_noise(clean, intr, noise_rng, params, tag + 1)
        yield StressFrame(
            index=i,
            timestamp_us=round(i * 1e6 / fps),
            depth_mm=depth,
            intrinsics=intr,
            plane=plane,
            joints_xyz_mm=joints,
            handedness={1: hand} if joints else {},
            touches=touches,
            warmup=i < n_warm,
            condition=condition,
            noise=noise,
            camera_height_mm=float(camera_height_mm),
            seed=seed,
        )
