"""Scene families (frontal, top-down, egocentric) and rendering them into labelled, optionally noisy depth.

A :class:`Scene` holds analytic primitives in camera mm plus the hands' states; :func:`render_scene` ray-casts it
and computes labels: canonical-21 joints per hand in xyz (mm) and uvd, per-joint visibility, per-pixel parts
(hand / arm / other) with the owning hand, 2-D boxes, handedness, fingertip heights above the table and touch
flags. Scene recipes follow ``shared/reference/synthetic-hands.md`` §4 (placement is sampled in
``scene_layout.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import xyz_to_uvd
from depthhand.structures import CameraIntrinsics, Handedness
from depthhand.synth.kinematics import (
    PART_ARM,
    PART_HAND,
    HandGeometry,
    HandState,
)
from depthhand.synth.raycast import Primitives, concat_primitives, render_labelled

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
SCENES = ("frontal", "topdown", "egocentric")
TOUCH_MM = 3.0
"""A fingertip whose lowest point is within this distance of the table counts as touching."""


@dataclass(frozen=True, slots=True)
class Scene:
    """A sampled scene in camera coordinates.

    Attributes:
        family: ``"frontal"``, ``"topdown"`` or ``"egocentric"``.
        intrinsics: The camera.
        hands: Posed hands (the labelled ones), index = owner id in the part images.
        geometries: Forward kinematics of ``hands``.
        environment: Everything that is not a labelled hand (table, body, objects), tagged ``PART_OTHER``.
        table_plane: (4,) table plane ``n · p = d`` in camera mm (n unit, towards the camera), or None.
        noise_model: Default sensor family for this scene (a ``noise.SensorModel`` value name).
    """

    family: str
    intrinsics: CameraIntrinsics
    hands: tuple[HandState, ...]
    geometries: tuple[HandGeometry, ...]
    environment: Primitives
    table_plane: F64 | None = None
    noise_model: str = "structured_light"

    def primitives(self) -> Primitives:
        """All primitives, hands tagged with their owner index."""
        parts = [self.environment]
        for k, geo in enumerate(self.geometries):
            tags = (geo.cone_parts + 4 * (k + 1)).astype(np.int32)  # == part_tag(part, k)
            parts.append(Primitives(cones=geo.cones, cone_tags=tags))
        return concat_primitives(parts)


@dataclass(frozen=True, slots=True)
class SynthSample:
    """One rendered frame with ground truth (K labelled hands).

    Attributes:
        depth_mm: (H, W) float32 depth (noisy when a noise model was applied), 0 = invalid.
        clean_depth_mm: (H, W) float32 noise-free depth.
        part: (H, W) uint8 part per pixel of the clean render: 0 none, 1 hand, 2 arm, 3 other.
        owner: (H, W) int8 labelled hand index per pixel (−1 for none/other).
        intrinsics: The camera.
        joints_xyz_mm: (K, 21, 3) canonical joints, camera mm.
        joints_uvd: (K, 21, 3) pixels and depth mm.
        visibility: (K, 21) bool: the joint's pixel shows its own hand (or arm), at most its radius + 10 mm in front.
        boxes_xyxy: (K, 4) float32 image box of each hand's visible hand pixels (joints' box when none).
        center_xyz_mm: (K, 3) palm centre (mean of the wrist and the four finger MCPs).
        handedness: Per hand.
        fingertip_height_mm: (K, 5) lowest point of each fingertip (thumb first) above the table; NaN without one.
        touch: (K, 5) bool, fingertip height ≤ :data:`TOUCH_MM`.
        table_plane: (4,) or None, as in :class:`Scene`.
        family: Scene family.
    """

    depth_mm: F32
    clean_depth_mm: F32
    part: npt.NDArray[np.uint8]
    owner: npt.NDArray[np.int8]
    intrinsics: CameraIntrinsics
    joints_xyz_mm: F64
    joints_uvd: F64
    visibility: npt.NDArray[np.bool_]
    boxes_xyxy: F32
    center_xyz_mm: F64
    handedness: tuple[Handedness, ...]
    fingertip_height_mm: F64
    touch: npt.NDArray[np.bool_]
    table_plane: F64 | None
    family: str

    def joints_as(self, joint_set: str) -> F64:
        """(K, J, 3) joints in camera mm mapped to another skeleton (``"nyu14"``, ``"icvl16"``, ``"msra21"``, ...).

        Uses ``depthhand.skeleton.joint_mapping("canonical21", joint_set)``; see it for which joints are approximate.
        """
        from depthhand.skeleton import joint_mapping

        return joint_mapping("canonical21", joint_set).apply(self.joints_xyz_mm)


def palm_center(joints_xyz_mm: F64) -> F64:
    """(…, 3) mean of the wrist and the four finger MCPs of (…, 21, 3) canonical joints."""
    from depthhand.skeleton import Canonical21 as C

    idx = [C.WRIST, C.INDEX_MCP, C.MIDDLE_MCP, C.RING_MCP, C.PINKY_MCP]
    out: F64 = np.asarray(joints_xyz_mm, np.float64)[..., idx, :].mean(axis=-2)
    return out


def fingertip_heights(geo: HandGeometry, plane: F64 | None) -> F64:
    """(5,) height (mm) of each fingertip sphere's lowest point above ``plane`` (NaN when there is no plane)."""
    if plane is None:
        return np.full(5, np.nan)
    out: F64 = geo.tip_spheres[:, :3] @ plane[:3] - plane[3] - geo.tip_spheres[:, 3]
    return out


