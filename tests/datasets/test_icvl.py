from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from depthhand.datasets.icvl import IcvlDataset, read_icvl_labels
from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from depthhand.skeleton import Icvl16
from tests.datasets.writers import (
    ICVL_DP_K,
    ICVL_K,
    backproject_down,
    hand_xyz,
    project_down,
    render_blob,
    write_label_lines,
    write_png16,
)


def _write_split(root: Path, folder: str, label_file: str, names: list[str], xyz: np.ndarray) -> np.ndarray:
    uvd = np.round(project_down(xyz, ICVL_K), 3)  # labels carry 3 decimals, like the real files
    write_label_lines(root / folder / label_file, names, uvd)
    for name, joints in zip(names, xyz, strict=True):
        write_png16(root / folder / "Depth" / name, render_blob(joints, ICVL_K, (240, 320)))
    return uvd


@pytest.fixture
def icvl_root(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    xyz = hand_xyz(rng, 6, 16, center=(-10.0, 5.0, 350.0))
    uvd = {
        "seq1": _write_split(
            tmp_path, "Testing", "test_seq_1.txt", ["test_seq_1/image_0000.png", "test_seq_1/image_0001.png"], xyz[:2]
        ),
        "seq2": _write_split(tmp_path, "Testing", "test_seq_2.txt", ["test_seq_2/image_0000.png"], xyz[2:3]),
        "train": _write_split(
            tmp_path,
            "Training",
            "labels.txt",
            ["201403121135/image_00001.png", "201403121135/image_00002.png", "201403121140/image_00001.png"],
            xyz[3:],
        ),
    }
    return tmp_path, uvd


def test_splits_and_names(icvl_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, uvd = icvl_root
    test = IcvlDataset(root, "test")
    assert len(test) == 3
    assert test.names == ("test_seq_1/image_0000.png", "test_seq_1/image_0001.png", "test_seq_2/image_0000.png")
    np.testing.assert_array_equal(test.joints_uvd, np.concatenate([uvd["seq1"], uvd["seq2"]]))
    assert len(IcvlDataset(root, "test_seq_1")) == 2
    assert len(IcvlDataset(root, "test_seq_2")) == 1
    train = IcvlDataset(root, "train")
    assert len(train) == 3
    assert train.image_path(2) == root / "Training" / "Depth" / "201403121140" / "image_00001.png"


def test_xyz_and_uvd_round_trip(icvl_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _uvd = icvl_root
    ds = IcvlDataset(root, "test")
    expected_xyz = backproject_down(ds.joints_uvd, ICVL_K)
    np.testing.assert_allclose(ds.joints_xyz_mm, expected_xyz, atol=1e-9)
    np.testing.assert_allclose(xyz_to_uvd(ds.joints_xyz_mm, ds.intrinsics), ds.joints_uvd, atol=1e-6, rtol=0)
    # the other intrinsics convention gives other xyz from the same uvd
    dp = IcvlDataset(root, "test", intrinsics="icvl_deepprior")
    assert dp.intrinsics == INTRINSICS["icvl_deepprior"]
    np.testing.assert_allclose(dp.joints_xyz_mm, backproject_down(ds.joints_uvd, ICVL_DP_K), atol=1e-9)
    assert not np.allclose(dp.joints_xyz_mm, ds.joints_xyz_mm, atol=0.01)


def test_depth_png_and_blob_under_labels(icvl_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = icvl_root
    ds = IcvlDataset(root, "test")
    sample = ds[2]
    assert sample.frame.depth_mm.dtype == np.float32
    assert sample.frame.depth_mm.shape == (240, 320)
    raw = cv2.imread(str(sample.path), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample.frame.depth_mm, raw.astype(np.float32))
    uvd = sample.pose.joints_uvd
    hit = sample.frame.depth_mm[np.rint(uvd[:, 1]).astype(int), np.rint(uvd[:, 0]).astype(int)]
    assert np.mean(np.abs(hit - uvd[:, 2]) <= 0.5) > 0.7
    assert sample.frame.source_id == "icvl:test_seq_2/image_0000.png"


def test_centre_mat(icvl_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = icvl_root
    centres_uvd = np.array([[150.0, 110.0, 340.0], [170.5, 121.0, 360.0], [160.0, 100.0, 355.0]])
    scipy.io.savemat(str(root / "c.mat"), {"centre_pixel": centres_uvd[:, None, :]})
    ds = IcvlDataset(root, "test", center_file=root / "c.mat")
    np.testing.assert_allclose(ds.centers_xyz_mm, backproject_down(centres_uvd, ICVL_K), atol=1e-9)


def test_errors(icvl_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _uvd = icvl_root
    with pytest.raises(ValueError, match="intrinsics"):
        IcvlDataset(root, "test", intrinsics="nyu")
    with pytest.raises(ValueError, match="split"):
        IcvlDataset(root, "validation")
    # wrong channel count, then wrong dtype
    ds = IcvlDataset(root, "test")
    cv2.imwrite(str(ds.image_path(0)), np.zeros((240, 320, 3), np.uint8))
    with pytest.raises(ValueError, match=r"image_0000\.png.*3 channels.*single-channel 16-bit"):
        ds[0]
    cv2.imwrite(str(ds.image_path(0)), np.zeros((240, 320), np.uint8))
    with pytest.raises(ValueError, match=r"image_0000\.png.*uint8.*16-bit"):
        ds[0]
    ds.image_path(1).unlink()
    with pytest.raises(FileNotFoundError, match=r"image_0001\.png"):
        ds[1]
    # a label line with a missing value -> file and line number
    label = root / "Testing" / "test_seq_2.txt"
    label.write_text(label.read_text() + "test_seq_2/image_0001.png " + " ".join(["1.0"] * 47) + "\n")
    with pytest.raises(ValueError, match=r"test_seq_2\.txt:2: has 48 tokens; expected 49"):
        IcvlDataset(root, "test")
    label.write_text("test_seq_2/image_0000.png " + " ".join(["1.0"] * 47 + ["x"]) + "\n")
    with pytest.raises(ValueError, match=r"test_seq_2\.txt:1: token 'x' is not a number"):
        IcvlDataset(root, "test")
    label.unlink()
    with pytest.raises(FileNotFoundError, match=r"test_seq_2\.txt"):
        IcvlDataset(root, "test")


@pytest.mark.shared_data
def test_real_icvl_label_files(shared_data: Path) -> None:
    gt_dir = shared_data / "eval" / "groundtruth" / "icvl"
    names1, uvd1 = read_icvl_labels(gt_dir / "test_seq_1.txt")
    names2, uvd2 = read_icvl_labels(gt_dir / "test_seq_2.txt")
    assert uvd1.shape == (702, 16, 3)
    assert uvd2.shape == (894, 16, 3)
    listed = (gt_dir / "icvl_test_list.txt").read_text().split()
    assert names1 + names2 == listed
    gt = np.loadtxt(gt_dir / "icvl_test_groundtruth_label.txt").reshape(-1, 16, 3)
    np.testing.assert_allclose(np.concatenate([uvd1, uvd2]), gt, atol=1e-9)
    np.testing.assert_allclose(uvd1[0, 0], [180.210, 145.428, 368.854])
    # ICVL order: of the four fingers the middle is the longest and the pinky the shortest (reference §1.2)
    xyz = backproject_down(np.concatenate([uvd1, uvd2]), ICVL_K)
    fingers = ("INDEX", "MIDDLE", "RING", "PINKY")
    length = {
        f: np.median(np.linalg.norm(xyz[:, Icvl16[f"{f}_TIP"]] - xyz[:, Icvl16[f"{f}_ROOT"]], axis=-1)) for f in fingers
    }
    assert max(length, key=length.__getitem__) == "MIDDLE"
    assert min(length, key=length.__getitem__) == "PINKY"
