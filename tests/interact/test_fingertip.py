"""The pixel rule's tip statistic against analytic geometry: a capsule finger ray-cast onto a table plane.

The scene is computed here in closed form (ray–capsule and ray–plane intersections), independently of the
project's renderer: a finger of radius 8 mm at 45° to a table 800 mm below the camera, its tip sphere's lowest
point ``clearance`` mm above the table.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from depthhand.geometry.plane import Plane
from depthhand.interact.contact import ContactSettings, measure_hand
from depthhand.interact.fingertip import finger_mask, tip_statistic
from depthhand.interact.surface import SurfaceModel
from depthhand.interact.touch import FingerState, TouchSettings, TouchState, step_finger
from depthhand.skeleton import CANONICAL21, Finger
from depthhand.structures import CameraIntrinsics

K = CameraIntrinsics(570.0, 570.0, 319.5, 239.5, 640, 480)  # VGA (Astra-like): ≈ 1.4 mm per pixel at 0.8 m
TABLE_MM = 800.0
PLANE = Plane.facing_camera(TABLE_MM)
RADIUS = 8.0
AXIS = np.array([np.cos(np.pi / 4), 0.0, -np.sin(np.pi / 4)])  # tip → hand: along +x, rising towards the camera


def _rays() -> np.ndarray:
    v, u = np.mgrid[0 : K.height, 0 : K.width].astype(np.float64)
    return np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], axis=-1)


def _capsule_t(q: np.ndarray, a: np.ndarray, axis: np.ndarray, length: float, r: float) -> np.ndarray:
    """Smallest ray parameter t (= depth, the rays have q_z = 1) hitting the capsule a → a + length·axis."""
    best = np.full(q.shape[:2], np.inf)
    for c in (a, a + length * axis):  # the two end spheres
        qq, qc = (q * q).sum(-1), q @ c
        disc = qc * qc - qq * (c @ c - r * r)
        t = np.where(disc >= 0, (qc - np.sqrt(np.maximum(disc, 0))) / qq, np.inf)
        best = np.minimum(best, np.where(t > 0, t, np.inf))
    w = -a
    q_perp = q - (q @ axis)[..., None] * axis
    w_perp = w - (w @ axis) * axis
    qa, qb, qc2 = (q_perp * q_perp).sum(-1), q_perp @ w_perp, w_perp @ w_perp - r * r
    disc = qb * qb - qa * qc2
    t = np.where(disc >= 0, (-qb - np.sqrt(np.maximum(disc, 0))) / np.maximum(qa, 1e-12), np.inf)
    s = (np.where(np.isfinite(t), t, 0.0)[..., None] * q + w) @ axis
    return np.minimum(best, np.where((t > 0) & (s >= 0) & (s <= length), t, np.inf))


def _scene(clearance_mm: float, x_mm: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W) depth of the table with the finger; its (21, 3) joints (index along the finger); the finger's mask."""
    tip_c = np.array([x_mm, 0.0, TABLE_MM - RADIUS - clearance_mm])  # the tip sphere's centre
    t = _capsule_t(_rays(), tip_c, AXIS, 120.0, RADIUS)
    finger = np.isfinite(t) & (t < TABLE_MM)
    depth = np.where(finger, t, TABLE_MM).astype(np.float32)
    joints = np.tile(tip_c + 200.0 * AXIS, (21, 1))  # every other joint far up (not measured)
    tip_end = tip_c - RADIUS * AXIS
    for j, back_mm in zip((8, 7, 6, 5), (0.0, 22.0, 45.0, 75.0), strict=True):  # index tip, DIP, PIP, MCP
        joints[j] = tip_end + back_mm * AXIS
    return depth, joints, finger


def _surface() -> SurfaceModel:
    model = SurfaceModel(K, PLANE)
    rng = np.random.default_rng(0)
    for _ in range(model.settings.learn_frames):
        model.observe((TABLE_MM + rng.normal(0.0, 0.3, (K.height, K.width))).astype(np.float32))
    assert model.ready
    return model