def sample_scene(
    family: str,
    rng: np.random.Generator,
    intrinsics: CameraIntrinsics | None = None,
    n_hands: int | None = None,
    distractors: bool = True,
) -> Scene:
    """Sample a random scene of ``family``.

    Args:
        family: One of :data:`SCENES`.
        rng: Random generator (the only source of randomness: same state, same scene).
        intrinsics: Camera; default per family (NYU for frontal, Astra for top-down, SR300/FPHA for egocentric).
        n_hands: Labelled hands (1 or 2); default random (mostly 1).
        distractors: Add objects, body, a second hand where the family has them.

    Returns:
        The :class:`Scene`.
    """
    from depthhand.synth import scene_layout

    if family not in SCENES:
        raise ValueError(f"scene family must be one of {SCENES}, got {family!r}")
    return scene_layout.sample(family, rng, intrinsics, n_hands, distractors)


def _noise_params(model: str | None, rng: np.random.Generator, scene_default: str) -> object | None:
    """Sampled noise parameters, or None when no noise is wanted / the noise module is missing."""
    if model in (None, "none"):
        return None
    try:
        from depthhand.synth import noise
    except ImportError:  # the noise models are optional
        return None
    if model == "random":
        model = scene_default if rng.random() < 0.7 else str(rng.choice(["structured_light", "active_stereo", "tof"]))
    elif model == "default":
        model = scene_default
    return noise.sample_params(model, rng)


def apply_sensor_noise(
    depth_mm: F32,
    intrinsics: CameraIntrinsics,
    rng: np.random.Generator,
    model: str | None,
    labels: npt.NDArray[np.integer] | None = None,
    scene_default: str = "structured_light",
) -> F32:
    """Noise ``depth_mm`` with ``model`` (a sensor family name, ``"default"``, ``"random"`` or None = clean).

    Uses :func:`depthhand.synth.noise.apply_noise` with randomised parameters; returns the clean depth when
    ``model`` is None or the noise module is not installed.
    """
    params = _noise_params(model, rng, scene_default)
    if params is None:
        return depth_mm
    from depthhand.synth import noise

    return noise.apply_noise(depth_mm, intrinsics, rng, params, labels)  # type: ignore[arg-type]


