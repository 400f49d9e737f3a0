from __future__ import annotations

import numpy as np
import pytest

from depthhand.structures import CameraIntrinsics
from depthhand.synth.kinematics import rot_y, rot_z
from depthhand.synth.raycast import Primitives, box_row, plane_row, render_depth, render_labelled

INTR = CameraIntrinsics(300.0, 310.0, 79.5, 59.5, 160, 120)
SMALL = CameraIntrinsics(150.0, 155.0, 39.5, 29.5, 80, 60)


def _rays(intr: CameraIntrinsics) -> np.ndarray:
    v, u = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64)
    return np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u)], axis=-1)


def _tags(n: int, tag: int = 7) -> np.ndarray:
    return np.full(n, tag, np.int32)


def test_single_sphere_matches_closed_form() -> None:
    c, r = np.array([30.0, -20.0, 600.0]), 80.0
    depth, tag = render_depth(Primitives(spheres=np.array([[*c, r]]), sphere_tags=_tags(1)), INTR)
    d = _rays(INTR)
    # |t d − c|² = r²  →  t = (d·c − sqrt((d·c)² − |d|²(|c|² − r²))) / |d|²   (float64, per pixel)
    dd, dc = np.sum(d * d, -1), d @ c
    disc = dc**2 - dd * (c @ c - r * r)
    hit = disc >= 0
    expect = np.where(hit, (dc - np.sqrt(np.maximum(disc, 0))) / dd, 0.0)
    inner = disc > 1e-3 * dd * r * r  # ignore pixels whose ray grazes the silhouette
    np.testing.assert_allclose(depth[inner], expect[inner], atol=1e-3)
    assert np.all(depth[~hit] == 0) and np.all(tag[~hit] == -1) and np.all(tag[hit & inner] == 7)


def _round_cone_sdf(p: np.ndarray, c1: np.ndarray, r1: float, c2: np.ndarray, r2: float) -> np.ndarray:
    """min over t of |p − c(t)| − r(t): the convex hull of two balls is the union of the interpolated balls."""
    t = np.linspace(0.0, 1.0, 801)
    centres = c1[None] + t[:, None] * (c2 - c1)[None]
    radii = r1 + t * (r2 - r1)
    out = np.full(p.shape[0], np.inf)
    for k in range(0, len(t), 200):
        dist = np.linalg.norm(p[:, None, :] - centres[None, k : k + 200], axis=-1) - radii[None, k : k + 200]
        out = np.minimum(out, dist.min(axis=1))
    return out


@pytest.mark.parametrize(
    ("c1", "r1", "c2", "r2"),
    [
        ((-60.0, 10.0, 520.0), 30.0, (50.0, -25.0, 600.0), 12.0),  # tapered, oblique
        ((0.0, -60.0, 700.0), 20.0, (0.0, 60.0, 560.0), 20.0),  # capsule pointing at the camera
        ((-20.0, 0.0, 500.0), 10.0, (30.0, 5.0, 505.0), 35.0),  # small sphere into a big one
    ],
)
def test_round_cone_surface_matches_hull_of_two_spheres(c1: tuple, r1: float, c2: tuple, r2: float) -> None:
    a, b = np.array(c1), np.array(c2)
    depth, _ = render_depth(Primitives(cones=np.array([[*a, r1, *b, r2]]), cone_tags=_tags(1)), SMALL)
    d = _rays(SMALL)
    hit = depth > 0
    assert hit.sum() > 60
    p = (d * depth[..., None])[hit]
    np.testing.assert_allclose(_round_cone_sdf(p, a, r1, b, r2), 0.0, atol=0.05)  # on the surface
    before = (d * (depth[..., None] - 0.5))[hit]
    assert np.all(_round_cone_sdf(before, a, r1, b, r2) > 0)  # nothing of the hull in front of it
    # pixels without a hit: no point along the ray lies inside the hull
    miss = d[~hit][::3]
    for z in np.linspace(450, 750, 31):
        assert np.all(_round_cone_sdf(miss * z, a, r1, b, r2) > -1e-6)


def test_box_and_plane_depths() -> None:
    # axis-aligned box 100 × 80 × 40 mm centred at z = 600: its front face is at z = 580
    box = box_row([0.0, 0.0, 600.0], np.eye(3), [50.0, 40.0, 20.0])
    plane = plane_row(rot_y(20.0) @ [0.0, 0.0, -1.0], [0.0, 0.0, 1000.0])
    prims = Primitives(boxes=box[None], box_tags=_tags(1, 3), planes=plane[None], plane_tags=_tags(1, 11))
    depth, tag = render_depth(prims, INTR)
    d = _rays(INTR)
    x, y = d[..., 0] * 580, d[..., 1] * 580
    inside = (np.abs(x) < 49) & (np.abs(y) < 39)
    np.testing.assert_allclose(depth[inside], 580.0, atol=1e-3)
    assert np.all(tag[inside] == 3)
    outside = (np.abs(d[..., 0] * 580) > 51) | (np.abs(d[..., 1] * 580) > 41)
    n = plane[:3]
    np.testing.assert_allclose(depth[outside], (plane[3] / (d @ n))[outside], rtol=1e-5)
    assert np.all(tag[outside] == 11)


def test_rotated_box_corner_and_occlusion_order() -> None:
    box = box_row([0.0, 0.0, 600.0], rot_z(30.0) @ rot_y(40.0), [40.0, 40.0, 40.0])
    sphere = np.array([[0.0, 0.0, 480.0, 30.0]])
    prims = Primitives(boxes=box[None], box_tags=_tags(1, 3), spheres=sphere, sphere_tags=_tags(1, 4))
    depth, tag = render_depth(prims, INTR)
    # the nearer sphere wins at the centre pixel: depth 450
    cu, cv = int(INTR.cx + 0.5), int(INTR.cy + 0.5)
    assert tag[cv, cu] == 4
    assert depth[cv, cu] == pytest.approx(480 - 30, abs=0.5)
    # box depths are never nearer than its bounding sphere
    assert np.all(depth[tag == 3] >= 600 - np.sqrt(3) * 40 - 1e-6)


def test_labelled_render_decodes_parts_and_owners() -> None:
    from depthhand.synth.kinematics import PART_ARM, PART_HAND, PART_OTHER, part_tag

    prims = Primitives(
        spheres=np.array([[-50.0, 0.0, 500.0, 20.0], [50.0, 0.0, 500.0, 20.0], [0.0, 40.0, 500.0, 10.0]]),
        sphere_tags=np.array([part_tag(PART_HAND, 0), part_tag(PART_ARM, 1), part_tag(PART_OTHER)], np.int32),
    )
    depth, _, part, owner = render_labelled(prims, INTR)
    assert set(np.unique(part)) == {0, PART_HAND, PART_ARM, PART_OTHER}
    assert np.all(owner[part == PART_HAND] == 0) and np.all(owner[part == PART_ARM] == 1)
    assert np.all(owner[part == PART_OTHER] == -1) and np.all(owner[depth == 0] == -1)


def test_primitives_validate_shapes() -> None:
    with pytest.raises(ValueError, match="spheres"):
        Primitives(spheres=np.zeros((2, 3)), sphere_tags=_tags(2))
    with pytest.raises(ValueError, match="tags"):
        Primitives(cones=np.zeros((2, 8)), cone_tags=_tags(1))
