"""Contact from the depth pixels around each fingertip (DIRECT-style zones, reference §2.1 and §2.3).

The pose says which finger and where to look; the pixels say whether it touches. For one hand,
:func:`measure_hand` takes a window around the fingertips near the table and computes each pixel's height above
the :class:`~depthhand.interact.surface.SurfaceModel`:

* **above** the surface: ``z > noise_z`` and ``h > noise_floor_mm`` (the rest is surface noise);
* depth **edges** cut the above pixels apart (of two neighbours more than ``edge_mm`` apart in depth, the farther
  one is dropped), so a finger over the palm or beside an object is its own blob;
* the **finger band** (the low zone, ``h < finger_band_mm`` ≈ 12 mm): its connected blobs are the candidate
  contacts; the **hand zone** (< ``hand_band_mm``, 60 mm) is where hovering is measured; above is the arm.

Per finger, the blob of the finger band nearest the projected fingertip (within ``search_mm``) is its contact blob.
Its statistic is the mean height of its ``tip_pixels`` lowest pixels (skipping the lowest ``skip_pixels``, flying
pixels): a fingertip lying on the table shows its sides at about its radius, one hovering ``d`` mm shows them
``d`` mm higher, so the reported height is ``statistic − touch_level_mm``. Without a blob the finger hovers: the
same statistic over the above pixels within ``search_mm`` of the tip. The contact position is the centroid of the
blob's pixels on the surface (each pixel's surface point, weighted by how far below the band top it lies),
projected onto the plane; not the joint.

A resting palm or forearm fires no touch: a blob that runs back along the finger beyond ``max_length_mm``
(a flat finger on the table, connected to the palm) or covers more than ``max_area_mm2`` is *resting*, reported
as such and never a touch.

When the window has too few valid pixels (occlusion, dropout) the reading says so (``ok = False``) and the caller
falls back to the pose's fingertip height (:mod:`depthhand.interact.touch`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, project_to_plane
from depthhand.interact.surface import SurfaceModel
from depthhand.skeleton import Finger, JointSet

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ContactSettings:
    """Zones and blob limits of the pixel contact rule (defaults for Astra / D4xx / ToF class sensors at 0.8–1.2 m).

    Attributes:
        noise_z: Pixels within this many σ of the surface are surface.
        noise_floor_mm: ... and those lower than this, mm.
        finger_band_mm: Top of the low (finger) zone, mm (DIRECT: 12).
        hand_band_mm: Top of the hand zone, mm (DIRECT: 60); higher pixels are arm.
        edge_mm: A depth jump between neighbours that separates blobs, mm.
        search_mm: Radius around the projected fingertip searched for its blob, mm.
        margin_mm: Window margin around the fingertips and their PIP joints, mm.
        tip_pixels: Pixels averaged for the contact statistic (the lowest of the blob).
        skip_pixels: Lowest pixels skipped first (flying / mixed pixels).
        touch_level_mm: Subtracted from the statistic: its value for a fingertip on the table (the lowest visible
            pixels of a 55–65° finger sit ≈ 10 mm up on noise-free depth, ``touch.stress``).
        max_length_mm: A blob longer than this along the finger is a resting finger / palm, mm.
        max_area_mm2: A blob larger than this is a resting palm, mm².
        min_valid: Smallest fraction of valid pixels near the tip for a pixel reading.
        near_table_mm: Only fingertips whose pose height is below this are measured, mm.
    """

    noise_z: float = 3.0
    noise_floor_mm: float = 2.0
    finger_band_mm: float = 12.0
    hand_band_mm: float = 60.0
    edge_mm: float = 10.0
    search_mm: float = 15.0
    margin_mm: float = 20.0
    tip_pixels: int = 8
    skip_pixels: int = 1
    touch_level_mm: float = 10.0
    max_length_mm: float = 45.0
    max_area_mm2: float = 1500.0
    min_valid: float = 0.5
    near_table_mm: float = 90.0


@dataclass(frozen=True, slots=True)
class ContactReading:
    """What the pixels say about one fingertip in one frame.

    Attributes:
        ok: Enough valid pixels for a pixel decision (else: use the pose).
        height_mm: Estimated height of the fingertip's underside above the surface, mm (inf: nothing near).
        xyz_mm: (3,) contact point on the plane (the blob centroid), camera mm; ``None`` without a blob.
        pixels: Pixels in the contact blob.
        resting: The blob is a resting finger / palm (never a touch).
        noise_mm: The surface model's noise amplitude (:attr:`SurfaceModel.noise_amplitude_mm`), mm: how far
            single pixels stray; the fused rule weighs the reading by it.
    """

    ok: bool
    height_mm: float
    xyz_mm: tuple[float, float, float] | None = None
    pixels: int = 0
    resting: bool = False
    noise_mm: float = 0.0


MISSING = ContactReading(False, float("nan"))


def _project(xyz: F64, fx: float, fy: float, cx: float, cy: float) -> tuple[float, float]:
    return fx * xyz[0] / xyz[2] + cx, fy * xyz[1] / xyz[2] + cy


@functools.lru_cache(maxsize=32)
def _tip_layout(joint_set: JointSet) -> tuple[tuple[Finger, int, int], ...]:
    """``(finger, tip index, index of the joint two bones up)`` of every fingertip of a skeleton (cached)."""
    return tuple((finger, tip, _back_joint(joint_set, tip)) for finger, tip in joint_set.tips)


def _back_joint(joint_set: JointSet, tip_idx: int, steps: int = 2) -> int:
    """The joint ``steps`` bones up from a fingertip (the PIP of a four-joint finger)."""
    parent = {child: par for par, child in joint_set.bones}
    j = tip_idx
    for _ in range(steps):
        if j not in parent:
            break
        j = parent[j]
    return j


def _median(values: F64) -> float:
    """Median of a few float64 values (``np.median``'s result without its overhead)."""
    x: list[float] = sorted(values.tolist())
    n = len(x)
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def _low_stat(h: F32, settings: ContactSettings) -> float:
    """Mean of the lowest ``tip_pixels`` heights after skipping ``skip_pixels``."""
    n = h.size
    if n == 0:
        return float("inf")
    k = min(settings.tip_pixels + settings.skip_pixels, n)
    low = np.partition(h, k - 1)[:k] if n > k else h
    low = np.sort(low)
    start = min(settings.skip_pixels, max(len(low) - 1, 0))
    return float(low[start:].mean())


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
    tip_xyz = joints[[t for _, t, _ in layout]]
    keep = np.all(np.isfinite(tip_xyz), axis=1) & (tip_xyz[:, 2] > 0)
    keep[keep] = ~(tip_xyz[keep] @ plane.normal + plane.offset_mm > settings.near_table_mm)
    tips: dict[Finger, tuple[F64, F64]] = {
        finger: (tip_xyz[i], joints[back]) for i, (finger, _, back) in enumerate(layout) if keep[i]
    }
    if not tips:
        return {}
    pts = np.array([p for pair in tips.values() for p in pair])
    z_ref = _median(pts[:, 2])
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
    floor = max(settings.noise_floor_mm, surface.noise_amplitude_mm + 0.5)
    above = valid & (zs > settings.noise_z) & (h > floor)
    # an above pixel needs at least two above neighbours (isolated noise pixels go)
    nb = cv2.boxFilter(above.astype(np.uint8), cv2.CV_16U, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    above &= nb >= 3
    # depth edges: of two above-surface neighbours far apart in depth, drop the farther one
    cut = above.copy()
    jump_x = above[:, 1:] & above[:, :-1] & (np.abs(d[:, 1:] - d[:, :-1]) > settings.edge_mm)
    far_right = d[:, 1:] > d[:, :-1]
    cut[:, 1:] &= ~(jump_x & far_right)
    cut[:, :-1] &= ~(jump_x & ~far_right)
    jump_y = above[1:] & above[:-1] & (np.abs(d[1:] - d[:-1]) > settings.edge_mm)
    far_down = d[1:] > d[:-1]
    cut[1:] &= ~(jump_y & far_down)
    cut[:-1] &= ~(jump_y & ~far_down)
    low = cut & (h < settings.finger_band_mm)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(low.astype(np.uint8), connectivity=8)
    mm2_per_px = 1.0 / px_per_mm**2
    out: dict[Finger, ContactReading] = {}
    r_search = settings.search_mm * px_per_mm
    for j, finger in enumerate(tips):
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
        dist2 = (np.arange(a0, a1)[None, :] - tu) ** 2 + (np.arange(b0, b1)[:, None] - tv) ** 2
        disk = dist2 <= r_search**2
        lab = labels[b0:b1, a0:a1]
        cand = disk & (lab > 0)
        if not cand.any():
            hov = cut[b0:b1, a0:a1] & disk & (h[b0:b1, a0:a1] < settings.hand_band_mm)
            stat = _low_stat(h[b0:b1, a0:a1][hov], settings)
            out[finger] = ContactReading(
                True, max(stat - settings.touch_level_mm, 0.0), noise_mm=surface.noise_amplitude_mm
            )
            continue
        best = int(lab[cand][np.argmin(dist2[cand])])
        bx, by, bw, bh = (int(x) for x in stats[best, :4])
        vs, us = np.nonzero(labels[by : by + bh, bx : bx + bw] == best)
        vs, us = vs + by, us + bx
        hb = h[vs, us]
        stat = _low_stat(hb, settings)
        # extent along the finger (tip → PIP direction in the image) and area
        bu, bv = float(u[2 * j + 1]), float(v[2 * j + 1])
        axis = np.array([bu - u0 - tu, bv - v0 - tv])
        norm = float(np.linalg.norm(axis))
        along = ((us - tu) * axis[0] + (vs - tv) * axis[1]) / norm if norm > 1e-6 else np.zeros(len(us))
        length_mm = float(along.max() - min(along.min(), 0.0)) / px_per_mm
        area_mm2 = len(us) * mm2_per_px
        resting = length_mm > settings.max_length_mm or area_mm2 > settings.max_area_mm2
        w = np.maximum(settings.finger_band_mm - hb, 0.5).astype(np.float64)
        zsurf = surface.depth_mm[vs + v0, us + u0].astype(np.float64)
        xs = (us + u0 - k.cx) / k.fx * zsurf
        ys = (vs + v0 - k.cy) / k.fy * zsurf
        w_sum = w.sum()
        centroid = np.array([(xs * w).sum() / w_sum, (ys * w).sum() / w_sum, (zsurf * w).sum() / w_sum])
        foot = project_to_plane(centroid, plane)
        out[finger] = ContactReading(
            True,
            max(stat - settings.touch_level_mm, 0.0),
            (float(foot[0]), float(foot[1]), float(foot[2])),
            len(us),
            resting,
            surface.noise_amplitude_mm,
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
    m = margin_mm * k.fx / _median(j[:, 2])
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
    return float(np.median(h[above]))
