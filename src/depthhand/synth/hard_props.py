"""Building blocks of the hard synthetic scenes: balanced hand shapes, arm-directed hands, people, clutter, objects.

All positions are camera millimetres (x right, y down, z forward). A hand is placed by the direction its fingers
point (:func:`hand_along`): the forearm then runs back from the wrist along the opposite direction, so choosing the
direction chooses the image edge the arm enters from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.structures import Handedness
from depthhand.synth.hand_model import HandShape, clamp_to_limits
from depthhand.synth.kinematics import (
    PART_ARM,
    PART_OTHER,
    HandGeometry,
    HandState,
    forward_kinematics,
    part_tag,
    rot_z,
)
from depthhand.synth.pose_prior import sample_pose, sample_template
from depthhand.synth.raycast import Primitives, box_row, concat_primitives

F64 = npt.NDArray[np.float64]
OTHER = part_tag(PART_OTHER)

SHAPE_CLASSES: dict[str, tuple[str, ...]] = {
    "open": ("flat", "spread", "relaxed", "four", "hover_flat"),
    "fist": ("fist", "thumbs_up"),
    "point": ("point", "gun", "l_shape", "v", "touch_point"),
    "pinch": ("pinch", "ok", "tripod", "lateral_pinch"),
    "grasp": ("power_sphere", "cylinder", "claw"),
}
"""Hand-shape classes drawn equally often (pose-prior template names); fists, points, pinches, grasps as open hands."""


def sample_shape_class(rng: np.random.Generator, shape: HandShape, klass: str | None = None) -> tuple[str, F64]:
    """A hand shape class (uniform over :data:`SHAPE_CLASSES` unless given) and its articulation angles (degrees).

    ``open`` mixes its templates with the full pose prior (a third of the time); the other classes are jittered
    templates (σ 7°), clamped to the joint limits.
    """
    name = klass or tuple(SHAPE_CLASSES)[int(rng.integers(len(SHAPE_CLASSES)))]
    if name == "open" and rng.random() < 0.33:
        return name, sample_pose(rng, shape, wrist_sigma_deg=15.0)
    angles = clamp_to_limits(sample_template(rng, 7.0, SHAPE_CLASSES[name]))
    angles[0], angles[1] = rng.normal(0, 15.0), rng.normal(0, 8.0)
    return name, clamp_to_limits(angles)


def frame_along(direction: npt.ArrayLike, dorsal_hint: npt.ArrayLike, roll_deg: float = 0.0) -> F64:
    """(3, 3) hand-local → camera rotation whose local +y (towards the fingers) is ``direction``.

    The back of the hand (local +z) is ``dorsal_hint`` made perpendicular to ``direction``, then rolled by
    ``roll_deg`` about it.
    """
    y = np.asarray(direction, np.float64)
    y = y / np.linalg.norm(y)
    z = np.asarray(dorsal_hint, np.float64) - float(np.dot(dorsal_hint, y)) * y
    if np.linalg.norm(z) < 1e-6:
        z = np.cross(y, [1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.cross(y, [0.0, 1.0, 0.0])
    z = z / np.linalg.norm(z)
    r = np.radians(roll_deg)
    z = np.cos(r) * z + np.sin(r) * np.cross(y, z)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)


def hand_along(
    palm_xyz_mm: npt.ArrayLike,
    direction: npt.ArrayLike,
    dorsal_hint: npt.ArrayLike,
    roll_deg: float,
    angles_deg: F64,
    shape: HandShape,
    handedness: Handedness,
) -> tuple[HandState, HandGeometry]:
    """A hand with its palm centre at ``palm_xyz_mm`` and fingers along ``direction`` (see :func:`frame_along`)."""
    rot = frame_along(direction, dorsal_hint, roll_deg)
    wrist = np.asarray(palm_xyz_mm, np.float64) - rot @ np.array([0.0, 0.5 * float(shape.mcp_xyz_mm[1, 1]), 0.0])
    state = HandState(np.asarray(angles_deg, np.float64), rot, wrist, shape, handedness)
    return state, forward_kinematics(state)


def arm_cone(a: npt.ArrayLike, ra: float, b: npt.ArrayLike, rb: float, owner: int) -> Primitives:
    """One round cone tagged as ``owner``'s arm."""
    row = np.concatenate([np.asarray(a, np.float64), [ra], np.asarray(b, np.float64), [rb]])[None]
    return Primitives(cones=row, cone_tags=np.array([part_tag(PART_ARM, owner)], np.int32))


