"""Placement of cameras, hands, bodies and objects for the three scene families (``scenes.sample_scene``).

* ``frontal`` (NYU-like): camera at the origin, palm centre 500–1000 mm away, palm or back towards the camera,
  in-plane roll, forearm, upper arm, torso and head behind, optionally a wall 1.5–3 m away.
* ``topdown`` (the projection installation): camera 700–1500 mm above a table looking roughly down (tilt up to
  ±12°), back of the hand up, fingers pointing away from the user's edge (the image bottom), the arm entering from
  that edge and rising; fingertips touching (exact contact), hovering 5–60 mm or free above; boxes and standing
  cylinders on the table; a second hand of the same or of an opposite user.
* ``egocentric`` (FPHA-like): hands 300–600 mm in front of a head-mounted camera, forearm from the lower border,
  mostly back of the hand towards the camera, a desk below, often an object in the hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import CameraIntrinsics, Handedness
from depthhand.synth.hand_model import HandShape, clamp_to_limits, sample_shape
from depthhand.synth.kinematics import (
    PART_ARM,
    PART_OTHER,
    HandGeometry,
    HandState,
    forward_kinematics,
    part_tag,
    rot_x,
    rot_y,
    rot_z,
    translate_geometry,
)
from depthhand.synth.pose_prior import TEMPLATES, sample_pose, sample_template
from depthhand.synth.raycast import Primitives, box_row, concat_primitives, plane_row
from depthhand.synth.scenes import Scene

F64 = npt.NDArray[np.float64]
OTHER = part_tag(PART_OTHER)
TABLE_TEMPLATES = ("touch_point", "two_finger_touch", "flat", "hover_flat", "pinch", "relaxed", "point", "spread")
GRASP_TEMPLATES = ("power_sphere", "cylinder", "tripod", "lateral_pinch", "pinch")
DEFAULT_INTRINSICS = {"frontal": "nyu", "topdown": "astra", "egocentric": "fpha"}
DEFAULT_NOISE = {"frontal": "structured_light", "topdown": "structured_light", "egocentric": "active_stereo"}


@dataclass(frozen=True, slots=True)
class TableRig:
    """A camera looking down at a table: world frame z up, table at z = 0, the user's edge towards −y.

    Attributes:
        intrinsics: Camera.
        r_cw: (3, 3) world → camera rotation (rows: camera axes in world coordinates).
        cam_pos_w: (3,) camera centre in world mm.
        plane: (4,) table plane in camera coordinates (``n · p = d``, n towards the camera).
    """

    intrinsics: CameraIntrinsics
    r_cw: F64
    cam_pos_w: F64
    plane: F64

    def to_cam(self, p_w: npt.ArrayLike) -> F64:
        """World mm → camera mm, (…, 3)."""
        out: F64 = (np.asarray(p_w, np.float64) - self.cam_pos_w) @ self.r_cw.T
        return out

    def visible_half_extent_mm(self) -> tuple[float, float]:
        """Approximate half width/height (mm) of the table area in view."""
        h = float(self.cam_pos_w[2])
        return h * self.intrinsics.width / 2 / self.intrinsics.fx, h * self.intrinsics.height / 2 / self.intrinsics.fy


def sample_table_rig(
    rng: np.random.Generator, intrinsics: CameraIntrinsics, height_mm: float | None = None
) -> TableRig:
    """A top-down camera 700–1500 mm above the table with a random tilt (≤ 12°) and yaw (≤ 10°)."""
    h = float(height_mm if height_mm is not None else rng.uniform(700, 1500))
    base = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    r_cw = rot_x(rng.uniform(-12, 12)) @ rot_y(rng.uniform(-8, 8)) @ rot_z(rng.uniform(-10, 10)) @ base
    cam = np.array([rng.uniform(-60, 60), rng.uniform(-60, 60), h])
    n_cam = r_cw @ np.array([0.0, 0.0, 1.0])
    plane = plane_row(n_cam, r_cw @ (-cam))
    return TableRig(intrinsics, r_cw, cam, plane)


def _heights(geo: HandGeometry, plane: F64) -> F64:
    c = geo.cones
    h1 = c[:, 0:3] @ plane[:3] - plane[3] - c[:, 3]
    h2 = c[:, 4:7] @ plane[:3] - plane[3] - c[:, 7]
    out: F64 = np.minimum(h1, h2)
    return out


def place_above_plane(state: HandState, plane: F64, clearance_mm: float) -> tuple[HandState, HandGeometry]:
    """Shift ``state`` along the plane normal so that its lowest surface point is ``clearance_mm`` above ``plane``."""
    geo = forward_kinematics(state)
    shift = clearance_mm - float(_heights(geo, plane).min())
    moved = HandState(
        state.angles_deg, state.rotation, state.wrist_xyz_mm + shift * plane[:3], state.shape, state.handedness
    )
    return moved, translate_geometry(geo, shift * plane[:3])


def table_hand(
    rig: TableRig,
    handedness: Handedness,
    angles_deg: F64,
    shape: HandShape,
    target_xy_w: F64,
    yaw_deg: float,
    clearance_mm: float,
    pitch_deg: float = 20.0,
    roll_deg: float = 0.0,
) -> tuple[HandState, HandGeometry]:
    """A hand over the table, its lowest point ``clearance_mm`` above it (0 = touching).

    Back of the hand up, fingers along world +y rotated by ``yaw_deg`` and tilted ``pitch_deg`` down towards the
    table, rolled ``roll_deg`` about the finger axis, palm centre above ``target_xy_w`` (world mm).
    """
    r_w = rot_z(yaw_deg) @ rot_x(-pitch_deg) @ rot_y(roll_deg)
    palm_offset = r_w @ np.array([0.0, 0.5 * float(shape.mcp_xyz_mm[1, 1]), 0.0])
    wrist_w = np.array([target_xy_w[0], target_xy_w[1], 120.0]) - palm_offset
    state = HandState(angles_deg, rig.r_cw @ r_w, rig.to_cam(wrist_w), shape, handedness)
    return place_above_plane(state, rig.plane, clearance_mm)


def upper_arm(geo: HandGeometry, owner: int, up_cam: F64, back_cam: F64, rng: np.random.Generator) -> Primitives:
    """An upper-arm round cone from the elbow towards a shoulder (tagged as ``owner``'s arm)."""
    length = rng.uniform(220, 300)
    dirn = up_cam * 0.6 + back_cam * 0.8
    shoulder = geo.elbow_xyz_mm + dirn / np.linalg.norm(dirn) * length
    r = float(geo.cones[-2, 7]) if geo.cones.shape[0] >= 2 else 30.0
    cone = np.array([[*geo.elbow_xyz_mm, r * 1.05, *shoulder, r * 1.3]])
    return Primitives(cones=cone, cone_tags=np.array([part_tag(PART_ARM, owner)], np.int32))


def objects_on_table(rig: TableRig, rng: np.random.Generator, avoid_w: list[F64]) -> Primitives:
    hx, hy = rig.visible_half_extent_mm()
    boxes, cones = [], []
    for _ in range(int(rng.integers(0, 4))):
        for _try in range(5):
            xy = np.array([rng.uniform(-hx, hx), rng.uniform(-hy, hy)])
            if all(np.linalg.norm(xy - a) > 170 for a in avoid_w):
                break
        else:
            continue
        if rng.random() < 0.6:
            half = np.array([rng.uniform(20, 100), rng.uniform(20, 100), rng.uniform(10, 75)])
            r_w = rot_z(rng.uniform(0, 90))
            boxes.append(box_row(rig.to_cam([xy[0], xy[1], half[2]]), rig.r_cw @ r_w, half))
        else:
            r, h = rng.uniform(20, 50), rng.uniform(40, 180)
            a, b = rig.to_cam([xy[0], xy[1], 0.0]), rig.to_cam([xy[0], xy[1], max(h - r, 0.0)])
            cones.append([*a, r, *b, r])
    return Primitives(
        boxes=np.array(boxes).reshape(-1, 15),
        box_tags=np.full(len(boxes), OTHER, np.int32),
        cones=np.array(cones).reshape(-1, 8),
        cone_tags=np.full(len(cones), OTHER, np.int32),
    )


def _topdown(rng: np.random.Generator, intr: CameraIntrinsics, n_hands: int, distractors: bool) -> Scene:
    rig = sample_table_rig(rng, intr)
    hx, hy = rig.visible_half_extent_mm()
    hands, geos = [], []
    env = [Primitives(planes=rig.plane[None], plane_tags=np.array([OTHER], np.int32))]
    first = Handedness.RIGHT if rng.random() < 0.6 else Handedness.LEFT
    avoid = []
    for k in range(n_hands):
        hand = first if k == 0 else (Handedness.LEFT if first is Handedness.RIGHT else Handedness.RIGHT)
        shape = sample_shape(rng)
        if rng.random() < 0.5:
            angles = clamp_to_limits(sample_template(rng, 7.0, TABLE_TEMPLATES))
        else:
            angles = sample_pose(rng, shape, wrist_sigma_deg=10.0)
        opposite = k > 0 and rng.random() < 0.3
        yaw = rng.uniform(-35, 35) + (180.0 if opposite else 0.0)
        mode = rng.random()
        clearance = 0.0 if mode < 0.45 else rng.uniform(5, 60) if mode < 0.75 else rng.uniform(60, 250)
        target = np.array([rng.uniform(-0.7, 0.7) * hx, rng.uniform(-0.6, 0.6) * hy])
        pitch, roll = rng.uniform(5, 35), rng.normal(0, 12)
        state, geo = table_hand(rig, hand, angles, shape, target, yaw, clearance, pitch, roll)
        hands.append(state)
        geos.append(geo)
        avoid.append(target)
        up = rig.r_cw @ np.array([0.0, 0.0, 1.0])
        back = rig.r_cw @ rot_z(yaw) @ np.array([0.0, -1.0, 0.0])
        env.append(upper_arm(geo, k, up, back, rng))
    if distractors:
        env.append(objects_on_table(rig, rng, avoid))
    prims = concat_primitives(env)
    return Scene("topdown", intr, tuple(hands), tuple(geos), prims, rig.plane, DEFAULT_NOISE["topdown"])


def _frontal(rng: np.random.Generator, intr: CameraIntrinsics, n_hands: int, distractors: bool) -> Scene:
    hands, geos = [], []
    env: list[Primitives] = []
    first = Handedness.RIGHT if rng.random() < 0.5 else Handedness.LEFT
    z_body = 0.0
    for k in range(n_hands):
        hand = first if k == 0 else (Handedness.LEFT if first is Handedness.RIGHT else Handedness.RIGHT)
        shape = sample_shape(rng)
        z = rng.uniform(500, 1000)
        u = intr.cx + rng.uniform(-0.35, 0.35) * intr.width
        v = intr.cy + rng.uniform(-0.3, 0.3) * intr.height
        centre = np.array([(u - intr.cx) * z / intr.fx, (v - intr.cy) * z / intr.fy, z])
        base = rot_x(180.0) @ (rot_y(180.0) if rng.random() < 0.5 else np.eye(3))
        roll = float(np.clip(rng.normal(0, 45), -120, 120))
        r_cam = rot_z(roll) @ rot_x(rng.uniform(-50, 50)) @ rot_y(rng.uniform(-60, 60)) @ base
        wrist = centre - r_cam @ np.array([0.0, 0.5 * float(shape.mcp_xyz_mm[1, 1]), 0.0])
        state = HandState(sample_pose(rng, shape), r_cam, wrist, shape, hand)
        geo = forward_kinematics(state)
        hands.append(state)
        geos.append(geo)
        env.append(upper_arm(geo, k, np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]), rng))
        z_body = max(z_body, z + rng.uniform(250, 450))
    if distractors:
        cx = float(geos[0].elbow_xyz_mm[0]) + rng.uniform(-250, 250)
        top = float(geos[0].elbow_xyz_mm[1]) - rng.uniform(150, 350)
        torso = box_row([cx, top + 300, z_body], rot_y(rng.uniform(-20, 20)), [190, 300, 110])
        head = np.array([[cx + rng.uniform(-30, 30), top - 120, z_body - 20, rng.uniform(85, 100)]])
        other = np.array([OTHER], np.int32)
        env.append(Primitives(boxes=torso[None], box_tags=other, spheres=head, sphere_tags=other))
        if rng.random() < 0.7:
            wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, max(z_body + 300, rng.uniform(1500, 3000))])
            env.append(Primitives(planes=wall[None], plane_tags=np.array([OTHER], np.int32)))
    prims = concat_primitives(env)
    return Scene("frontal", intr, tuple(hands), tuple(geos), prims, None, DEFAULT_NOISE["frontal"])