def _reading(depth: np.ndarray, joints: np.ndarray, model: SurfaceModel, settings: ContactSettings | None = None):
    out = measure_hand(depth, model, PLANE, joints, CANONICAL21, (Finger.INDEX,), settings or ContactSettings())
    return out[Finger.INDEX]


def test_touching_and_hovering_10_mm_are_separated_by_the_hover_height():
    model = _surface()
    t = TouchSettings()
    touch = _reading(*_scene(0.0)[:2], model)
    hover = _reading(*_scene(10.0)[:2], model)
    assert touch.ok and hover.ok and touch.pixels == hover.pixels == ContactSettings().tip_pixels
    assert touch.height_mm < t.pixel_enter_mm  # touches
    assert hover.height_mm > t.pixel_exit_mm  # does not
    assert hover.height_mm - touch.height_mm == pytest.approx(10.0, abs=2.0)  # the same pixels, 10 mm higher
    # the contact point: under the tip sphere's centre (x = 0 at the image centre's depth), not at the joint
    assert touch.xyz_mm is not None
    assert abs(touch.xyz_mm[0]) < 3.0 and abs(touch.xyz_mm[1]) < 3.0
    assert touch.xyz_mm[2] == pytest.approx(TABLE_MM, abs=0.5)


def test_the_reading_does_not_follow_the_pose_height():
    """The pose only says where to look: moving its joints 8 mm up, down or sideways barely moves the reading."""
    model = _surface()
    depth, joints, _ = _scene(0.0)
    base = _reading(depth, joints, model).height_mm
    for shift in ([0, 0, -8.0], [0, 0, 8.0], [0, 8.0, 0], [8.0, 0, 0], [-8.0, 0, 0]):
        moved = _reading(depth, joints + np.array(shift), model).height_mm
        assert moved == pytest.approx(base, abs=1.5), shift


def _with_flying_pixels(depth: np.ndarray, finger: np.ndarray, seed: int) -> np.ndarray:
    """ToF-like mixed pixels: within 2 px of the finger's silhouette, 80 % take a depth uniformly between the
    nearest and the farthest depth of their 5 × 5 window (as :mod:`depthhand.synth.noise` does)."""
    import cv2

    k5 = np.ones((5, 5), np.uint8)
    ring = (cv2.dilate(finger.astype(np.uint8), k5) > 0) & ~(cv2.erode(finger.astype(np.uint8), k5) > 0)
    lo, hi = cv2.erode(depth, k5), cv2.dilate(depth, k5)
    rng = np.random.default_rng(seed)
    mix = ring & (rng.random(depth.shape) < 0.8)
    out = depth.copy()
    out[mix] = (lo + rng.random(depth.shape).astype(np.float32) * (hi - lo))[mix]
    return out


def test_flying_pixels_at_the_edge_do_not_make_a_hovering_finger_touch():
    model = _surface()
    t = TouchSettings()
    for hover_mm in (6.0, 10.0):
        depth, joints, finger = _scene(hover_mm)
        for seed in range(5):
            noisy = _with_flying_pixels(depth, finger, seed)
            r = _reading(noisy, joints, model)
            assert r.ok and r.height_mm > t.pixel_enter_mm, (hover_mm, seed, r.height_mm)