def render_scene(scene: Scene, rng: np.random.Generator, noise: str | None = "default") -> SynthSample:
    """Ray-cast ``scene`` and compute all labels.

    Args:
        scene: From :func:`sample_scene`.
        rng: Random generator for the noise.
        noise: Sensor family name, ``"default"`` (the scene's), ``"random"`` or None (clean depth).

    Returns:
        The :class:`SynthSample`.
    """
    intr = scene.intrinsics
    clean, tag, part, owner = render_labelled(scene.primitives(), intr, max_depth_mm=8000.0)
    depth = apply_sensor_noise(clean, intr, rng, noise, tag + 1, scene.noise_model)
    k = len(scene.hands)
    joints = np.stack([g.joints_xyz_mm for g in scene.geometries]) if k else np.zeros((0, 21, 3))
    uvd = xyz_to_uvd(joints.reshape(-1, 3), intr).reshape(joints.shape) if k else np.zeros((0, 21, 3))
    vis = np.zeros((k, 21), bool)
    boxes = np.zeros((k, 4), np.float32)
    heights = np.full((k, 5), np.nan)
    h, w = clean.shape
    for i, geo in enumerate(scene.geometries):
        u = np.floor(uvd[i, :, 0] + 0.5).astype(np.int64)
        v = np.floor(uvd[i, :, 1] + 0.5).astype(np.int64)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (uvd[i, :, 2] > 0)
        uc, vc = np.clip(u, 0, w - 1), np.clip(v, 0, h - 1)
        surface = clean[vc, uc]
        own = (owner[vc, uc] == i) & ((part[vc, uc] == PART_HAND) | (part[vc, uc] == PART_ARM))
        vis[i] = inside & own & (surface > 0) & (surface >= uvd[i, :, 2] - geo.joint_radii_mm - 10.0)
        box = _pixel_box(part, owner, i, uvd[i], geo.joint_radii_mm, intr)
        if box is not None:
            boxes[i] = box
        else:
            boxes[i] = (*uvd[i, :, :2].min(axis=0), *uvd[i, :, :2].max(axis=0))
        heights[i] = fingertip_heights(geo, scene.table_plane)
    return SynthSample(
        depth_mm=depth,
        clean_depth_mm=clean,
        part=part,
        owner=owner,
        intrinsics=intr,
        joints_xyz_mm=joints,
        joints_uvd=uvd,
        visibility=vis,
        boxes_xyxy=boxes,
        center_xyz_mm=palm_center(joints) if k else np.zeros((0, 3)),
        handedness=tuple(s.handedness for s in scene.hands),
        fingertip_height_mm=heights,
        touch=np.nan_to_num(heights, nan=np.inf) <= TOUCH_MM,
        table_plane=scene.table_plane,
        family=scene.family,
    )


def _pixel_box(
    part: npt.NDArray[np.uint8],
    owner: npt.NDArray[np.int8],
    hand: int,
    joints_uvd: F64,
    radii_mm: F64,
    intr: CameraIntrinsics,
) -> tuple[float, float, float, float] | None:
    """Tight box (edge coordinates) of ``hand``'s hand pixels, searched near its projected joints; None if none."""
    h, w = part.shape
    if np.any(joints_uvd[:, 2] <= 0):
        return None
    margin = 2 + float(np.max(radii_mm * intr.fx / joints_uvd[:, 2]))
    u0 = int(np.clip(np.floor(joints_uvd[:, 0].min() - margin), 0, w))
    u1 = int(np.clip(np.ceil(joints_uvd[:, 0].max() + margin) + 1, 0, w))
    v0 = int(np.clip(np.floor(joints_uvd[:, 1].min() - margin), 0, h))
    v1 = int(np.clip(np.ceil(joints_uvd[:, 1].max() + margin) + 1, 0, h))
    mask = (owner[v0:v1, u0:u1] == hand) & (part[v0:v1, u0:u1] == PART_HAND)
    if not mask.any():
        return None
    vs, us = np.nonzero(mask)
    return (u0 + us.min() - 0.5, v0 + vs.min() - 0.5, u0 + us.max() + 0.5, v0 + vs.max() + 0.5)


__all__ = [
    "PART_ARM",
    "PART_HAND",
    "SCENES",
    "Scene",
    "SynthSample",
    "apply_sensor_noise",
    "palm_center",
    "render_scene",
    "sample_scene",
]
