from __future__ import annotations

import numpy as np
import pytest
import torch

from depthhand.geometry.augment import AugmentRecipe
from depthhand.geometry.camera import xyz_to_uvd
from depthhand.skeleton import CANONICAL21, NYU14
from depthhand.train.data import CropArrayDataset, HandCropDataset, SampleConfig, heatmaps_from_crop_uv


def test_heatmap_binomial_kernel():
    maps = heatmaps_from_crop_uv(np.array([[41.0, 50.2], [-3.0, 10.0], [200.0, 2.0]]), 96)
    assert maps.shape == (3, 24, 24)
    m = maps[0]  # pixel (41, 50) -> cell (u 10, v 12)
    assert m[12, 10] == 1.0
    assert m[12, 9] == m[12, 11] == m[11, 10] == m[13, 10] == 0.5
    assert m[11, 9] == m[13, 11] == 0.25
    assert m.sum() == pytest.approx(1 + 4 * 0.5 + 4 * 0.25)
    assert maps[1].sum() == 0.0  # negative u: empty
    assert maps[2][0, 23] == 1.0 and maps[2][0, 22] == 0.5  # clamped to the last column


def test_targets_consistent_with_geometry(ball_samples):
    ds = HandCropDataset(ball_samples, SampleConfig(CANONICAL21, recipe=AugmentRecipe(), heatmaps=True, seed=5))
    for idx in range(4):
        item = ds[idx]
        patch = item["patch"][0].numpy()
        cube = item["cube_mm"].numpy().astype(np.float64)
        center = item["center_xyz_mm"].numpy().astype(np.float64)
        # Independent check: xyz_crop = (xyz − centre)/(cube/2)
        np.testing.assert_allclose(
            item["joints_crop"].numpy(), (item["joints_xyz_mm"].numpy() - center) / (cube / 2), atol=1e-5
        )
        # uvd_crop: the patch under each visible joint's (u, v) shows a ball surface just in front of the joint.
        uvd = item["joints_uvd_crop"].numpy()
        px = np.floor(uvd[:, :2] * 48 + 47.5 + 0.5).astype(int)
        inside = np.all((px >= 0) & (px < 96), axis=1)
        seen = patch[px[inside, 1], px[inside, 0]]
        near = (uvd[inside, 2] - seen) * cube[2] / 2  # mm in front of the joint centre
        assert np.median(near) == pytest.approx(12.0, abs=4.0)  # balls of radius 12 mm
        # Heat-map peaks at the joints' cells.
        hm = item["heatmaps"].numpy()
        j = int(np.flatnonzero(inside)[0])
        assert hm[j, px[j, 1] // 4, px[j, 0] // 4] == 1.0


def test_augmentation_reproducible_per_epoch(ball_samples):
    ds = HandCropDataset(ball_samples, SampleConfig(CANONICAL21, recipe=AugmentRecipe(), seed=1))
    a = ds[3]["patch"]
    draws = set()
    for epoch in range(8):
        ds.set_epoch(epoch)
        draws.add(ds[3]["patch"].numpy().tobytes())
    ds.set_epoch(0)
    assert torch.equal(ds[3]["patch"], a)  # same (seed, epoch, index) -> same draw
    assert len(draws) > 2  # epochs draw afresh


def test_joint_set_mapping(ball_samples):
    ds = HandCropDataset(ball_samples[:2], SampleConfig(NYU14))
    assert ds[0]["joints_crop"].shape == (14, 3)


def test_crop_array_dataset_validation_and_generator():
    def gen(rng):
        j = rng.uniform(-0.5, 0.5, (21, 3))
        return {"patch": np.ones((96, 96), np.float32), "joints_crop": j, "joints_uvd_crop": j}

    ds = CropArrayDataset.from_generator(gen, 5, make_heatmaps=True)
    assert len(ds) == 5 and ds[0]["heatmaps"].shape == (21, 24, 24)
    with pytest.raises(ValueError, match="joints_crop"):
        CropArrayDataset(np.zeros((3, 8, 8)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="joints_uvd_crop"):
        CropArrayDataset(np.zeros((3, 8, 8)), np.zeros((3, 4, 3)), make_heatmaps=True)


def test_crop_geometry_matches_projection(ball_samples):
    # Without augmentation, joint (u, v) in the crop = image_to_crop applied to the projected joint.
    s = ball_samples[0]
    item = HandCropDataset([s], SampleConfig(CANONICAL21))[0]
    uvd_img = xyz_to_uvd(s.pose.joints_xyz_mm.astype(np.float64), s.frame.intrinsics)
    a = item["crop_affine"].numpy().astype(np.float64)
    crop_px = uvd_img[:, :2] @ a[:2, :2].T + a[:2, 2]
    np.testing.assert_allclose(item["joints_uvd_crop"].numpy()[:, :2], (crop_px - 47.5) / 48, atol=1e-4)