def test_edge_rejection_drops_mixed_pixels_and_keeps_the_finger_top():
    """The second-difference test: mixed pixels go, the smooth 45° finger top and the plain table stay."""
    model = _surface()
    depth, _joints, finger = _scene(10.0)
    noisy = _with_flying_pixels(depth, finger, 0)
    h, zs, valid = model.heights(noisy, (0, 0, K.width, K.height))
    s = ContactSettings()
    mask = finger_mask(
        noisy, h, zs, valid, model.sigma_mm, s.noise_z, s.noise_floor_mm, s.hand_band_mm, s.edge_mm, s.edge_sigmas,
        0, s.edge_noise * model.laplacian_noise_mm,
    )  # fmt: skip
    import cv2

    inner = (cv2.erode(finger.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0) & (h < s.hand_band_mm - 5.0)
    mixed = (noisy != depth) & ~finger
    assert inner.sum() > 30 and mask[inner].mean() > 0.9  # the inside (3 px from the mixed ring) stays
    assert mixed.sum() > 20 and mask[mixed].mean() < 0.5  # most mixed pixels outside the finger go
    assert not mask[~finger & (noisy == depth)].any()  # the table never enters


def test_a_finger_lying_flat_is_resting():
    """A finger flat on the table (its low part runs back along it) is flagged resting; a 45° one is not."""
    model = _surface()
    flat_axis = np.array([1.0, 0.0, 0.0])
    tip_c = np.array([0.0, 0.0, TABLE_MM - RADIUS])
    t = _capsule_t(_rays(), tip_c, flat_axis, 120.0, RADIUS)
    depth = np.where(np.isfinite(t) & (t < TABLE_MM), t, TABLE_MM).astype(np.float32)
    joints = np.tile(tip_c + np.array([150.0, 0.0, -150.0]), (21, 1))
    for j, back in zip((8, 7, 6, 5), (0.0, 22.0, 45.0, 75.0), strict=True):
        joints[j] = tip_c - RADIUS * flat_axis + back * flat_axis
    assert _reading(depth, joints, model).resting
    assert not _reading(*_scene(0.0)[:2], model).resting


def test_release_debounce_ignores_one_outlying_frame():
    s = TouchSettings()
    settings = dataclasses.replace(s, touch_enter_mm=5.0, touch_exit_mm=9.0, touch_debounce_frames=1)
    st, _, _ = step_finger(FingerState(), 30.0, settings)  # hovering
    st, _, _ = step_finger(st, 1.0, settings)
    assert st.state is TouchState.TOUCH
    two = dataclasses.replace(settings, touch_release_frames=2)
    st1, ev1, _ = step_finger(st, 20.0, two)  # one frame above the exit: still touching
    assert st1.state is TouchState.TOUCH and not any(e.value == "touch_up" for e in ev1)
    st2, _ev2, _ = step_finger(st1, 2.0, two)
    assert st2.state is TouchState.TOUCH and st2.above_count == 0
    st3, _, _ = step_finger(step_finger(st2, 20.0, two)[0], 20.0, two)  # two frames above: released
    assert st3.state is TouchState.HOVER
    one, ev, _ = step_finger(st, 20.0, settings)  # without the debounce the outlier ends the touch
    assert one.state is TouchState.HOVER and ev[0].value == "touch_up"


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 45.0, 90.0, 135.0, 200.0, 250.0, 315.0])
def test_the_low_part_runs_back_along_the_finger_in_every_direction(angle_deg: float) -> None:
    """A flat strip behind the tip, at any image angle: its whole length is the low part (the corridor's box)."""
    radius, length, half_width = 20.0, 45.0, 3.0
    ax, ay = float(np.cos(np.radians(angle_deg))), float(np.sin(np.radians(angle_deg)))
    size = 200
    tip = (100.0, 100.0)
    vv, uu = np.mgrid[0:size, 0:size].astype(np.float64)
    along = (uu - tip[0]) * ax + (vv - tip[1]) * ay
    across = np.abs(-(uu - tip[0]) * ay + (vv - tip[1]) * ax)
    strip = (along <= 0.0) & (along >= -length) & (across <= half_width)
    labels = strip.astype(np.int32)
    h = np.where(strip, 6.0, 0.0).astype(np.float32)
    sigma = np.ones_like(h)
    tip_px = tip_statistic(labels, h, sigma, tip, (ax, ay), radius, 4, 6.0, 4.0)
    assert tip_px is not None
    # the farthest strip pixels along the axis are the tip pixels; the low part reaches back to the strip's end
    expected = float(-(along[strip]).min()) - float(-(along[tip_px.v, tip_px.u]).mean())
    assert abs(tip_px.low_length_px - expected) <= 1.0, (tip_px.low_length_px, expected)
    assert tip_px.low_length_px > length - 3.0
