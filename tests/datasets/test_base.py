from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.datasets import DatasetSample, HandDataset, open_dataset
from depthhand.datasets.hands17 import Hands17Dataset
from tests.datasets.writers import hand_xyz, write_label_lines


@pytest.fixture
def labels_only(tmp_path: Path) -> Path:
    xyz = hand_xyz(np.random.default_rng(9), 4, 21)
    write_label_lines(tmp_path / "training" / "Training_Annotation.txt", [f"image_D{i:08d}.png" for i in range(4)], xyz)
    (tmp_path / "training" / "images").mkdir()
    return tmp_path


def test_indexing_protocol(labels_only: Path) -> None:
    ds = open_dataset(f"hands17:{labels_only}")
    assert isinstance(ds, HandDataset)
    assert isinstance(ds, Hands17Dataset)
    assert len(ds) == 4
    assert "frames=4" in repr(ds)
    assert ds.pose(np.int64(-1)).joints_xyz_mm.dtype == np.float32
    np.testing.assert_allclose(ds.pose(-1).joints_xyz_mm, ds.joints_xyz_mm[3], atol=1e-4)
    assert ds.center_xyz_mm(0) is None and ds.centers_xyz_mm is None
    with pytest.raises(IndexError, match="out of range for 4 frames"):
        ds.pose(4)
    with pytest.raises(IndexError):
        ds.pose(-5)
    with pytest.raises(TypeError):
        ds.pose("0")  # type: ignore[arg-type]
    # labels are copies: mutating them does not change the reader
    arr = ds.joints_xyz_mm
    arr[:] = 0
    assert ds.joints_xyz_mm.any()
    assert DatasetSample.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_opening_is_lazy(labels_only: Path) -> None:
    # no image exists, yet the reader opens and serves labels; images are read only on demand
    ds = open_dataset(f"hands17:{labels_only}")
    assert ds.pose(2).joints_uvd.shape == (21, 3)
    with pytest.raises(FileNotFoundError, match=r"image_D00000002\.png: missing"):
        ds[2]