def _held_object(geo: HandGeometry, state: HandState, rng: np.random.Generator) -> Primitives:
    from depthhand.synth.scenes import palm_center

    palmar = -state.rotation[:, 2]
    r = rng.uniform(25, 45)
    c = palm_center(geo.joints_xyz_mm) + palmar * (r + 0.5 * state.shape.palm_thickness_mm)
    if rng.random() < 0.5:
        return Primitives(spheres=np.array([[*c, r]]), sphere_tags=np.array([OTHER], np.int32))
    axis = state.rotation[:, 0] * rng.uniform(40, 90)
    return Primitives(cones=np.array([[*(c - axis), r, *(c + axis), r]]), cone_tags=np.array([OTHER], np.int32))


def _egocentric(rng: np.random.Generator, intr: CameraIntrinsics, n_hands: int, distractors: bool) -> Scene:
    hands, geos = [], []
    env: list[Primitives] = []
    first = Handedness.RIGHT if rng.random() < 0.6 else Handedness.LEFT
    lowest = np.inf
    n_desk = rot_x(rng.uniform(25, 60)) @ np.array([0.0, -1.0, 0.0])
    for k in range(n_hands):
        hand = first if k == 0 else (Handedness.LEFT if first is Handedness.RIGHT else Handedness.RIGHT)
        shape = sample_shape(rng)
        z = rng.uniform(300, 600)
        side = 1.0 if hand is Handedness.RIGHT else -1.0
        u = intr.cx + side * rng.uniform(0.0, 0.3) * intr.width
        v = intr.cy + rng.uniform(-0.2, 0.3) * intr.height
        centre = np.array([(u - intr.cx) * z / intr.fx, (v - intr.cy) * z / intr.fy, z])
        y_ax = np.array([0.0, -0.7, 0.71])
        z_ax = np.array([0.0, -0.71, -0.7]) * (1.0 if rng.random() < 0.7 else -1.0)
        base = np.stack([np.cross(y_ax, z_ax), y_ax, z_ax], axis=1)
        r_cam = rot_z(rng.normal(0, 25)) @ rot_x(rng.normal(0, 15)) @ rot_y(rng.normal(0, 25)) @ base
        holding = distractors and rng.random() < 0.5
        angles = clamp_to_limits(sample_template(rng, 6.0, GRASP_TEMPLATES)) if holding else sample_pose(rng, shape)
        wrist = centre - r_cam @ np.array([0.0, 0.5 * float(shape.mcp_xyz_mm[1, 1]), 0.0])
        state = HandState(angles, r_cam, wrist, shape, hand)
        geo = forward_kinematics(state)
        hands.append(state)
        geos.append(geo)
        if holding:
            env.append(_held_object(geo, state, rng))
        lowest = min(lowest, float(_heights(geo, np.array([*n_desk, 0.0])).min()))
    desk_d = lowest - rng.uniform(20, 250)
    desk = np.array([*n_desk, desk_d])
    env.append(Primitives(planes=desk[None], plane_tags=np.array([OTHER], np.int32)))
    if distractors and rng.random() < 0.6:
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, rng.uniform(900, 2000)])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([OTHER], np.int32)))
    prims = concat_primitives(env)
    return Scene("egocentric", intr, tuple(hands), tuple(geos), prims, desk, DEFAULT_NOISE["egocentric"])


def sample(
    family: str, rng: np.random.Generator, intrinsics: CameraIntrinsics | None, n_hands: int | None, distractors: bool
) -> Scene:
    """Implementation of :func:`depthhand.synth.scenes.sample_scene`."""
    intr = intrinsics or INTRINSICS[DEFAULT_INTRINSICS[family]]
    if n_hands is None:
        p_two = {"frontal": 0.1, "topdown": 0.35, "egocentric": 0.25}[family] if distractors else 0.0
        n_hands = 2 if rng.random() < p_two else 1
    if n_hands not in (1, 2):
        raise ValueError(f"n_hands must be 1 or 2, got {n_hands}")
    build = {"frontal": _frontal, "topdown": _topdown, "egocentric": _egocentric}[family]
    return build(rng, intr, n_hands, distractors)


__all__ = ["TEMPLATES", "TableRig", "place_above_plane", "sample", "sample_table_rig", "table_hand", "upper_arm"]
