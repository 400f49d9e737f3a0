"""Hand pixels of a pose patch: the support plane against analytic planes, the component against scipy's labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from depthhand.geometry.camera import INTRINSICS
from depthhand.geometry.crop import BACKGROUND, crop_depth, make_crop
from depthhand.pose.hand_pixels import (
    PLANE_DROP_MM,
    STEP_MM,
    hand_component,
    hand_pixels,
    remove_plane,
    support_plane,
)
from depthhand.structures import CameraIntrinsics

CUBE, SIZE, HALF_Z = 250.0, 96, 125.0
K = INTRINSICS["astra"]


def _rays(k: CameraIntrinsics) -> np.ndarray:
    """(H, W, 3) the camera ray of every pixel, z = 1."""
    v, u = np.mgrid[0 : k.height, 0 : k.width].astype(np.float64)
    return np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)


def _plane_depth(normal: np.ndarray, point: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """(H, W) exact depth of the plane through ``point`` with ``normal``: ``z = n·p / n·ray``."""
    return float(normal @ point) / (_rays(k) @ normal)


def _normal(tilt_deg: float) -> np.ndarray:
    t = np.radians(tilt_deg)
    return np.array([0.0, np.sin(t), -np.cos(t)])  # a table seen from above, tilted about the camera's x axis


def _patch(depth: np.ndarray, center: np.ndarray) -> np.ndarray:
    return crop_depth(depth.astype(np.float32), make_crop(center, CUBE, K, SIZE))


@pytest.mark.parametrize("tilt_deg", [0.0, 35.0])
def test_the_support_plane_of_a_tilted_table_is_exact(tilt_deg: float) -> None:
    center = np.array([20.0, -10.0, 600.0])
    depth = _plane_depth(_normal(tilt_deg), center + [0, 0, 40.0], K)
    p = _patch(depth, center)
    plane = support_plane(p, 600.0, HALF_Z)
    assert plane is not None
    i, j = np.mgrid[0:SIZE, 0:SIZE]
    z_fit = 600.0**2 / (plane[0] * j + plane[1] * i + plane[2])
    seen = p < BACKGROUND
    assert seen.mean() > 0.9
    # against the patch's depth, which samples the exact plane at the nearest image pixel (up to half a pixel of
    # its depth gradient off, 0.5 mm at 35°): the fit is linear in z_c² / z, exact for a plane (one linear in z
    # would be off by several mm at the crop's corners at 35°)
    assert np.abs(z_fit[seen] - (600.0 + HALF_Z * p[seen])).max() < 1.0


def test_no_support_plane_without_a_surface_or_with_two() -> None:
    center = np.array([0.0, 0.0, 600.0])
    empty = np.full((SIZE, SIZE), BACKGROUND, np.float32)
    empty[30:70, 30:70] = 0.0  # a blob in the middle of an empty crop (a hand in the air): no border to fit
    assert support_plane(empty, 600.0, HALF_Z) is None
    # half the crop on one wall, half on another 60 mm behind: a ramp through the border's left and right columns
    # explains most of the border, but half the crop lies behind it; it is not used
    depth = np.where(_rays(K)[..., 0] < 0, 620.0, 680.0)
    p = _patch(depth, center)
    ramp = support_plane(p, 600.0, HALF_Z)
    assert ramp is not None and remove_plane(p, ramp, 600.0, HALF_Z) is None
    assert hand_pixels(p, 600.0, HALF_Z, CUBE / SIZE) == (pytest.approx(hand_component(p, HALF_Z, CUBE / SIZE)), False)


def _slab_on_table(tilt_deg: float, height_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 90 × 60 mm slab's top face ``height_mm`` above a tilted table, at the crop centre; (depth, top, centre)."""
    n = _normal(tilt_deg)
    table_point = np.array([0.0, 0.0, 650.0])
    table = _plane_depth(n, table_point, K)
    top_point = table_point + n * height_mm  # toward the camera (n's z is negative)
    top = _plane_depth(n, top_point, K)
    hit = _rays(K) * top[..., None]
    ex = np.array([1.0, 0.0, 0.0])
    ey = np.cross(n, ex)
    rel = hit - top_point
    on_top = (np.abs(rel @ ex) < 45.0) & (np.abs(rel @ ey) < 30.0)
    return np.where(on_top, top, table), on_top, top_point


def test_a_slab_resting_on_a_table_is_cut_from_it() -> None:
    """The step from a 15 mm slab to its table is below STEP_MM: without the plane the component is the table."""
    depth, on_top, center = _slab_on_table(25.0, 15.0)
    assert np.abs(np.diff(depth, axis=0)).max() < STEP_MM  # no depth step separates them
    p = _patch(depth, center)
    top = _patch(np.where(on_top, depth, 0.0), center) < BACKGROUND  # the slab's pixels in the patch
    px_mm = CUBE / SIZE
    mask, found = hand_pixels(p, float(center[2]), HALF_Z, px_mm)
    assert found
    assert not (mask & ~top).any()  # nothing of the table
    assert mask.sum() >= 0.85 * top.sum()  # all of the slab but its outline (cut where the table was removed)
    joined = hand_component(p, HALF_Z, px_mm)  # the cut at depth steps alone: the slab joins the table
    assert joined.sum() > 4 * top.sum() and joined[0].all()
    # a slab lower than the drop distance is part of the surface: nothing is left
    depth, _, center = _slab_on_table(25.0, PLANE_DROP_MM - 4.0)
    assert not hand_pixels(_patch(depth, center), float(center[2]), HALF_Z, px_mm)[0].any()


def _reference_component(p: np.ndarray, half_z: float, px_mm: float) -> np.ndarray:
    """The component nearest the centre, with explicit neighbour differences and scipy's 8-connected labels."""
    step = STEP_MM / half_z
    core = p < BACKGROUND
    for axis in (0, 1):
        jump = np.abs(np.diff(p, axis=axis)) > step
        pad = [(0, 0), (0, 0)]
        pad[axis] = (1, 0)
        core &= ~np.pad(jump, pad)
        pad[axis] = (0, 1)
        core &= ~np.pad(jump, pad)
    labels, n = ndimage.label(core, structure=np.ones((3, 3)))
    if n == 0:
        return core
    vs, us = np.nonzero(core)
    c = (p.shape[0] - 1) / 2
    d2 = ((us - c) ** 2 + (vs - c) ** 2) * px_mm**2 + (p[vs, us] * half_z) ** 2
    k = int(np.argmin(d2))
    out: np.ndarray = labels == labels[vs[k], us[k]]
    return out


def test_hand_component_matches_a_reference_on_random_patches() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        # blocky random surfaces with steps below and above STEP_MM, and holes
        coarse = rng.normal(0.0, 0.15, (12, 12)).astype(np.float32)
        p = np.kron(coarse, np.ones((8, 8), np.float32)) + rng.normal(0, 0.01, (96, 96)).astype(np.float32)
        p[rng.random((96, 96)) < 0.03] = BACKGROUND
        got = hand_component(p, HALF_Z, 2.6)
        want = _reference_component(p, HALF_Z, 2.6)
        assert want.any() and np.array_equal(got, want)
