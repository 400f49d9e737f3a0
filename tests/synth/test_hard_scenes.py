from __future__ import annotations

import cv2
import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from depthhand.synth.hand_model import default_shape
from depthhand.synth.hard_props import SHAPE_CLASSES, sample_shape_class
from depthhand.synth.hard_scenes import HARD_CASES, render_hard_scene, sample_hard_scene
from depthhand.synth.hard_sensors import SENSOR_FAMILIES, apply_extras, correlated_field, flying_pixels
from depthhand.synth.kinematics import PART_ARM, PART_HAND, PART_OTHER
from depthhand.synth.raycast import render_depth

HAND_CASES = [c for c in HARD_CASES if c != "no_hand"]


def _clean(case: str, i: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng([42, HARD_CASES.index(case), i])
    hs = sample_hard_scene(case, rng, i)
    sample, _ = render_hard_scene(hs, rng, noise=False)
    return hs, sample


@pytest.mark.parametrize("case", HAND_CASES)
def test_forearm_present_and_connected_to_the_hand(case: str) -> None:
    connected = 0
    for i in range(4):
        hs, s = _clean(case, i)
        geo = hs.scene.geometries[0]
        arm = geo.cones[geo.cone_parts == PART_ARM]
        assert len(arm) >= 2  # the forearm is always in the geometry, starting at the wrist
        assert (
            np.min(np.linalg.norm(arm[:, :3] - geo.joints_xyz_mm[0], axis=1))
            < 0.5 * hs.scene.hands[0].shape.wrist_radius_mm
        )
        own = (s.owner == 0) & ((s.part == PART_HAND) | (s.part == PART_ARM))
        _, labels = cv2.connectedComponents(own.astype(np.uint8), connectivity=8)
        hand_labels = set(np.unique(labels[(s.owner == 0) & (s.part == PART_HAND)]).tolist()) - {0}
        arm_labels = set(np.unique(labels[(s.owner == 0) & (s.part == PART_ARM)]).tolist()) - {0}
        connected += bool(hand_labels & arm_labels)
    assert connected >= 3  # in view and touching the hand's pixels (an object may cut the wrist off once)


def test_held_objects_hide_fingers() -> None:
    hidden_frames = 0
    for i in range(8):
        hs, s = _clean("held_object", i)
        assert hs.holding == (True,)
        uv = np.floor(s.joints_uvd[0, :, :2] + 0.5).astype(int)
        h, w = s.part.shape
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        fingers = np.arange(2, 21)
        hidden = [j for j in fingers if inside[j] and s.part[uv[j, 1], uv[j, 0]] == PART_OTHER
                  and s.clean_depth_mm[uv[j, 1], uv[j, 0]] < s.joints_uvd[0, j, 2]]  # fmt: skip
        hidden_frames += len(hidden) >= 2
    assert hidden_frames >= 5


def test_body_lies_50_to_300_mm_behind_the_hand() -> None:
    for i in range(6):
        hs, s = _clean("body_behind", i)
        assert 50.0 <= hs.body_gap_mm <= 300.0
        geo = hs.scene.geometries[0]
        hand = geo.cones[geo.cone_parts == PART_HAND]
        back = max((hand[:, 2] + hand[:, 3]).max(), (hand[:, 6] + hand[:, 7]).max())
        env_depth, _ = render_depth(hs.scene.environment, hs.scene.intrinsics, 8000.0)
        u, v, _ = xyz_to_uvd(s.center_xyz_mm[0], hs.scene.intrinsics)
        behind = float(env_depth[round(float(v)), round(float(u))]) - back
        assert 50.0 - 1.0 <= behind <= 300.0 + 1.0


def test_egocentric_hand_enters_from_the_bottom_edge() -> None:
    for i in range(6):
        hs, s = _clean("egocentric", i)
        assert hs.family.name in ("sr305", "sr300", "d435", "azure_nfov")
        assert 250.0 - 120.0 <= s.center_xyz_mm[0, 2] <= 600.0 + 120.0
        arm_rows = np.nonzero(((s.owner == 0) & (s.part == PART_ARM)).any(axis=1))[0]
        assert arm_rows.size and arm_rows.max() >= s.part.shape[0] - 2
        elbow = hs.scene.geometries[0].elbow_xyz_mm
        assert elbow[2] <= 0 or xyz_to_uvd(elbow, hs.scene.intrinsics)[1] > hs.scene.intrinsics.height - 1


def test_arm_enters_from_the_stated_edge() -> None:
    hits = 0
    for i in range(8):
        hs, s = _clean("arm_edges", i)
        arm = (s.owner == 0) & (s.part == PART_ARM)
        edge = {"left": arm[:, :2], "right": arm[:, -2:], "top": arm[:2], "bottom": arm[-2:]}[hs.entry_edge]
        hits += bool(edge.any())
    assert hits >= 6


@pytest.mark.parametrize("case", HARD_CASES)
def test_intrinsics_match_the_sensor_preset(case: str) -> None:
    seen = set()
    for i in range(3):
        rng = np.random.default_rng([3, i])
        hs = sample_hard_scene(case, rng, i)
        k = INTRINSICS[hs.family.preset]
        assert hs.scene.intrinsics == k
        _, depth = render_hard_scene(hs, rng)
        assert depth.shape == (k.height, k.width) and depth.dtype == np.float32
        seen.add(hs.family.name)
    assert len(seen) == 3  # consecutive frames cycle through the families
    fam = sample_hard_scene(case, np.random.default_rng(0), 0, family="kinect_v1_320").family
    assert (fam.intrinsics.width, fam.intrinsics.height) == (320, 240)


def test_shape_classes_are_balanced_and_fists_are_closed() -> None:
    rng = np.random.default_rng(5)
    names = [sample_shape_class(rng, default_shape())[0] for _ in range(500)]
    counts = {k: names.count(k) / len(names) for k in SHAPE_CLASSES}
    assert all(0.13 <= v <= 0.27 for v in counts.values()), counts
    _, fist = sample_shape_class(rng, default_shape(), "fist")
    assert np.all(fist[[6, 10, 14, 18]] > 55.0)  # every finger MCP flexed


def test_sensor_extras() -> None:
    rng = np.random.default_rng(1)
    field = correlated_field((120, 160), rng, 0.8, 10.0)
    assert abs(float(field.std()) - 0.8) < 1e-3
    assert np.corrcoef(field[:, :-1].ravel(), field[:, 1:].ravel())[0, 1] > 0.9  # smooth
    step = np.full((20, 20), 1000.0, np.float32)
    step[:, 10:] = 600.0
    fly = flying_pixels(step, rng, 1.0)
    changed = fly != step
    assert changed.any() and np.all(changed[:, [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]] == 0)
    assert np.all((fly[changed] >= 600.0) & (fly[changed] <= 1000.0))
    dark = np.zeros_like(step)
    dark[:, 10:] = 600.0  # the near half is a dark surface
    fam = SENSOR_FAMILIES["d435"]
    out = apply_extras(step, step, dark, fam, rng)
    assert (out[:, 10:] == 0).mean() > 0.4 and (out[:, :9] == 0).mean() == 0.0
