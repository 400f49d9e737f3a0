from __future__ import annotations

import numpy as np
import pytest

from depthhand.skeleton import Canonical21 as C
from depthhand.skeleton import joint_mapping
from depthhand.synth.kinematics import PART_ARM, PART_HAND
from depthhand.synth.scenes import SCENES, TOUCH_MM, render_scene, sample_scene


@pytest.mark.parametrize("family", SCENES)
def test_visible_joints_project_onto_their_hand(family: str) -> None:
    hits = total = inside = 0
    for seed in range(6):
        rng = np.random.default_rng([seed, 7])
        s = render_scene(sample_scene(family, rng), rng, noise=None)
        h, w = s.part.shape
        assert s.depth_mm.shape == (h, w) and s.depth_mm.dtype == np.float32
        for k in range(len(s.handedness)):
            uv = np.floor(s.joints_uvd[k, :, :2] + 0.5).astype(int)
            inside += int(np.sum((uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)))
            for j in np.nonzero(s.visibility[k])[0]:
                u, v = uv[j]
                total += 1
                allowed = (PART_HAND, PART_ARM) if j in (C.WRIST, C.THUMB_CMC) else (PART_HAND,)
                assert s.part[v, u] in allowed and s.owner[v, u] == k
                # the rendered surface lies just in front of the joint centre (joints sit inside the flesh)
                gap = s.joints_uvd[k, j, 2] - s.clean_depth_mm[v, u]
                hits += -2.0 <= gap <= 30.0
            # projections are consistent: uvd depth is the camera z
            np.testing.assert_allclose(s.joints_uvd[k, :, 2], s.joints_xyz_mm[k, :, 2])
            x0, y0, x1, y1 = s.boxes_xyxy[k]
            assert x1 > x0 and y1 > y0
    assert total > 30
    assert total / inside > 0.3  # a good share of the joints in view is visible
    assert hits / total > 0.95


def test_topdown_hands_never_enter_the_table_and_some_touch() -> None:
    touching = 0
    for seed in range(25):
        rng = np.random.default_rng([seed, 1])
        scene = sample_scene("topdown", rng)
        plane = scene.table_plane
        assert plane is not None
        for geo in scene.geometries:
            c = geo.cones
            low = np.minimum(c[:, 0:3] @ plane[:3] - c[:, 3], c[:, 4:7] @ plane[:3] - c[:, 7]) - plane[3]
            assert low.min() > -1e-6  # nothing below the table surface
        s = render_scene(scene, rng, noise=None)
        assert np.array_equal(s.touch, s.fingertip_height_mm <= TOUCH_MM)
        touching += int(s.touch.any())
    assert touching >= 5


def test_joint_mappings_apply_to_labels() -> None:
    rng = np.random.default_rng(3)
    s = render_scene(sample_scene("frontal", rng, n_hands=1), rng, noise=None)
    for name, n in (("nyu14", 14), ("icvl16", 16), ("msra21", 21)):
        mapped = s.joints_as(name)
        assert mapped.shape == (1, n, 3)
        np.testing.assert_allclose(mapped[0], joint_mapping("canonical21", name).apply(s.joints_xyz_mm[0]))
    # exact correspondences: MSRA's wrist and index tip are the canonical ones
    np.testing.assert_allclose(s.joints_as("msra21")[0, 0], s.joints_xyz_mm[0, C.WRIST])
    np.testing.assert_allclose(s.joints_as("msra21")[0, 4], s.joints_xyz_mm[0, C.INDEX_TIP])


@pytest.mark.parametrize("family", SCENES)
def test_same_seed_gives_identical_frames(family: str) -> None:
    a = render_scene(sample_scene(family, np.random.default_rng(11)), np.random.default_rng(12), "default")
    b = render_scene(sample_scene(family, np.random.default_rng(11)), np.random.default_rng(12), "default")
    c = render_scene(sample_scene(family, np.random.default_rng(13)), np.random.default_rng(12), "default")
    np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
    np.testing.assert_array_equal(a.joints_xyz_mm, b.joints_xyz_mm)
    np.testing.assert_array_equal(a.part, b.part)
    assert not np.array_equal(a.clean_depth_mm, c.clean_depth_mm)


def test_noise_changes_depth_but_not_labels() -> None:
    scene = sample_scene("topdown", np.random.default_rng(5))
    clean = render_scene(scene, np.random.default_rng(1), None)
    noisy = render_scene(scene, np.random.default_rng(1), "structured_light")
    np.testing.assert_array_equal(clean.clean_depth_mm, noisy.clean_depth_mm)
    np.testing.assert_array_equal(clean.joints_uvd, noisy.joints_uvd)
    valid = (noisy.depth_mm > 0) & (clean.depth_mm > 0)
    diff = np.abs(noisy.depth_mm[valid] - clean.depth_mm[valid])
    assert 0 < np.median(diff) < 10


def test_unknown_family_raises() -> None:
    with pytest.raises(ValueError, match="scene family"):
        sample_scene("underwater", np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_hands"):
        sample_scene("frontal", np.random.default_rng(0), n_hands=3)
