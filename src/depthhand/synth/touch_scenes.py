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

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import INTRINSICS
from depthhand.geometry.plane import Plane
from depthhand.skeleton import Finger
from depthhand.structures import CameraIntrinsics, Handedness
from depthhand.synth.hand_model import sample_shape
from depthhand.synth.kinematics import PART_OTHER, forward_kinematics, part_tag, rot_x, rot_z
from depthhand.synth.touch_scripts import (
    Script,
    drag_script,
    finger_angle_deg,
    hover_script,
    palm_script,
    pinch_script,
    pitch_for_angle,
    place,
    smooth01,
    straight_index_angles,
    tap_script,
)

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
    script: Script
    if condition in ("tap30", "tap60"):
        target = 30.0 if condition == "tap30" else 60.0
        angles = straight_index_angles(rng, target)
        pitch = pitch_for_angle(rig, angles, shape, hand, target)
        script = tap_script(80.0, (10.0, 20.0), rng, centre, (angles, pitch))
    elif condition.startswith("tap") or condition == "object":
        rate = 80.0 if condition in ("tap80_low", "tap80_high", "object") else 120.0
        lift = (70.0, 80.0) if condition.endswith("high") else (10.0, 20.0)
        script = tap_script(rate, lift, rng, centre)
    else:
        script = {"hover": hover_script, "drag": drag_script, "pinch": pinch_script, "palm": palm_script}[condition](
            rng, centre
        )
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
            state = place(rig, p, shape, hand)
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
            drop = 150.0 * (1 - smooth01(min((t - 1.5) / 0.4, 1.0)))
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


__all__ = [
    "CONDITIONS",
    "NOISE_MODELS",
    "TOUCH_TRUTH_MM",
    "StressFrame",
    "finger_angle_deg",
    "stress_sequence",
]
