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


def _marker_crops(n: int = 6, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Patches with one 3×3 marker per joint at the joint's pixel and depth (a few joints, far apart)."""
    rng = np.random.default_rng(5)
    patches = np.ones((n, size, size), np.float32)
    uvd = np.zeros((n, 3, 3), np.float32)
    for i in range(n):
        for j, (u, v) in enumerate([(30, 30), (66, 40), (48, 70)]):
            d = float(rng.uniform(-0.5, 0.5))
            patches[i, v - 1 : v + 2, u - 1 : u + 2] = d
            uvd[i, j] = [(u - (size - 1) / 2) / (size / 2), (v - (size - 1) / 2) / (size / 2), d]
    return patches, uvd


def test_crop_arrays_augmented_per_epoch_and_consistent():
    patches, uvd = _marker_crops()
    ds = CropArrayDataset(patches, uvd, uvd, make_heatmaps=True, recipe=AugmentRecipe(combine=True), seed=3)
    first = ds[2]
    ds.set_epoch(1)
    second = ds[2]
    ds.set_epoch(0)
    assert torch.equal(ds[2]["patch"], first["patch"])  # same (seed, epoch, index) -> same draw
    assert not torch.equal(second["patch"], first["patch"])  # a new epoch draws afresh
    for item in (first, second):
        patch, joints = item["patch"][0].numpy(), item["joints_uvd_crop"].numpy()
        assert torch.equal(item["joints_crop"], item["joints_uvd_crop"])  # same move for both target spaces
        for u, v, d in joints:  # every moved joint sits on its moved marker, at its depth
            pu, pv = np.rint(np.array([u, v]) * 48 + 47.5).astype(int)
            assert abs(patch[pv, pu] - d) < 1e-5
        hm = item["heatmaps"].numpy()  # heat maps rebuilt at the moved joints
        peaks = np.array([np.unravel_index(np.argmax(m), m.shape) for m in hm])
        np.testing.assert_array_equal(peaks[:, 1], np.minimum(np.floor(joints[:, 0] * 48 + 48) // 4, 23))


def test_crops_spec_carries_the_recipe(tmp_path):
    from depthhand.train.spec import open_training_data

    rng = np.random.default_rng(0)
    patches = np.where(rng.random((4, 96, 96)) < 0.3, rng.uniform(-0.5, 0.5, (4, 96, 96)), 1.0).astype(np.float32)
    joints = rng.uniform(-0.5, 0.5, (4, 21, 3)).astype(np.float32)
    path = tmp_path / "c.npz"
    np.savez(path, patches=patches, joints_crop=joints, joints_uvd_crop=joints)
    recipe = AugmentRecipe(rotation_max_deg=30.0, combine=True)
    ds = open_training_data(f"crops:{path}", SampleConfig(CANONICAL21, recipe=recipe, seed=4))
    assert isinstance(ds, CropArrayDataset) and ds.recipe == recipe and ds.seed == 4
    assert not np.array_equal(ds[0]["patch"][0].numpy(), patches[0])
    plain = open_training_data(f"crops:{path}", SampleConfig(CANONICAL21))
    np.testing.assert_array_equal(plain[0]["patch"][0].numpy(), patches[0])


def test_crop_arrays_split_keeps_validation_plain():
    from depthhand.train.spec import split_train_val

    patches, uvd = _marker_crops(20)
    ds = CropArrayDataset(patches, uvd, uvd, recipe=AugmentRecipe(combine=True), seed=0)
    train, val = split_train_val(ds, 0.25)
    assert val is not None and len(val) == 5
    np.testing.assert_array_equal(val[0]["patch"][0].numpy(), patches[15])  # served as it is
    assert not np.array_equal(train[0]["patch"][0].numpy(), patches[0])  # training items are augmented
    with pytest.raises(ValueError, match="joints_uvd_crop"):
        CropArrayDataset(patches, uvd, heatmaps=np.zeros((20, 3, 24, 24)), recipe=AugmentRecipe())


def test_several_crop_files_make_one_dataset(tmp_path):
    from depthhand.train.spec import open_training_data, split_train_val

    rng = np.random.default_rng(0)
    patches = np.where(rng.random((8, 96, 96)) < 0.3, rng.uniform(-0.5, 0.5, (8, 96, 96)), 1.0).astype(np.float32)
    joints = rng.uniform(-0.5, 0.5, (8, 21, 3)).astype(np.float32)
    for name, cube in (("a", 250.0), ("b", 250.0), ("c", 300.0)):
        np.savez(tmp_path / f"{name}.npz", patches=patches, joints_crop=joints, joints_uvd_crop=joints, cube_mm=cube)
    cfg = SampleConfig(CANONICAL21, cube_mm=250.0, recipe=AugmentRecipe(combine=True), seed=2)
    both = open_training_data(f"crops:{tmp_path / 'a.npz'},{tmp_path / 'b.npz'}", cfg)
    assert len(both) == 16
    assert not torch.equal(both[0]["patch"], both[8]["patch"])  # same crops, different draws per file
    before = both[0]["patch"].clone()
    both.set_epoch(1)  # type: ignore[attr-defined]
    assert not torch.equal(both[0]["patch"], before)
    _, val = split_train_val(both, 0.25)
    assert val is not None and len(val) == 4
    np.testing.assert_array_equal(val[0]["patch"][0].numpy(), patches[4])  # validation is served plain
    with pytest.raises(ValueError, match="300"):
        open_training_data(f"crops:{tmp_path / 'a.npz'},{tmp_path / 'c.npz'}", cfg)


def test_crops_spec_without_a_file_is_refused():
    from depthhand.train.spec import open_training_data

    with pytest.raises(ValueError, match="names no file"):
        open_training_data("crops:,", SampleConfig(CANONICAL21))