def upper_arm_to(
    geo: HandGeometry, shoulder_xyz_mm: npt.ArrayLike, owner: int, max_len_mm: float = 320.0
) -> Primitives:
    """Upper arm from ``geo``'s elbow towards a shoulder, at most ``max_len_mm`` long (``owner``'s arm)."""
    e = geo.elbow_xyz_mm
    d = np.asarray(shoulder_xyz_mm, np.float64) - e
    n = float(np.linalg.norm(d))
    end = e + d * min(1.0, max_len_mm / max(n, 1e-6))
    r = float(geo.cones[-2, 7]) if geo.cones.shape[0] >= 2 else 30.0
    return arm_cone(e, r * 1.05, end, r * 1.3, owner)


@dataclass(frozen=True, slots=True)
class Person:
    """A person's torso, head and shoulders (environment primitives) and where the shoulders are.

    Attributes:
        prims: Torso box, neck, head, shoulder spheres (and hanging arms when asked), tagged other.
        dark: The hair cap (a dark surface for the sensor).
        shoulders_xyz_mm: (2, 3) the person's left and right shoulder centres (the person faces the camera, so their
            right shoulder is at image left).
        front_z_mm: Depth of the torso's front face.
    """

    prims: Primitives
    dark: Primitives
    shoulders_xyz_mm: F64
    front_z_mm: float


def person(
    center_x_mm: float,
    top_y_mm: float,
    front_z_mm: float,
    rng: np.random.Generator,
    hanging_arms: bool = False,
    yaw_deg: float | None = None,
) -> Person:
    """A person facing the camera: torso top at ``top_y_mm``, front face at ``front_z_mm``, centred at ``center_x_mm``.

    Sizes: torso half widths 160–210 × 260–330 × 100–130 mm, turned ±20°; head radius 85–100 mm; shoulder spheres
    55–65 mm. ``hanging_arms`` adds both arms down the sides of the torso, ending in a closed sleeve (no hand).
    The torso's nearest point lies at ``front_z_mm`` whatever its yaw (``yaw_deg``, default ±20° at random).
    """
    from depthhand.synth.kinematics import rot_y

    hw, hh, hd = rng.uniform(160, 210), rng.uniform(260, 330), rng.uniform(100, 130)
    yaw = float(rng.uniform(-20, 20)) if yaw_deg is None else float(yaw_deg)
    rot = rot_y(yaw)
    depth_c = front_z_mm + hd * np.cos(np.radians(yaw)) + hw * abs(np.sin(np.radians(yaw)))
    centre = np.array([center_x_mm, top_y_mm + hh, depth_c])
    torso = box_row(centre, rot, [hw, hh, hd])
    side = rot @ np.array([1.0, 0.0, 0.0])
    top = np.array([center_x_mm, top_y_mm + 25.0, depth_c])
    shoulders = np.stack([top + side * (hw - 30.0), top - side * (hw - 30.0)])  # person's left (image right), right
    r_head = rng.uniform(85, 100)
    head_c = np.array([center_x_mm + rng.uniform(-25, 25), top_y_mm - 60.0 - r_head, front_z_mm + hd * 0.6])
    neck_top, neck_bot = head_c + [0.0, r_head * 0.7, 0.0], np.array([center_x_mm, top_y_mm + 10.0, head_c[2]])
    spheres = [[*head_c, r_head], *[[*s, rng.uniform(55, 65)] for s in shoulders]]
    cones = [[*neck_top, 45.0, *neck_bot, 55.0]]
    if hanging_arms:
        for s in shoulders:
            elbow = s + [rng.uniform(-20, 20), rng.uniform(260, 300), rng.uniform(-30, 10)]
            cones.append([*s, 48.0, *elbow, 42.0])
            cones.append([*elbow, 42.0, *(elbow + [rng.uniform(-30, 30), 230.0, rng.uniform(-80, 0)]), 36.0])
    prims = Primitives(
        spheres=np.array(spheres, np.float64),
        sphere_tags=np.full(len(spheres), OTHER, np.int32),
        cones=np.array(cones, np.float64),
        cone_tags=np.full(len(cones), OTHER, np.int32),
        boxes=torso[None],
        box_tags=np.array([OTHER], np.int32),
    )
    hair = np.array([[*(head_c + [0.0, -r_head * 0.25, r_head * 0.1]), r_head * 0.95]])
    dark = Primitives(spheres=hair, sphere_tags=np.array([OTHER], np.int32))
    return Person(prims + dark, dark, shoulders, float(front_z_mm))


