"""Hard synthetic scenes: what real sensors see that the standard scene families do not (issue 17 §1).

Each *case* is a scene generator; every hand has its forearm, the upper arm where it is in view, and a shape class
drawn uniformly from :data:`depthhand.synth.hard_props.SHAPE_CLASSES` (fists, points, pinches and grasps as often as
open hands). Cases:

* ``arm_edges``: the arm enters from the left, right, top or bottom edge (cycled), fingers pointing away from it
  (down when it enters from the top), ±45° in the image and ±40° in depth; hands 350–900 mm, far wall or nothing.
* ``across_body``: a seated person, the arm across the body, fingers pointing down or sideways; the torso
  80–300 mm behind the hand.
* ``fists``: frontal, 400–500 mm, empty background, forearm in view, fists and open hands half and half.
* ``held_object``: a cylinder or box in the grasp, palm mostly towards the camera, so the object hides fingers.
* ``body_behind``: a hand 50–300 mm in front of the torso (back-most hand surface to the torso front), head and
  shoulders in view.
* ``body_distractor``: a hand, and one or two other people (torso, head, shoulders, arms hanging) in view.
* ``egocentric``: a head-mounted camera 250–600 mm from the hand, forearm entering from the bottom edge, often
  holding an object, over a cluttered counter with a wall behind.
* ``cluttered_desk``: a camera looking down at a desk 600–1200 mm away with 8–20 small objects and a wall; the
  arm enters from any edge.
* ``no_hand``: people and clutter, no hand (false hands only).

Every case cycles through the sensor families of :mod:`depthhand.synth.hard_sensors` (egocentric through the
close-range ones). :func:`sample_hard_scene` is deterministic in its generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics, Handedness
from depthhand.synth.hand_model import HandShape, sample_shape
from depthhand.synth.hard_props import (
    clutter_on_plane,
    hand_along,
    held_object,
    person,
    sample_shape_class,
    upper_arm_to,
)
from depthhand.synth.hard_sensors import CLOSE_RANGE, SENSOR_FAMILIES, SensorFamily
from depthhand.synth.kinematics import PART_HAND, HandGeometry, rot_x
from depthhand.synth.raycast import Primitives, concat_primitives, plane_row
from depthhand.synth.scenes import Scene

F64 = npt.NDArray[np.float64]
HARD_CASES = (
    "arm_edges",
    "across_body",
    "fists",
    "held_object",
    "body_behind",
    "body_distractor",
    "egocentric",
    "cluttered_desk",
    "no_hand",
)
EDGES = ("left", "right", "top", "bottom")
_TOWARD_CAMERA = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True, slots=True)
class HardScene:
    """A hard scene: the scene, its sensor family, its dark surfaces and what the case promised.

    Attributes:
        case: Case name (one of :data:`HARD_CASES`).
        family: Sensor family (intrinsics and noise).
        scene: The scene (camera = the family's preset).
        dark: Primitives of dark surfaces (a subset of the scene's environment) for the missing-pixel model.
        shape_classes: Per labelled hand, its shape class.
        entry_edge: The image edge the first hand's arm enters from (``""`` where the case does not fix one).
        body_gap_mm: For ``body_behind`` / ``across_body``: torso front minus the hand's back-most surface, mm.
        holding: Per hand, whether it holds an object.
    """

    case: str
    family: SensorFamily
    scene: Scene
    dark: Primitives
    shape_classes: tuple[str, ...]
    entry_edge: str = ""
    body_gap_mm: float = float("nan")
    holding: tuple[bool, ...] = ()


def family_for(case: str, index: int) -> SensorFamily:
    """The sensor family of frame ``index`` of ``case`` (cycled; egocentric through :data:`CLOSE_RANGE`)."""
    names = CLOSE_RANGE if case == "egocentric" else tuple(SENSOR_FAMILIES)
    return SENSOR_FAMILIES[names[(index + HARD_CASES.index(case)) % len(names)]]


def _at_pixel(u: float, v: float, z: float, k: CameraIntrinsics) -> F64:
    return np.array([(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z])


def _hand_back_depth(geo: HandGeometry) -> float:
    """Largest depth of any hand surface (not the forearm), mm."""
    c = geo.cones[geo.cone_parts == PART_HAND]
    return float(max((c[:, 2] + c[:, 3]).max(), (c[:, 6] + c[:, 7]).max()))


def _random_hand(rng: np.random.Generator, klass: str | None = None) -> tuple[Handedness, HandShape, str, F64]:
    hand = Handedness.RIGHT if rng.random() < 0.5 else Handedness.LEFT
    shape = sample_shape(rng, scale_range=(0.8, 1.15))
    name, angles = sample_shape_class(rng, shape, klass)
    return hand, shape, name, angles


def _edge_direction(edge: str, rng: np.random.Generator, depth_tilt_deg: float = 40.0) -> F64:
    """Finger direction for an arm entering from ``edge``: away from it, ±45° in the image, ±tilt in depth."""
    away = {"left": 0.0, "right": 180.0, "top": 90.0, "bottom": -90.0}[edge] + rng.uniform(-45, 45)
    tilt = np.radians(rng.uniform(-depth_tilt_deg, depth_tilt_deg))
    a = np.radians(away)
    return np.array([np.cos(a) * np.cos(tilt), np.sin(a) * np.cos(tilt), np.sin(tilt)])


def _arm_edges(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    edge = EDGES[index % 4]
    hand, shape, name, angles = _random_hand(rng)
    z = rng.uniform(max(350.0, fam.min_range_mm + 80), 900.0)
    d = _edge_direction(edge, rng)
    # the palm ≈ 0.3–0.55 of the image from the entry edge, so the forearm (250 mm) crosses it
    f = rng.uniform(0.3, 0.55)
    u = {"left": f * k.width, "right": (1 - f) * k.width}.get(edge, k.cx + rng.uniform(-0.3, 0.3) * k.width)
    v = {"top": f * k.height, "bottom": (1 - f) * k.height}.get(edge, k.cy + rng.uniform(-0.3, 0.3) * k.height)
    hint = _TOWARD_CAMERA if rng.random() < 0.6 else -_TOWARD_CAMERA
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-60, 60), angles, shape, hand)
    shoulder = geo.elbow_xyz_mm - d * rng.uniform(200, 300) + [0.0, 0.0, rng.uniform(50, 250)]
    env = [upper_arm_to(geo, shoulder, 0)]
    if rng.random() < 0.6:
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, max(z + 400, rng.uniform(1200, 3000))])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    scene = Scene("frontal", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("arm_edges", fam, scene, Primitives(), (name,), edge)


def _across_body(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    hand, shape, name, angles = _random_hand(rng)
    z = rng.uniform(max(450.0, fam.min_range_mm + 80), 850.0)
    side = 1.0 if hand is Handedness.RIGHT else -1.0  # a right hand crossing the body ends at image right
    # fingers down or sideways, away from the own shoulder
    a = np.radians(rng.uniform(20, 90) if rng.random() < 0.5 else rng.uniform(-20, 20))
    d = np.array([side * np.cos(a), np.sin(a), rng.uniform(-0.25, 0.25)])
    u = k.cx + side * rng.uniform(0.0, 0.25) * k.width
    v = k.cy + rng.uniform(-0.05, 0.3) * k.height
    hint = _TOWARD_CAMERA if rng.random() < 0.5 else -_TOWARD_CAMERA
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-50, 50), angles, shape, hand)
    gap = rng.uniform(80, 300)
    front = _hand_back_depth(geo) + gap
    # the own shoulder (the person's right for a right hand = image left) above and behind the elbow
    sh = geo.elbow_xyz_mm + [-side * rng.uniform(0, 120), -rng.uniform(180, 300), 0.0]
    torso_x = float(sh[0]) + side * rng.uniform(120, 170)
    p = person(torso_x, float(sh[1]) - 25.0, front, rng)
    own = p.shoulders_xyz_mm[1] if side > 0 else p.shoulders_xyz_mm[0]
    env = [p.prims, upper_arm_to(geo, own, 0, 360.0)]
    if rng.random() < 0.5:  # a desk in front of the person, below the hand
        desk = plane_row(
            rot_x(rng.uniform(-15, 15)) @ [0.0, -1.0, 0.0],
            [0.0, float(geo.joints_xyz_mm[:, 1].max()) + rng.uniform(60, 250), z],
        )
        env.append(Primitives(planes=desk[None], plane_tags=np.array([3], np.int32)))
    if rng.random() < 0.6:
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, front + rng.uniform(700, 1800)])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    scene = Scene("frontal", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("across_body", fam, scene, p.dark, (name,), "", gap)


def _fists(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    klass = "fist" if index % 2 == 0 else "open"
    hand, shape, name, angles = _random_hand(rng, klass)
    z = rng.uniform(max(400.0, fam.min_range_mm + 80), 500.0 if fam.min_range_mm < 450 else 650.0)
    d = _edge_direction("bottom", rng, 30.0)
    d[0] += rng.uniform(-0.4, 0.4)
    u, v = k.cx + rng.uniform(-0.25, 0.25) * k.width, k.cy + rng.uniform(-0.25, 0.1) * k.height
    hint = _TOWARD_CAMERA if rng.random() < 0.5 else -_TOWARD_CAMERA
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-70, 70), angles, shape, hand)
    env = upper_arm_to(geo, geo.elbow_xyz_mm + [0.0, 250.0, 150.0], 0)
    scene = Scene("frontal", k, (state,), (geo,), env, None, fam.model)
    return HardScene("fists", fam, scene, Primitives(), (name,), "bottom")


def _held(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    hand, shape, _, _ = _random_hand(rng)
    name, angles = sample_shape_class(rng, shape, "grasp")
    z = rng.uniform(max(350.0, fam.min_range_mm + 80), 800.0)
    edge = EDGES[int(rng.integers(4))]
    d = _edge_direction(edge, rng, 30.0)
    u, v = k.cx + rng.uniform(-0.2, 0.2) * k.width, k.cy + rng.uniform(-0.2, 0.2) * k.height
    hint = -_TOWARD_CAMERA if rng.random() < 0.75 else _TOWARD_CAMERA  # palm (and object) mostly towards the camera
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-40, 40), angles, shape, hand)
    obj = held_object(geo, state, rng)
    env = [obj, upper_arm_to(geo, geo.elbow_xyz_mm - d * 250 + [0.0, 0.0, 150.0], 0)]
    if rng.random() < 0.5:
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, z + rng.uniform(500, 2000)])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    dark = obj if rng.random() < 0.3 else Primitives()
    scene = Scene("frontal", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("held_object", fam, scene, dark, (name,), edge, holding=(True,))


def _body_behind(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    hand, shape, name, angles = _random_hand(rng)
    z = rng.uniform(max(450.0, fam.min_range_mm + 80), 1000.0)
    d = _edge_direction("bottom", rng, 35.0)
    d[0] += rng.uniform(-0.6, 0.6)
    u, v = k.cx + rng.uniform(-0.25, 0.25) * k.width, k.cy + rng.uniform(-0.2, 0.2) * k.height
    hint = _TOWARD_CAMERA if rng.random() < 0.5 else -_TOWARD_CAMERA
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-50, 50), angles, shape, hand)
    gap = rng.uniform(50, 300)
    front = _hand_back_depth(geo) + gap
    palm = geo.joints_xyz_mm[[0, 5, 9, 13, 17]].mean(axis=0)
    p = person(float(palm[0]) + rng.uniform(-120, 120), float(palm[1]) - rng.uniform(250, 420), front, rng, yaw_deg=0.0)
    own = p.shoulders_xyz_mm[1] if hand is Handedness.RIGHT else p.shoulders_xyz_mm[0]
    env = [p.prims, upper_arm_to(geo, own, 0, 360.0)]
    scene = Scene("frontal", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("body_behind", fam, scene, p.dark, (name,), "", gap)


def _people(rng: np.random.Generator, k: CameraIntrinsics, n: int, z_lo: float) -> tuple[list[Primitives], Primitives]:
    env, dark = [], []
    for _ in range(n):
        z = rng.uniform(z_lo, z_lo + 1200)
        x = (rng.uniform(0.1, 0.9) * k.width - k.cx) * z / k.fx
        top = (rng.uniform(0.15, 0.6) * k.height - k.cy) * z / k.fy
        p = person(x, top, z, rng, hanging_arms=True)
        env.append(p.prims)
        dark.append(p.dark)
    return env, concat_primitives([Primitives(), *dark])


def _body_distractor(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    hand, shape, name, angles = _random_hand(rng)
    z = rng.uniform(max(400.0, fam.min_range_mm + 80), 900.0)
    edge = EDGES[int(rng.integers(4))]
    d = _edge_direction(edge, rng)
    side = rng.choice([-1.0, 1.0])
    u, v = k.cx + side * rng.uniform(0.1, 0.3) * k.width, k.cy + rng.uniform(-0.2, 0.25) * k.height
    hint = _TOWARD_CAMERA if rng.random() < 0.6 else -_TOWARD_CAMERA
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-60, 60), angles, shape, hand)
    env, dark = _people(rng, k, int(rng.integers(1, 3)), z + 150.0)
    env.append(upper_arm_to(geo, geo.elbow_xyz_mm - d * 250 + [0.0, 0.0, 150.0], 0))
    if rng.random() < 0.6:
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, z + rng.uniform(1800, 3000)])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    scene = Scene("frontal", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("body_distractor", fam, scene, dark, (name,), edge)


def _counter(rng: np.random.Generator, depression_deg: float, height_mm: float, n_objects: int,
             keep_clear: F64 | None = None) -> tuple[list[Primitives], Primitives]:  # fmt: skip
    """A counter (a plane ``height_mm`` below the camera, seen at ``depression_deg``), clutter on it and a wall.

    Objects whose centre lies within 150 mm of ``keep_clear`` ((3,) camera mm, the hand) are left out.
    """
    base = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    r_cw = rot_x(-(90.0 - depression_deg)) @ base
    cam_w = np.array([0.0, 0.0, height_mm])

    def to_cam(p: npt.ArrayLike) -> F64:
        out: F64 = (np.asarray(p, np.float64) - cam_w) @ r_cw.T
        return out

    plane = plane_row(r_cw @ [0.0, 0.0, 1.0], to_cam([0.0, 0.0, 0.0]))
    reach = height_mm / np.tan(np.radians(max(depression_deg - 25.0, 10.0)))
    centre_w = np.array([0.0, 0.55 * reach, 0.0])
    objs, dark = clutter_on_plane(to_cam(centre_w), r_cw @ np.eye(3), (0.5 * reach + 150, 0.5 * reach), rng, n_objects)
    if keep_clear is not None:
        kb = np.linalg.norm(objs.boxes[:, :3] - keep_clear, axis=1) > 150
        kc = np.linalg.norm(objs.cones[:, :3] - keep_clear, axis=1) > 150
        ks = np.linalg.norm(objs.spheres[:, :3] - keep_clear, axis=1) > 150
        objs = Primitives(objs.spheres[ks], objs.sphere_tags[ks], objs.cones[kc], objs.cone_tags[kc],
                          objs.boxes[kb], objs.box_tags[kb])  # fmt: skip
    wall = plane_row(r_cw @ [0.0, -1.0, 0.0], to_cam([0.0, reach * rng.uniform(0.9, 1.4) + 200.0, 0.0]))
    env = [Primitives(planes=np.stack([plane, wall]), plane_tags=np.array([3, 3], np.int32)), objs]
    return env, dark


def _egocentric(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    hand, shape, name, angles = _random_hand(rng)
    holding = rng.random() < 0.5
    if holding:
        name, angles = sample_shape_class(rng, shape, "grasp")
    z = rng.uniform(250.0, 600.0)
    # the forearm comes from below and behind (the wearer's body): fingers point up-forward, away from it
    d = np.array([rng.uniform(-0.5, 0.5), -rng.uniform(0.3, 0.9), rng.uniform(0.4, 1.0)])
    u, v = k.cx + rng.uniform(-0.3, 0.3) * k.width, k.cy + rng.uniform(-0.05, 0.3) * k.height
    hint = np.array([0.0, -0.6, -0.8]) if rng.random() < 0.75 else np.array([0.0, 0.6, 0.8])
    state, geo = hand_along(_at_pixel(u, v, z, k), d, hint, rng.uniform(-40, 40), angles, shape, hand)
    env: list[Primitives] = [upper_arm_to(geo, geo.elbow_xyz_mm + [0.0, 200.0, -250.0], 0)]
    dark = Primitives()
    if holding:
        obj = held_object(geo, state, rng)
        env.append(obj)
        dark = obj if rng.random() < 0.3 else dark
    depression = rng.uniform(35, 65)
    n_up = rot_x(-(90.0 - depression)) @ np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]) @ [0, 0, 1.0]
    hand_cones = geo.cones[geo.cone_parts == PART_HAND]
    lowest = float(
        min((hand_cones[:, 0:3] @ n_up - hand_cones[:, 3]).min(), (hand_cones[:, 4:7] @ n_up - hand_cones[:, 7]).min())
    )
    height = -lowest + rng.uniform(120, 400)  # camera height above the counter: the hand 120-400 mm above it
    palm = geo.joints_xyz_mm[[0, 5, 9, 13, 17]].mean(axis=0)
    cenv, cdark = _counter(rng, depression, height, int(rng.integers(8, 20)), palm)
    env += cenv
    scene = Scene("egocentric", k, (state,), (geo,), concat_primitives(env), None, fam.model)
    return HardScene("egocentric", fam, scene, concat_primitives([dark, cdark]), (name,), "bottom", holding=(holding,))


def _cluttered_desk(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    from depthhand.synth.scene_layout import sample_table_rig, table_hand

    k = fam.intrinsics
    rig = sample_table_rig(rng, k, rng.uniform(max(600.0, fam.min_range_mm + 250), 1200.0))
    hx, hy = rig.visible_half_extent_mm()
    hand, shape, name, angles = _random_hand(rng)
    yaw = rng.uniform(0, 360)
    target = np.array([rng.uniform(-0.45, 0.45) * hx, rng.uniform(-0.45, 0.45) * hy])
    clearance = 0.0 if rng.random() < 0.3 else rng.uniform(5, 200)
    state, geo = table_hand(rig, hand, angles, shape, target, yaw, clearance, rng.uniform(5, 35), rng.normal(0, 15))
    from depthhand.synth.scene_layout import upper_arm

    up = rig.r_cw @ np.array([0.0, 0.0, 1.0])
    from depthhand.synth.kinematics import rot_z

    back = rig.r_cw @ rot_z(yaw) @ np.array([0.0, -1.0, 0.0])
    env = [Primitives(planes=rig.plane[None], plane_tags=np.array([3], np.int32)), upper_arm(geo, 0, up, back, rng)]
    objs, dark = clutter_on_plane(rig.to_cam([0.0, 0.0, 0.0]), rig.r_cw @ np.eye(3), (hx, hy), rng,
                                  int(rng.integers(8, 21)), [target], 140.0)  # fmt: skip
    env.append(objs)
    wall = plane_row(rig.r_cw @ [0.0, -1.0, 0.0], rig.to_cam([0.0, hy * rng.uniform(0.7, 1.3), 0.0]))
    env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    scene = Scene("topdown", k, (state,), (geo,), concat_primitives(env), rig.plane, fam.model)
    return HardScene("cluttered_desk", fam, scene, dark, (name,))


def _no_hand(rng: np.random.Generator, fam: SensorFamily, index: int) -> HardScene:
    k = fam.intrinsics
    if index % 2 == 0:
        env, dark = _people(rng, k, int(rng.integers(1, 3)), max(600.0, fam.min_range_mm + 200))
        wall = plane_row([0.0, 0.0, -1.0], [0.0, 0.0, rng.uniform(2200, 3500)])
        env.append(Primitives(planes=wall[None], plane_tags=np.array([3], np.int32)))
    else:
        h = rng.uniform(max(400.0, fam.min_range_mm + 150), 900.0)
        env, dark = _counter(rng, rng.uniform(40, 85), h, int(rng.integers(10, 25)))
    scene = Scene("frontal", k, (), (), concat_primitives(env), None, fam.model)
    return HardScene("no_hand", fam, scene, dark, ())


_BUILDERS = {
    "arm_edges": _arm_edges,
    "across_body": _across_body,
    "fists": _fists,
    "held_object": _held,
    "body_behind": _body_behind,
    "body_distractor": _body_distractor,
    "egocentric": _egocentric,
    "cluttered_desk": _cluttered_desk,
    "no_hand": _no_hand,
}


def sample_hard_scene(case: str, rng: np.random.Generator, index: int = 0, family: str | None = None) -> HardScene:
    """A scene of ``case`` (frame ``index`` picks the sensor family and the cycled edge or shape).

    Args:
        case: One of :data:`HARD_CASES`.
        rng: The only source of randomness.
        index: Frame number within the case.
        family: Sensor family name (default: :func:`family_for`).

    Raises:
        ValueError: For an unknown case or family.
    """
    if case not in _BUILDERS:
        raise ValueError(f"hard case must be one of {HARD_CASES}, got {case!r}")
    if family is not None and family not in SENSOR_FAMILIES:
        raise ValueError(f"sensor family must be one of {tuple(SENSOR_FAMILIES)}, got {family!r}")
    fam = SENSOR_FAMILIES[family] if family else family_for(case, index)
    return _BUILDERS[case](rng, fam, index)


def render_hard_scene(
    hs: HardScene, rng: np.random.Generator, noise: bool = True
) -> tuple[object, npt.NDArray[np.float32]]:
    """Render ``hs``: the clean labelled :class:`~depthhand.synth.scenes.SynthSample` and the sensor's depth (mm).

    The depth is the family's noise model (:func:`~depthhand.synth.hard_sensors.family_noise_params`) plus
    :func:`~depthhand.synth.hard_sensors.apply_extras` (dark surfaces, flying pixels, correlated noise); with
    ``noise`` False, the clean depth.
    """
    from depthhand.synth import noise as noise_mod
    from depthhand.synth.hard_sensors import apply_extras, family_noise_params
    from depthhand.synth.raycast import render_depth
    from depthhand.synth.scenes import render_scene

    sample = render_scene(hs.scene, rng, noise=None)
    if not noise:
        return sample, sample.clean_depth_mm
    k = hs.scene.intrinsics
    params = family_noise_params(hs.family, rng)
    depth = noise_mod.apply_noise(sample.clean_depth_mm, k, rng, params, sample.part)  # type: ignore[arg-type]
    dark = None
    if len(hs.dark.spheres) + len(hs.dark.cones) + len(hs.dark.boxes):
        dark, _ = render_depth(hs.dark, k, 8000.0)
    return sample, apply_extras(depth, sample.clean_depth_mm, dark, hs.family, rng)


__all__ = ["EDGES", "HARD_CASES", "HardScene", "family_for", "render_hard_scene", "sample_hard_scene"]
