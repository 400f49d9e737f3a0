from __future__ import annotations

import numpy as np
import pytest

from depthhand.pose.decode import uvd_crop_to_xyz
from depthhand.skeleton import CANONICAL21
from depthhand.train.data import CropArrayDataset, SampleConfig
from depthhand.train.spec import open_training_data
from depthhand.train.synth_data import generate_crop_arrays, save_crop_arrays


def test_generated_targets_are_consistent(tmp_path) -> None:
    arrays = generate_crop_arrays(6, seed=3, scenes=("topdown", "frontal"), chunk=3, progress=False)
    assert arrays["patches"].shape == (6, 96, 96) and arrays["joints_crop"].shape == (6, 21, 3)
    assert arrays["scene"].tolist() == [0, 0, 0, 1, 1, 1]
    # the uvd_crop targets decode back to the camera joints through each crop (independent route)
    from depthhand.synth.crops import generate_crops

    _, joints_crop, meta = generate_crops(3, np.random.default_rng(3), "topdown")
    np.testing.assert_allclose(joints_crop, arrays["joints_crop"][:3], atol=1e-6)
    for i in range(3):
        back = uvd_crop_to_xyz(arrays["joints_uvd_crop"][i], meta.crops[i], meta.intrinsics[i])
        np.testing.assert_allclose(back, meta.joints_xyz_mm[i], atol=0.05)
    path = save_crop_arrays(arrays, tmp_path / "c.npz")
    ds = open_training_data(f"crops:{path}", SampleConfig(CANONICAL21))
    assert isinstance(ds, CropArrayDataset) and len(ds) == 6


def test_in_memory_synth_spec() -> None:
    ds = open_training_data("synth:@4?scenes=egocentric&seed=1", SampleConfig(CANONICAL21))
    item = ds[0]
    assert tuple(item["patch"].shape) == (1, 96, 96)
    with pytest.raises(ValueError, match="unknown scene"):
        generate_crop_arrays(2, 0, scenes=("kitchen",), progress=False)


def test_in_memory_synth_spec_can_keep_only_crops_centred_in_the_image() -> None:
    arrays = generate_crop_arrays(8, 2, ("topdown",), progress=False)  # seed 2: one crop is centred off the image
    keep = arrays["centre_in_image"]
    assert keep.dtype == bool and 0 < keep.sum() < 8
    ds = open_training_data("synth:@8?scenes=topdown&seed=2&centre_in_image=1", SampleConfig(CANONICAL21))
    assert len(ds) == keep.sum()
    np.testing.assert_array_equal(ds[len(ds) - 1]["patch"].numpy()[0], arrays["patches"][keep][-1])
    assert len(open_training_data("synth:@8?scenes=topdown&seed=2", SampleConfig(CANONICAL21))) == 8


def test_synth_crops_command_writes_training_file(tmp_path, capsys) -> None:
    from depthhand.cli import main

    out = tmp_path / "crops.npz"
    args = ["synth", "--crops", "5", "--scene", "frontal,topdown", "--seed", "4", "--min-in-image", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    assert "wrote 5 crops" in capsys.readouterr().out
    with np.load(out) as data:
        assert data["patches"].shape == (5, 96, 96) and np.all(data["in_image"] == 1.0)
        expected = generate_crop_arrays(5, 4, ("frontal", "topdown"), progress=False, min_in_image=1.0)
        np.testing.assert_array_equal(data["patches"], expected["patches"])
    assert len(open_training_data(f"crops:{out}", SampleConfig(CANONICAL21))) == 5
    edge = tmp_path / "edge.npz"
    assert main(["synth", "--crops", "3", "--seed", "4", "--max-in-image", "0.9", "--quiet", "--out", str(edge)]) == 0
    with np.load(edge) as data:
        assert data["in_image"].shape == (3,) and np.all(data["in_image"] <= 0.9)
    assert main(["synth", "--crops", "5", "--out", str(tmp_path / "crops"), "--quiet"]) == 1
    assert "give --out FILE.npz" in capsys.readouterr().err