def clutter_on_plane(
    origin_xyz_mm: npt.ArrayLike,
    axes: F64,
    half_extent_mm: tuple[float, float],
    rng: np.random.Generator,
    count: int,
    avoid_xy_mm: list[F64] | None = None,
    avoid_radius_mm: float = 120.0,
) -> tuple[Primitives, Primitives]:
    """``count`` small objects (boxes, upright cylinders, balls) standing on a plane; also the dark ones among them.

    Args:
        origin_xyz_mm: (3,) a point of the plane (camera mm).
        axes: (3, 3) columns: the plane's two in-plane axes and its normal (towards the camera side), camera frame.
        half_extent_mm: Objects are placed within ±these along the two in-plane axes.
        rng: Random generator.
        count: Objects to try to place.
        avoid_xy_mm: In-plane positions to keep clear (under the hand).
        avoid_radius_mm: Clearance around each of them.

    Returns:
        ``(objects, dark_objects)``; every dark object is also in ``objects``.
    """
    o = np.asarray(origin_xyz_mm, np.float64)
    ex, ey, n = axes[:, 0], axes[:, 1], axes[:, 2]
    boxes, cones, spheres, dark_idx = [], [], [], []
    for _ in range(count):
        xy = np.array([rng.uniform(-1, 1) * half_extent_mm[0], rng.uniform(-1, 1) * half_extent_mm[1]])
        if avoid_xy_mm and any(np.linalg.norm(xy - a) < avoid_radius_mm for a in avoid_xy_mm):
            continue
        base = o + xy[0] * ex + xy[1] * ey
        kind = rng.random()
        if kind < 0.45:
            half = np.array([rng.uniform(12, 70), rng.uniform(12, 70), rng.uniform(5, 60)])
            rot = axes @ rot_z(rng.uniform(0, 90))
            boxes.append(box_row(base + n * half[2], rot, half))
            dark_idx.append(("box", len(boxes) - 1))
        elif kind < 0.8:
            r, h = rng.uniform(12, 45), rng.uniform(30, 160)
            cones.append([*(base + n * r), r, *(base + n * max(h - r, r)), r])
            dark_idx.append(("cone", len(cones) - 1))
        else:
            r = rng.uniform(15, 45)
            spheres.append([*(base + n * r), r])
            dark_idx.append(("sphere", len(spheres) - 1))
    objs = Primitives(
        boxes=np.array(boxes, np.float64).reshape(-1, 15),
        box_tags=np.full(len(boxes), OTHER, np.int32),
        cones=np.array(cones, np.float64).reshape(-1, 8),
        cone_tags=np.full(len(cones), OTHER, np.int32),
        spheres=np.array(spheres, np.float64).reshape(-1, 4),
        sphere_tags=np.full(len(spheres), OTHER, np.int32),
    )
    pick = [d for d in dark_idx if rng.random() < 0.25]
    dark = concat_primitives(
        [Primitives()]
        + [
            Primitives(boxes=objs.boxes[i : i + 1], box_tags=objs.box_tags[i : i + 1])
            if k == "box"
            else Primitives(cones=objs.cones[i : i + 1], cone_tags=objs.cone_tags[i : i + 1])
            if k == "cone"
            else Primitives(spheres=objs.spheres[i : i + 1], sphere_tags=objs.sphere_tags[i : i + 1])
            for k, i in pick
        ]
    )
    return objs, dark


def held_object(geo: HandGeometry, state: HandState, rng: np.random.Generator) -> Primitives:
    """A cylinder (across the palm) or a box in the grasp, on the palm side, large enough to hide the fingers.

    The cylinder (radius 22–40 mm, 110–220 mm long) or box (half sizes 25–45 × 50–90 × 25–45 mm) sits against the
    palm, centred between the palm centre and the fingers' middle phalanges.
    """
    from depthhand.skeleton import Canonical21 as C
    from depthhand.synth.scenes import palm_center

    rot = state.rotation
    palmar, across = -rot[:, 2], rot[:, 0]
    j = geo.joints_xyz_mm
    mid = 0.5 * (palm_center(j) + j[[C.INDEX_PIP, C.MIDDLE_PIP, C.RING_PIP, C.PINKY_PIP]].mean(axis=0))
    if rng.random() < 0.6:
        r = rng.uniform(22, 40)
        c = mid + palmar * (r + 0.5 * state.shape.palm_thickness_mm)
        half_len = 0.5 * rng.uniform(110, 220)
        return Primitives(cones=np.array([[*(c - across * half_len), r, *(c + across * half_len), r]]),
                          cone_tags=np.array([OTHER], np.int32))  # fmt: skip
    half = np.array([rng.uniform(50, 90), rng.uniform(25, 45), rng.uniform(25, 45)])
    c = mid + palmar * (half[2] + 0.5 * state.shape.palm_thickness_mm)
    return Primitives(boxes=box_row(c, rot, half)[None], box_tags=np.array([OTHER], np.int32))


__all__ = [
    "SHAPE_CLASSES",
    "Person",
    "arm_cone",
    "clutter_on_plane",
    "frame_along",
    "hand_along",
    "held_object",
    "person",
    "sample_shape_class",
    "upper_arm_to",
]
