"""Scripted hands above a table with ground-truth touches: a truth-labelled live source for tests and demos.

This is real geometry, not a mock: a 21-joint hand (canonical order) is posed in plane-local coordinates
(a, b along the table, height above it) and mapped to camera millimetres through :mod:`depthhand.geometry.plane`.
Scripts move the hand, tap fingers onto the surface, hover and pinch; every frame carries the true contacts.
Depth-noise-like jitter (mostly along the viewing ray) can be added to the joints, and a depth image can be
rendered (plane + spheres along the bones) for previews and plane fitting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import xyz_to_uvd
from depthhand.geometry.plane import Plane, local_to_plane, plane_depth
from depthhand.skeleton import CANONICAL21, Canonical21, Finger
from depthhand.structures import CameraIntrinsics, FrameResult, Handedness, HandPose, TrackedHand

F64 = npt.NDArray[np.float64]
C = Canonical21
# Finger chains (MCP/CMC → tip) and their MCP offsets on the palm (a across, b forward), mm; segment lengths, mm.
_CHAINS: dict[Finger, tuple[tuple[Canonical21, ...], tuple[float, float], tuple[float, ...]]] = {
    Finger.THUMB: ((C.THUMB_CMC, C.THUMB_MCP, C.THUMB_IP, C.THUMB_TIP), (-30.0, -55.0), (35.0, 32.0, 28.0)),
    Finger.INDEX: ((C.INDEX_MCP, C.INDEX_PIP, C.INDEX_DIP, C.INDEX_TIP), (-25.0, 0.0), (40.0, 24.0, 20.0)),
    Finger.MIDDLE: ((C.MIDDLE_MCP, C.MIDDLE_PIP, C.MIDDLE_DIP, C.MIDDLE_TIP), (-8.0, 3.0), (44.0, 27.0, 21.0)),
    Finger.RING: ((C.RING_MCP, C.RING_PIP, C.RING_DIP, C.RING_TIP), (9.0, 0.0), (41.0, 26.0, 20.0)),
    Finger.PINKY: ((C.PINKY_MCP, C.PINKY_PIP, C.PINKY_DIP, C.PINKY_TIP), (25.0, -8.0), (32.0, 19.0, 18.0)),
}
REST_TIP_HEIGHT_MM = 45.0


@dataclass(frozen=True, slots=True)
class HandScriptPose:
    """A hand posture in plane-local terms.

    Attributes:
        center_ab_mm: (2,) plane-local (a, b) of the index fingertip, mm.
        palm_height_mm: Height of the palm (MCPs) above the table, mm.
        tip_heights_mm: Height of each fingertip, mm (0 = on the table).
        yaw_deg: Rotation of the hand about the plane normal, degrees.
        pinch: 0 = open, 1 = thumb tip on the index tip.
    """

    center_ab_mm: tuple[float, float]
    palm_height_mm: float = 80.0
    tip_heights_mm: tuple[float, float, float, float, float] = (REST_TIP_HEIGHT_MM,) * 5
    yaw_deg: float = 0.0
    pinch: float = 0.0


def hand_local_joints(pose: HandScriptPose) -> F64:
    """(21, 3) canonical joints in plane-local (a, b, height) mm for a script pose."""
    out = np.zeros((21, 3))
    yaw = np.deg2rad(pose.yaw_deg)
    rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
    origin = np.zeros(2)  # built around the origin, then shifted so that the index tip is at center_ab_mm
    out[C.WRIST] = [*(origin + rot @ np.array([0.0, -85.0])), pose.palm_height_mm + 5]
    tips_local: dict[Finger, F64] = {}
    for finger, (chain, mcp_ab, lengths) in _CHAINS.items():
        base = np.array([*(origin + rot @ np.asarray(mcp_ab)), pose.palm_height_mm])
        tip_h = pose.tip_heights_mm[int(finger)]
        total = sum(lengths)
        drop = np.clip(pose.palm_height_mm - tip_h, -total * 0.9, total * 0.95)
        reach = np.sqrt(max(total**2 - drop**2, 1.0))
        direction = rot @ (np.array([-0.5, 0.5]) if finger is Finger.THUMB else np.array([0.0, 1.0]))
        tip = base + np.array([*(direction * reach), -drop])
        tips_local[finger] = tip
        fractions = np.cumsum((0.0, *lengths)) / total
        for joint, f in zip(chain, fractions, strict=True):
            # bend: intermediate joints bulge upwards a little
            out[joint] = base + f * (tip - base) + np.array([0, 0, 8.0 * np.sin(np.pi * f)])
    if pose.pinch > 0:
        meet = (tips_local[Finger.THUMB] + tips_local[Finger.INDEX]) / 2
        for finger in (Finger.THUMB, Finger.INDEX):
            chain = _CHAINS[finger][0]
            shift = pose.pinch * (meet - tips_local[finger])
            for k, joint in enumerate(chain):
                out[joint] = out[joint] + shift * (k / (len(chain) - 1))
    out[:, :2] += np.asarray(pose.center_ab_mm) - out[C.INDEX_TIP, :2]
    return out


@dataclass(frozen=True, slots=True)
class TruthFrame:
    """A frame with its ground truth.

    Attributes:
        result: What the pipeline would output (noisy joints).
        touches: ``(hand_id, finger) → (3,) true contact point on the plane, camera mm`` for touching fingertips.
        true_joints_xyz_mm: hand_id → (21, 3) noise-free joints.
        depth_mm: Optional rendered depth image.
    """

    result: FrameResult
    touches: dict[tuple[int, Finger], tuple[float, float, float]]
    true_joints_xyz_mm: dict[int, F64]
    depth_mm: npt.NDArray[np.float32] | None = None


def _camera_jitter(joints_xyz: F64, sigma_mm: float, rng: np.random.Generator) -> F64:
    """Noise with σ along the viewing ray and σ/3 across it (depth noise dominates)."""
    if sigma_mm <= 0:
        return joints_xyz
    rays = joints_xyz / np.linalg.norm(joints_xyz, axis=1, keepdims=True)
    along = rng.normal(0, sigma_mm, (len(joints_xyz), 1)) * rays
    across = rng.normal(0, sigma_mm / 3, joints_xyz.shape)
    out: F64 = joints_xyz + along + across
    return out


def render_depth(
    plane: Plane, intrinsics: CameraIntrinsics, hands_xyz_mm: list[F64], radius_mm: float = 9.0
) -> npt.NDArray[np.float32]:
    """Depth image of the table with hands drawn as spheres along their bones (mm, float32)."""
    depth = plane_depth(intrinsics, plane).astype(np.float32)
    if not hands_xyz_mm:
        return depth
    t = np.linspace(0.2, 0.8, 3)[:, None, None]
    samples = []
    for joints in hands_xyz_mm:
        a = joints[[b[0] for b in CANONICAL21.bones]]
        b = joints[[b[1] for b in CANONICAL21.bones]]
        samples += [joints, (a + t * (b - a)).reshape(-1, 3)]
    uvd = xyz_to_uvd(np.concatenate(samples), intrinsics)
    uvd = uvd[uvd[:, 2] > 1.0]
    r_px = np.maximum(1.0, radius_mm * intrinsics.fx / uvd[:, 2])  # (S,) sphere radius in pixels
    reach = int(np.ceil(r_px.max()))
    off = np.arange(-reach, reach + 1)
    du, dv = np.meshgrid(off, off)
    u = np.floor(uvd[:, 0])[:, None] + du.ravel()[None]  # (S, P) candidate pixels around each sphere
    v = np.floor(uvd[:, 1])[:, None] + dv.ravel()[None]
    d2 = ((u - uvd[:, 0:1]) ** 2 + (v - uvd[:, 1:2]) ** 2) / r_px[:, None] ** 2
    inside = (d2 <= 1) & (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height)
    z = uvd[:, 2:3] - radius_mm * np.sqrt(np.clip(1 - d2, 0, 1))
    flat = depth.ravel()  # a view: writes go to `depth`
    idx = (v[inside] * intrinsics.width + u[inside]).astype(np.int64)
    zs = z[inside].astype(np.float32)
    background = np.where(flat > 0, flat, np.inf).astype(np.float32)
    np.minimum.at(background, idx, zs)
    flat[idx] = background[idx]
    return depth


ScriptFn = Callable[[float], list[HandScriptPose]]
"""A script: time in seconds → the postures of the hands visible then (hand id = list position + 1)."""


def tap_script(
    period_s: float = 1.6, touch_s: float = 0.5, area_mm: float = 150.0, hover_tip_mm: float = 35.0
) -> ScriptFn:
    """One right hand wandering over the table, tapping the index finger down once per ``period_s``."""

    def script(t: float) -> list[HandScriptPose]:
        k, phase = divmod(t, period_s)
        rng = np.random.default_rng(int(k) + 17)
        ab = rng.uniform(-area_mm, area_mm, 2)
        descend = 0.25 * (period_s - touch_s)
        start = 0.5 * (period_s - touch_s) - descend
        if phase < start or phase > start + 2 * descend + touch_s:
            tip = hover_tip_mm
        elif phase < start + descend:
            tip = hover_tip_mm * (1 - (phase - start) / descend)
        elif phase < start + descend + touch_s:
            tip = 0.0
        else:
            tip = hover_tip_mm * (phase - start - descend - touch_s) / descend
        tips = (REST_TIP_HEIGHT_MM, tip, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM)
        return [HandScriptPose((float(ab[0]), float(ab[1])), 75.0, tips, yaw_deg=10.0 * np.sin(k))]

    return script


def hover_script(min_tip_mm: float = 22.0, max_tip_mm: float = 50.0, period_s: float = 2.0) -> ScriptFn:
    """A hand hovering (never touching): the index tip oscillates between ``min_tip_mm`` and ``max_tip_mm``."""

    def script(t: float) -> list[HandScriptPose]:
        tip = min_tip_mm + (max_tip_mm - min_tip_mm) * 0.5 * (1 + np.cos(2 * np.pi * t / period_s))
        ab = (80.0 * np.sin(0.3 * t), 60.0 * np.cos(0.2 * t))
        tips = (REST_TIP_HEIGHT_MM, float(tip), REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM)
        return [HandScriptPose(ab, 80.0, tips)]

    return script


def demo_script() -> ScriptFn:
    """Two hands: a right hand tapping, a left hand pinching now and then (for the viewer)."""
    tap = tap_script()

    def script(t: float) -> list[HandScriptPose]:
        right = tap(t)[0]
        pinch = float(np.clip(1.5 * np.sin(2 * np.pi * t / 3.0), 0.0, 1.0))
        left = HandScriptPose((-220.0 + 30 * np.sin(t), 60.0), 110.0, (70.0,) * 5, yaw_deg=-15.0, pinch=pinch)
        return [right, left]

    return script


TOUCH_TRUTH_MM = 1.0
"""A scripted fingertip at most this high above the plane is touching in the ground truth."""


def scripted_frames(
    script: ScriptFn,
    plane: Plane,
    intrinsics: CameraIntrinsics,
    fps: float = 30.0,
    duration_s: float | None = None,
    noise_mm: float = 0.0,
    seed: int = 0,
    render: bool = False,
    realtime: bool = False,
    t0_us: int | None = None,
) -> Iterator[TruthFrame]:
    """Run a script: one :class:`TruthFrame` per frame.

    Args:
        script: Postures over time.
        plane: The table.
        intrinsics: The camera (for ``uvd`` joints and rendering).
        fps: Frame rate.
        duration_s: Stop after this long (``None``: forever).
        noise_mm: Joint jitter σ along the viewing ray, mm.
        seed: Noise seed.
        render: Also render a depth image per frame.
        realtime: Sleep to keep ``fps`` in wall-clock time (live demos); timestamps then are wall-clock µs.
        t0_us: First timestamp (default: now).
    """
    rng = np.random.default_rng(seed)
    start_us = int(time.time() * 1e6) if t0_us is None else t0_us
    start_wall = time.perf_counter()
    i = 0
    while duration_s is None or i < duration_s * fps:
        t = i / fps
        if realtime:
            lag = start_wall + t - time.perf_counter()
            if lag > 0:
                time.sleep(lag)
        t_us = start_us + round(t * 1e6)
        hands, truth, clean = [], {}, {}
        for k, posture in enumerate(script(t)):
            hand_id = k + 1
            local = hand_local_joints(posture)
            joints = local_to_plane(local, plane)
            clean[hand_id] = joints
            for finger, idx in CANONICAL21.tips:
                if local[idx, 2] <= TOUCH_TRUTH_MM:
                    foot = local_to_plane(np.array([local[idx, 0], local[idx, 1], 0.0]), plane)
                    truth[(hand_id, finger)] = (float(foot[0]), float(foot[1]), float(foot[2]))
            noisy = _camera_jitter(joints, noise_mm, rng).astype(np.float32)
            uvd = xyz_to_uvd(noisy, intrinsics).astype(np.float32)
            handed = Handedness.RIGHT if hand_id == 1 else Handedness.LEFT
            pose = HandPose(noisy, uvd, CANONICAL21, handedness=handed, score=0.95)
            hands.append(TrackedHand(hand_id, pose, age_frames=i))
        depth = render_depth(plane, intrinsics, list(clean.values())) if render else None
        timings = {"capture": 0.0, "detect": 0.0, "pose": 0.0, "track": 0.0, "total": 0.0}
        result = FrameResult(i, t_us, tuple(hands), timings, "scripted", intrinsics)
        yield TruthFrame(result, truth, clean, depth)
        i += 1


def default_scene(width: int = 160, height: int = 120) -> tuple[Plane, CameraIntrinsics]:
    """A top-down camera 900 mm above a table tilted 8° (Astra-like field of view)."""
    k = CameraIntrinsics(570.3, 570.3, 319.5, 239.5, 640, 480).scaled(width / 640)
    ang = np.deg2rad(8.0)
    plane = Plane.from_point_normal([0.0, 0.0, 900.0], [0.0, np.sin(ang), -np.cos(ang)])
    return plane, CameraIntrinsics(k.fx, k.fy, k.cx, k.cy, width, height)
