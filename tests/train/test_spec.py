from __future__ import annotations

import numpy as np
import pytest

from depthhand.skeleton import CANONICAL21
from depthhand.train.data import CropArrayDataset, HandCropDataset, SampleConfig
from depthhand.train.spec import open_training_data, register_data_opener, split_train_val, training_reader_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nyu:/d/nyu", "nyu:/d/nyu:train"),
        ("nyu:/d/nyu:train", "nyu:/d/nyu:train"),
        ("icvl:/d/icvl", "icvl:/d/icvl:train"),
        ("msra:/d/msra:3", "msra:/d/msra:train3"),
        ("msra:/d/msra", "msra:/d/msra"),
        ("hands17:/d/h", "hands17:/d/h"),
    ],
)
def test_training_reader_spec(spec, expected):
    assert training_reader_spec(spec) == expected


@pytest.mark.parametrize("spec", ["nyu:/d:test", "msra:/d:test2", "icvl:/d:test_seq_1"])
def test_test_splits_refused(spec):
    with pytest.raises(ValueError, match="test split"):
        training_reader_spec(spec)


def test_crops_npz_and_errors(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, patches=np.ones((4, 96, 96), np.float32), joints_crop=np.zeros((4, 21, 3), np.float32))
    ds = open_training_data(f"crops:{path}", SampleConfig(CANONICAL21))
    assert isinstance(ds, CropArrayDataset) and len(ds) == 4
    with pytest.raises(ValueError, match="PREFIX:PATH"):
        open_training_data("nothing", SampleConfig(CANONICAL21))
    with pytest.raises(FileNotFoundError, match=r"dataset\.json not found"):
        open_training_data("synth:/nonexistent/x", SampleConfig(CANONICAL21))
    with pytest.raises(ValueError, match="unknown parameter"):
        open_training_data("synth:@4?colour=red", SampleConfig(CANONICAL21))


def test_registered_opener_and_split(ball_samples):
    register_data_opener("balls", lambda rest, cfg: HandCropDataset(ball_samples, cfg))
    ds = open_training_data("balls:any", SampleConfig(CANONICAL21, recipe=None))
    train, val = split_train_val(ds, 0.25)
    assert len(train) == 12 and len(val) == 4
    assert val[0]["patch"].shape == (1, 96, 96)


def test_crops_npz_cube_must_match_and_joints_map_to_the_model_set(tmp_path):
    from depthhand.skeleton import MSRA21, Canonical21, Msra21

    rng = np.random.default_rng(0)
    joints = rng.uniform(-0.5, 0.5, (3, 21, 3)).astype(np.float32)
    path = tmp_path / "c.npz"
    np.savez(path, patches=np.ones((3, 96, 96), np.float32), joints_crop=joints, joints_uvd_crop=joints,
             cube_mm=np.float32(250.0))  # fmt: skip
    with pytest.raises(ValueError, match=r"250 mm cube but the model uses 175 mm; train with --cube 250"):
        open_training_data(f"crops:{path}", SampleConfig(MSRA21, cube_mm=175.0))
    ds = open_training_data(f"crops:{path}", SampleConfig(MSRA21, cube_mm=250.0))
    assert isinstance(ds, CropArrayDataset) and ds.joints_crop.shape == (3, 21, 3)
    for name in ("WRIST", "INDEX_MCP", "PINKY_TIP", "THUMB_TIP"):  # MSRA orders the thumb last
        np.testing.assert_array_equal(ds.joints_crop[:, Msra21[name]], joints[:, Canonical21[name]])
    np.testing.assert_array_equal(ds.joints_uvd_crop[:, Msra21.THUMB_TIP], joints[:, Canonical21.THUMB_TIP])
