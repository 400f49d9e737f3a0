"""Contact from the depth pixels at each fingertip (DIRECT's tip statistic, reference §2.1 and §2.3).

The pose says which finger and where to look; the pixels say whether it touches. For one hand,
:func:`measure_hand` takes a window around the fingertips near the table, computes each pixel's height above the
:class:`~depthhand.interact.surface.SurfaceModel`, and per finger (:mod:`depthhand.interact.fingertip`):

* the finger's **reliable pixels**: above the surface noise, off depth edges (the depth's second difference above
  ``max(edge_mm, edge_sigmas · σ)``: silhouette and time-of-flight mixed pixels), below the hand zone's top
  (``hand_band_mm``, DIRECT: 60 mm), eroded by ``erode_px``; their 8-connected blob nearest the pose's fingertip;
* the **tip pixels**: the ``tip_pixels`` (DIRECT: 8) pixels of that blob farthest along the finger (MCP → tip);
* the **height**: their mean height above the surface minus ``touch_level_mm``, the tip pixels' height when the
  finger touches (its top at the tip: ≈ the finger's radius plus the slope over the pixels averaged). The tracker
  smooths it (EWMA, DIRECT: α 0.5) and decides with thresholds in mm and in σ of the mean
  (:mod:`depthhand.interact.touch`);
* the **touch position**: the tip pixels' surface points, their centroid moved back along the finger by
  ``tip_setback_mm`` (the tip pixels lie at the front of the tip sphere, the contact is under its centre),
  projected onto the plane; not the joint.

A resting palm or finger fires no touch: a blob whose low part (lower than the tip pixels plus ``rest_band_mm``,
within the finger's width) runs back along the finger beyond ``max_length_mm`` is *resting* (a tapping finger
rises steeply behind its tip; a flat one does not), reported as such and never a touch. Palm rejection proper is
:mod:`depthhand.interact.fused`.

When the window has too few valid pixels (occlusion, dropout) the reading says so (``ok = False``) and the caller
falls back to the pose's fingertip height; when no reliable pixel lies near the tip the finger is above the hand
zone or off the pose (``ok = True``, height ``inf``: it does not touch).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, project_to_plane
from depthhand.interact.fingertip import finger_mask, tip_statistic
from depthhand.interact.surface import SurfaceModel
from depthhand.numeric import median
from depthhand.skeleton import Finger, JointSet

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ContactSettings:
    """Zones and limits of the pixel contact rule (defaults for Astra / D4xx / ToF class sensors at 0.8–1.2 m).

    Attributes:
        noise_z: Pixels within this many σ of the surface are surface.
        noise_floor_mm: ... and those lower than this, mm.
        hand_band_mm: Top of the hand zone, mm (DIRECT: 60); higher pixels are arm.
        edge_mm: A |Laplacian| of the depth above this makes a depth-edge pixel, mm ...
        edge_sigmas: ... or above this many σ of the pixel's surface noise, whichever is larger.
        edge_noise: ... or above this many times the largest Laplacian of the empty surface
            (:attr:`~depthhand.interact.surface.SurfaceModel.laplacian_noise_mm`), whichever is largest.
        erode_px: Erosion of the reliable mask, px.
        min_blob_px: Smaller blobs of reliable pixels are dropped (DIRECT: a finger has ≥ 10 px).
        search_mm: Radius around the projected fingertip searched for its tip pixels, mm.
        margin_mm: Window margin around the fingertips and their PIP joints, mm.
        tip_pixels: Pixels averaged for the contact statistic (the farthest along the finger; DIRECT: 8).
        corridor_mm: Tip pixels lie at most this far from the pose's finger line (MCP → tip through the tip), mm.
        span_mm: ... and at most this much above the lowest pixels of the blob near the tip, mm.
        touch_level_mm: Subtracted from the statistic: its value when the finger touches, mm.
        level_sigmas: ... plus this many times the tip pixels' per-pixel noise σ (as a height): only pixels more
            than ``noise_z`` σ above the surface count, so on a noisier sensor the lowest pixels of the tip drop out
            and the statistic at contact rises with σ.
        tip_setback_mm: The touch position is the tip pixels' centroid moved back along the finger this far, mm.
        rest_band_mm: The low part of a blob: lower than the tip pixels plus this, mm.
        max_length_mm: A blob whose low part runs back along the finger farther than this is resting, mm.
        min_valid: Smallest fraction of valid pixels near the tip for a pixel reading.
        near_table_mm: Only fingertips whose pose height is below this are measured, mm. 30: a finger the pose puts
            higher is > 3 σ of the shipped network's fingertip height error (≈ 9 mm) from a touch, and the fused
            filter weighs such a reading too little to pull it down. Against 90 mm the touch figures are the same
            (``touch.stress`` seeds 0 and 1: one false touch fewer; ``serve.touch_pipeline`` identical) and the
            engine costs 21 % less end to end, 31 % less on the stress scenes (BENCHMARKS.md, "Fewer fingers
            measured").
    """

    noise_z: float = 3.0
    noise_floor_mm: float = 3.0
    hand_band_mm: float = 60.0
    edge_mm: float = 5.0
    edge_sigmas: float = 5.0
    edge_noise: float = 1.0
    erode_px: int = 0
    min_blob_px: int = 10
    search_mm: float = 28.0
    margin_mm: float = 25.0
    tip_pixels: int = 8
    corridor_mm: float = 18.0
    span_mm: float = 25.0
    touch_level_mm: float = 8.0
    level_sigmas: float = 3.0
    tip_setback_mm: float = 5.0
    rest_band_mm: float = 8.0
    max_length_mm: float = 40.0
    min_valid: float = 0.5
    near_table_mm: float = 30.0


@dataclass(frozen=True, slots=True)
class ContactReading:
    """What the pixels say about one fingertip in one frame.

    Attributes:
        ok: Enough valid pixels for a pixel decision (else: use the pose).
        height_mm: The tip pixels' mean height minus the touch level, mm (inf: no reliable pixel near the tip).
        xyz_mm: (3,) contact point on the plane (from the tip pixels), camera mm; ``None`` without tip pixels.
        pixels: Number of tip pixels.
        resting: The blob is a resting finger / palm (never a touch).
        noise_mm: The surface model's noise amplitude (:attr:`SurfaceModel.noise_amplitude_mm`), mm: how far
            single pixels stray; the fused rule weighs the reading by it.
        sigma_mm: σ of ``height_mm`` from the tip pixels' surface noise (mean σ / √n), mm (0 without pixels).
    """

    ok: bool
    height_mm: float
    xyz_mm: tuple[float, float, float] | None = None
    pixels: int = 0
    resting: bool = False
    noise_mm: float = 0.0
    sigma_mm: float = 0.0


MISSING = ContactReading(False, float("nan"))


def _project(xyz: F64, fx: float, fy: float, cx: float, cy: float) -> tuple[float, float]:
    return fx * xyz[0] / xyz[2] + cx, fy * xyz[1] / xyz[2] + cy


@functools.lru_cache(maxsize=32)
def _tip_layout(joint_set: JointSet) -> tuple[tuple[Finger, int, int, int], ...]:
    """``(finger, tip, joint two bones up, joint three bones up)`` of every fingertip of a skeleton (cached)."""
    return tuple(
        (finger, tip, _back_joint(joint_set, tip), _back_joint(joint_set, tip, 3)) for finger, tip in joint_set.tips
    )


def _back_joint(joint_set: JointSet, tip_idx: int, steps: int = 2) -> int:
    """The joint ``steps`` bones up from a fingertip (2: the PIP of a four-joint finger, 3: its MCP)."""
    parent = {child: par for par, child in joint_set.bones}
    j = tip_idx
    for _ in range(steps):
        if j not in parent:
            break
        j = parent[j]
    return j


def measure_hand(
    depth_mm: npt.NDArray[np.floating],
    surface: SurfaceModel,
    plane: Plane,
    joints_xyz_mm: npt.NDArray[np.floating],
    joint_set: JointSet,
    fingers: tuple[Finger, ...],
    settings: ContactSettings,
) -> dict[Finger, ContactReading]:
    """Pixel contact readings of one hand's fingertips (see the module docstring).

    Args:
        depth_mm: (H, W) depth of the frame, mm.
        surface: The surface model (its prior before it has learned).
        plane: The table plane (for the contact point and the fingers' heights).
        joints_xyz_mm: (J, 3) the hand's joints, camera mm.
        joint_set: Their skeleton (fingertips and the joints before them).
        fingers: Fingers to measure.
        settings: Zones and limits.

    Returns:
        finger → reading, for the fingers near the table (the others are left out: far away).
    """
    import cv2

    k = surface.intrinsics
    joints = np.asarray(joints_xyz_mm, dtype=np.float64)
    layout = [item for item in _tip_layout(joint_set) if item[0] in fingers]
    if not layout:
        return {}
    tip_xyz = joints[[t for _, t, _, _ in layout]]
    keep = np.all(np.isfinite(tip_xyz), axis=1) & (tip_xyz[:, 2] > 0)
    keep[keep] = ~(tip_xyz[keep] @ plane.normal + plane.offset_mm > settings.near_table_mm)
    tips: dict[Finger, tuple[F64, F64, F64]] = {
        finger: (tip_xyz[i], joints[back], joints[base]) for i, (finger, _, back, base) in enumerate(layout) if keep[i]
    }
    if not tips:
        return {}
    pts = np.array([p for tri in tips.values() for p in tri[:2]])
    z_ref = median(pts[:, 2])
    px_per_mm = k.fx / z_ref
    margin = settings.margin_mm * px_per_mm
    u = k.fx * pts[:, 0] / pts[:, 2] + k.cx
    v = k.fy * pts[:, 1] / pts[:, 2] + k.cy
    u0, v0 = max(int(np.floor(u.min() - margin)), 0), max(int(np.floor(v.min() - margin)), 0)
    u1, v1 = min(int(np.ceil(u.max() + margin)) + 1, k.width), min(int(np.ceil(v.max() + margin)) + 1, k.height)
    if u1 - u0 < 3 or v1 - v0 < 3:
        return dict.fromkeys(tips, MISSING)
    depth = np.asarray(depth_mm)
    h, zs, valid = surface.heights(depth, (u0, v0, u1, v1))
    d = depth[v0:v1, u0:u1].astype(np.float32)
    sigma_d = surface.sigma_mm[v0:v1, u0:u1]
    mask = finger_mask(
        d, h, zs, valid, sigma_d, settings.noise_z, settings.noise_floor_mm, settings.hand_band_mm,
        settings.edge_mm, settings.edge_sigmas, settings.erode_px, settings.edge_noise * surface.laplacian_noise_mm,
    )  # fmt: skip
    _, labels_any, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    labels = np.asarray(labels_any, dtype=np.int32)
    small = stats[:, cv2.CC_STAT_AREA] < settings.min_blob_px
    small[0] = True
    if small[1:].any():
        labels[small[labels]] = 0
    sigma_h = sigma_d * surface.height_per_mm[v0:v1, u0:u1]
    r_search = settings.search_mm * px_per_mm
    out: dict[Finger, ContactReading] = {}
    for j, (finger, (_, _, base)) in enumerate(tips.items()):
        tu, tv = float(u[2 * j]) - u0, float(v[2 * j]) - v0
        a0, b0 = max(int(tu - r_search), 0), max(int(tv - r_search), 0)
        a1, b1 = min(int(tu + r_search) + 1, u1 - u0), min(int(tv + r_search) + 1, v1 - v0)
        if a1 <= a0 or b1 <= b0:
            out[finger] = MISSING
            continue
        near_valid = valid[b0:b1, a0:a1]
        if np.count_nonzero(near_valid) < settings.min_valid * near_valid.size:
            out[finger] = MISSING
            continue
        bu, bv = _project(base, k.fx, k.fy, k.cx, k.cy)
        axis = np.array([tu + u0 - bu, tv + v0 - bv])
        norm = float(np.hypot(axis[0], axis[1]))
        if norm < 1e-6:
            out[finger] = MISSING
            continue
        ax, ay = float(axis[0] / norm), float(axis[1] / norm)
        tip = tip_statistic(
            labels, h, sigma_h, (tu, tv), (ax, ay), r_search, settings.tip_pixels,
            8.0 * px_per_mm, settings.rest_band_mm, settings.corridor_mm * px_per_mm, settings.span_mm,
        )  # fmt: skip
        if tip is None:
            out[finger] = ContactReading(True, float("inf"), noise_mm=surface.noise_amplitude_mm)
            continue
        resting = tip.low_length_px / px_per_mm > settings.max_length_mm
        zsurf = surface.depth_mm[tip.v + v0, tip.u + u0].astype(np.float64)
        xs = (tip.u + u0 - k.cx) / k.fx * zsurf
        ys = (tip.v + v0 - k.cy) / k.fy * zsurf
        centroid = np.array([xs.mean(), ys.mean(), zsurf.mean()])
        # back along the finger: the image axis as a direction in the plane
        back3 = np.array([ax / k.fx, ay / k.fy, 0.0]) * float(centroid[2])
        back3 -= (back3 @ plane.normal) * plane.normal
        nb = float(np.linalg.norm(back3))
        if nb > 1e-9:
            centroid -= settings.tip_setback_mm * back3 / nb
        foot = project_to_plane(centroid, plane)
        out[finger] = ContactReading(
            True,
            tip.height_mm - settings.touch_level_mm - settings.level_sigmas * tip.sigma_mm,
            (float(foot[0]), float(foot[1]), float(foot[2])),
            tip.n,
            resting,
            surface.noise_amplitude_mm,
            tip.sigma_mm / float(np.sqrt(tip.n)),
        )
    return out


def hand_box(
    joints_xyz_mm: npt.NDArray[np.floating], surface: SurfaceModel, margin_mm: float = 25.0
) -> tuple[int, int, int, int] | None:
    """Pixel box ``(u0, v0, u1, v1)`` of a hand's joints plus a margin (never learned as surface), or ``None``."""
    k = surface.intrinsics
    j = np.asarray(joints_xyz_mm, dtype=np.float64)
    j = j[np.all(np.isfinite(j), axis=1) & (j[:, 2] > 0)]
    if len(j) == 0:
        return None
    u = k.fx * j[:, 0] / j[:, 2] + k.cx
    v = k.fy * j[:, 1] / j[:, 2] + k.cy
    m = margin_mm * k.fx / median(j[:, 2])
    u0, v0 = max(int(u.min() - m), 0), max(int(v.min() - m), 0)
    u1, v1 = min(int(u.max() + m) + 1, k.width), min(int(v.max() + m) + 1, k.height)
    if u1 <= u0 or v1 <= v0:
        return None
    return u0, v0, u1, v1


def palm_pixel_height(
    depth_mm: npt.NDArray[np.floating],
    surface: SurfaceModel,
    joints_xyz_mm: npt.NDArray[np.floating],
    joint_set: JointSet,
    radius_mm: float = 20.0,
    min_fraction: float = 0.5,
) -> float | None:
    """Median height above the surface of the pixels around a hand's palm centre, mm (palm rejection).

    The palm centre is the mean of the palm joints (``joint_set.palm``), projected into the image; the disk has
    radius ``radius_mm`` at its depth. Only pixels above the surface noise count; when fewer than
    ``min_fraction`` of the disk's pixels are (the pose is off the hand, or the palm is hidden), ``None``.
    """
    k = surface.intrinsics
    j = np.asarray(joints_xyz_mm, dtype=np.float64)[list(joint_set.palm)]
    j = j[np.all(np.isfinite(j), axis=1) & (j[:, 2] > 0)]
    if len(j) == 0:
        return None
    c = j.mean(axis=0)
    tu, tv = _project(c, k.fx, k.fy, k.cx, k.cy)
    r = radius_mm * k.fx / c[2]
    u0, v0 = max(int(tu - r), 0), max(int(tv - r), 0)
    u1, v1 = min(int(tu + r) + 1, k.width), min(int(tv + r) + 1, k.height)
    if u1 - u0 < 2 or v1 - v0 < 2:
        return None
    h, zs, valid = surface.heights(np.asarray(depth_mm), (u0, v0, u1, v1))
    disk = (np.arange(u0, u1)[None, :] - tu) ** 2 + (np.arange(v0, v1)[:, None] - tv) ** 2 <= r * r
    above = disk & valid & (zs > 3.0) & (h > max(2.0, surface.noise_amplitude_mm + 0.5))
    n_disk = int(disk.sum())
    if n_disk == 0 or above.sum() < min_fraction * n_disk:
        return None
    return median(h[above])
