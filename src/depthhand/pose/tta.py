"""Test-time augmentation: run each patch in several views (in-plane rotations, mirror images) and average.

A patch rotated about its centre pixel by θ (counter-clockwise on screen, as
:func:`depthhand.geometry.augment.rotation_about`) shows the hand the network would see in a rotated image; in the
``uvd_crop`` output space (normalised crop ``u, v`` about the centre, depth) the prediction for the rotated patch
maps back by rotating ``(u, v)`` by −θ, depth unchanged. The views' joints are averaged in that frame. Only
``uvd_crop`` models qualify: an ``xyz_crop`` output is a metric offset, which an image rotation turns only
approximately.

A mirror view flips the patch left to right (crop pixel ``u → S − 1 − u``, i.e. normalised ``u → −u``): a right
hand becomes a left hand, which the network knows as well (the synthetic training data holds both), and the joint
identities do not change (a mirrored thumb is still the thumb). Its prediction maps back by ``u → −u``. A view is
mirrored first, then rotated, so it maps back by un-rotating, then un-mirroring.

Cost: one network input per view (batched in one call). On the held-out synthetic crops three views (0, ±15°) cut
the phase-6 model's mean error by 0.3–0.4 mm per scene (``depthhand eval --model … --tta-deg 15``); the six views
of ``--tta-deg 15 --tta-mirror`` cut the phase-8 model's by 0.4–0.7 mm (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from depthhand.geometry.augment import rotation_about

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

__all__ = [
    "View",
    "average_views",
    "rotate_patches",
    "tta_angles",
    "tta_views",
    "unrotate_uvd_crop",
    "unview_uvd_crop",
    "view_patches",
]


class View(NamedTuple):
    """One test-time view: mirrored left to right (or not), then rotated by ``angle_deg`` (counter-clockwise)."""

    angle_deg: float
    mirrored: bool = False


def tta_angles(max_deg: float) -> tuple[float, ...]:
    """The angles for a ``--tta-deg`` setting: ``(0,)`` for 0, else ``(0, −max_deg, +max_deg)``.

    Raises:
        ValueError: For a negative, non-finite or ≥ 90° angle.
    """
    if not np.isfinite(max_deg) or not 0.0 <= max_deg < 90.0:
        raise ValueError(f"the test-time rotation must be an angle in [0, 90) degrees, got {max_deg}")
    return (0.0,) if max_deg == 0 else (0.0, -float(max_deg), float(max_deg))


def tta_views(max_deg: float, mirror: bool = False) -> tuple[View, ...]:
    """The views for ``--tta-deg max_deg [--tta-mirror]``: the angles of :func:`tta_angles`, each also mirrored.

    Returns:
        1, 2, 3 or 6 views; the first is always the plain patch.
    """
    angles = tta_angles(max_deg)
    return tuple(View(a) for a in angles) + (tuple(View(a, True) for a in angles) if mirror else ())


def rotate_patches(patches: F32, angles_deg: tuple[float, ...]) -> F32:
    """Every patch at every angle (nearest neighbour; uncovered pixels become background +1).

    Args:
        patches: (N, 1, S, S) normalised depth patches.
        angles_deg: V angles, degrees (counter-clockwise on screen).

    Returns:
        (N·V, 1, S, S) float32, view-major within each patch (patch 0 at every angle, then patch 1, ...).
    """
    import cv2

    n, _, h, w = patches.shape
    out = np.empty((n, len(angles_deg), 1, h, w), np.float32)
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    for k, angle in enumerate(angles_deg):
        if angle == 0:
            out[:, k] = patches
            continue
        m = rotation_about(centre, angle)[:2]
        for i in range(n):
            out[i, k, 0] = cv2.warpAffine(
                np.ascontiguousarray(patches[i, 0], np.float32),
                m,
                (w, h),
                flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=1.0,
            )
    return out.reshape(n * len(angles_deg), 1, h, w)


def view_patches(patches: F32, views: tuple[View, ...]) -> F32:
    """Every patch in every view (see :func:`rotate_patches` for the rotation and the layout).

    Returns:
        (N·V, 1, S, S) float32, view-major within each patch.
    """
    n, _, h, w = patches.shape
    out = np.empty((n, len(views), 1, h, w), np.float32)
    mirrored = np.ascontiguousarray(patches[..., ::-1]) if any(v.mirrored for v in views) else patches
    for k, view in enumerate(views):
        source = mirrored if view.mirrored else patches
        out[:, k] = rotate_patches(source, (view.angle_deg,))
    return out.reshape(n * len(views), 1, h, w)


def unrotate_uvd_crop(outputs: npt.ArrayLike, angle_deg: float) -> F64:
    """Map a ``uvd_crop`` prediction made on a patch rotated by ``angle_deg`` back to the unrotated patch.

    Args:
        outputs: (..., J, 3) normalised ``(u, v, d)`` of the rotated patch.
        angle_deg: The patch's rotation, degrees.

    Returns:
        (..., J, 3) float64 in the unrotated patch's frame (``d`` unchanged).
    """
    p = np.asarray(outputs, np.float64)
    r = rotation_about((0.0, 0.0), -angle_deg)[:2, :2]
    uv = p[..., :2] @ r.T
    return np.concatenate([uv, p[..., 2:3]], axis=-1)


def unview_uvd_crop(outputs: npt.ArrayLike, view: View) -> F64:
    """Map a ``uvd_crop`` prediction made in ``view`` back to the plain patch (un-rotate, then un-mirror).

    Args:
        outputs: (..., J, 3) normalised ``(u, v, d)`` of the viewed patch.
        view: The view the patch was shown in.

    Returns:
        (..., J, 3) float64.
    """
    back = unrotate_uvd_crop(outputs, view.angle_deg)
    if view.mirrored:
        back[..., 0] *= -1.0
    return back


def average_views(outputs: npt.ArrayLike, views: tuple[View, ...]) -> F32:
    """Map each view's prediction back to the plain patch and average the views.

    Args:
        outputs: (N·V, J, 3) network outputs for :func:`view_patches`'s batch.
        views: The V views used.

    Returns:
        (N, J, 3) float32.
    """
    out = np.asarray(outputs, np.float64)
    v = len(views)
    per_view = out.reshape(out.shape[0] // v, v, *out.shape[1:])
    back = np.stack([unview_uvd_crop(per_view[:, k], view) for k, view in enumerate(views)], axis=1)
    result: F32 = back.mean(axis=1).astype(np.float32)
    return result
