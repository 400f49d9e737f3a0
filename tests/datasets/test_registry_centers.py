from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from depthhand.datasets.centers import (
    CenterFormat,
    centers_to_xyz_mm,
    detect_center_format,
    load_centers_xyz_mm,
    read_center_file,
    read_center_mat,
    read_center_txt,
)
from depthhand.datasets.files import read_label_text
from depthhand.datasets.icvl import IcvlDataset
from depthhand.datasets.msra import MsraDataset
from depthhand.datasets.nyu import NyuDataset
from depthhand.datasets.registry import open_dataset
from depthhand.geometry.camera import INTRINSICS, Axes
from depthhand.skeleton import Nyu14
from tests.datasets.writers import (
    ICVL_K,
    MSRA_GESTURES,
    NYU_K,
    backproject_down,
    hand_xyz,
    write_label_lines,
    write_msra_joints,
    write_nyu,
)


def test_open_dataset_specs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    nyu_dir = tmp_path / "nyu:with:colons"
    write_nyu(nyu_dir, "train", hand_xyz(rng, 2, 36))
    write_nyu(nyu_dir, "test", hand_xyz(rng, 1, 36))
    ds = open_dataset(f"nyu:{nyu_dir}:train")
    assert isinstance(ds, NyuDataset)
    assert (ds.split, len(ds)) == ("train", 2)
    assert open_dataset(f"nyu:{nyu_dir}").split == "test"

    write_label_lines(tmp_path / "icvl" / "Testing" / "test_seq_1.txt", ["a.png"], np.full((1, 48), 100.0))
    write_label_lines(tmp_path / "icvl" / "Testing" / "test_seq_2.txt", ["b.png"], np.full((1, 48), 100.0))
    icvl = open_dataset(f"icvl:{tmp_path / 'icvl'}:test_seq_2", intrinsics="icvl_deepprior")
    assert isinstance(icvl, IcvlDataset)
    assert (icvl.names, icvl.intrinsics) == (("b.png",), INTRINSICS["icvl_deepprior"])

    msra_dir = tmp_path / "msra"
    for s in range(9):
        for g in MSRA_GESTURES:
            write_msra_joints(msra_dir / f"P{s}" / g / "joint.txt", hand_xyz(rng, 1, 21))
    for spec, split, subject, n in [
        (f"msra:{msra_dir}", "all", None, 153),
        (f"msra:{msra_dir}:all", "all", None, 153),
        (f"msra:{msra_dir}:4", "test", 4, 17),
        (f"msra:{msra_dir}:test4", "test", 4, 17),
        (f"msra:{msra_dir}:train4", "train", 4, 136),
    ]:
        m = open_dataset(spec)
        assert isinstance(m, MsraDataset)
        assert (m.split, m.test_subject, len(m)) == (split, subject, n), spec


def test_open_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'coco'.*nyu, icvl, msra, hands17, fpha"):
        open_dataset("coco:/data")
    with pytest.raises(ValueError, match="no directory"):
        open_dataset("nyu")
    with pytest.raises(FileNotFoundError, match="missing"):
        open_dataset(f"hands17:{tmp_path / 'none'}")
    with pytest.raises(FileNotFoundError, match="missing"):
        open_dataset(f"fpha:{tmp_path / 'none'}")
    # an unknown split is taken as part of the path, which then does not exist
    with pytest.raises(FileNotFoundError, match="val"):
        open_dataset(f"icvl:{tmp_path}:val")


def test_center_text_parsing(tmp_path: Path) -> None:
    path = tmp_path / "center_test_refined.txt"
    path.write_text("-133.29 -12.87 762.00\ninvalid\n\n1.5 2.5 700\n")
    got = read_center_txt(path)
    assert got.shape == (3, 3)
    assert np.isnan(got[1]).all()
    np.testing.assert_array_equal(got[2], [1.5, 2.5, 700.0])
    np.testing.assert_array_equal(read_center_file(path)[0], [-133.29, -12.87, 762.0])
    down = load_centers_xyz_mm(path, INTRINSICS["nyu"], CenterFormat.AUTO, Axes.Y_UP)
    np.testing.assert_allclose(down[0], [-133.29, 12.87, 762.0])
    path.write_text("1 2 3\n1 2\n")
    with pytest.raises(ValueError, match=r"center_test_refined\.txt:2: '1 2'; expected three numbers"):
        read_center_txt(path)


def test_center_mat_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.mat"
    scipy.io.savemat(str(path), {"centre": np.zeros((3, 1, 3))})
    with pytest.raises(ValueError, match=r"c\.mat: has no variable 'centre_pixel'"):
        read_center_mat(path)
    scipy.io.savemat(str(path), {"centre_pixel": np.zeros((3, 2, 3))})
    with pytest.raises(ValueError, match=r"\(3, 2, 3\); expected \(N, 1, 3\)"):
        read_center_mat(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.mat"):
        read_center_mat(tmp_path / "missing.mat")


def test_center_format_detection() -> None:
    k = INTRINSICS["nyu"]
    uvd = np.array([[217.14, 249.91, 762.0], [400.0, 300.0, 700.0], [np.nan, np.nan, np.nan]])
    assert detect_center_format(uvd, k) is CenterFormat.UVD
    assert detect_center_format(np.array([[-133.29, -12.87, 762.0], [40.0, 20.0, 700.0]]), k) is CenterFormat.XYZ
    assert detect_center_format(np.array([[700.0, 20.0, 700.0]]), k) is CenterFormat.XYZ  # u outside the image
    np.testing.assert_allclose(centers_to_xyz_mm(uvd, k)[:2], backproject_down(uvd[:2], NYU_K), atol=1e-9)
    assert np.isnan(centers_to_xyz_mm(uvd, k)[2]).all()


@pytest.mark.shared_data
def test_real_a2j_nyu_centres_equal_projected_v2v(shared_data: Path) -> None:
    eval_dir = shared_data / "eval"
    raw = read_center_mat(eval_dir / "centers" / "nyu_center_test.mat")
    assert raw.shape == (8252, 3)
    assert detect_center_format(raw, INTRINSICS["nyu"]) is CenterFormat.UVD
    np.testing.assert_allclose(raw[0], [217.14, 249.91, 762.00], atol=0.01)
    # reference §1.1: equals V2V's test line 1 (-133.29, -12.87, 762.00) xyz y-up, projected with NYU intrinsics
    xyz_down = load_centers_xyz_mm(eval_dir / "centers" / "nyu_center_test.mat", INTRINSICS["nyu"])
    np.testing.assert_allclose(xyz_down[0], [-133.29, 12.87, 762.00], atol=0.01)
    # and the centres sit on the hand: compare with the 14 GT joints of every test frame
    _, gt = read_label_text(eval_dir / "groundtruth" / "nyu" / "nyu_test_groundtruth_label.txt", 42, False, "uvd")
    gt_uvd = gt.reshape(-1, 14, 3)
    assert gt_uvd.shape == (8252, 14, 3)
    gt_xyz = backproject_down(gt_uvd, NYU_K)
    dist = np.linalg.norm(xyz_down - gt_xyz.mean(axis=1), axis=1)
    assert np.median(dist) < 30.0
    assert dist.max() < 100.0
    palm = np.linalg.norm(xyz_down[0] - gt_xyz[0, Nyu14.PALM_3], axis=-1)
    assert palm < 40.0


@pytest.mark.shared_data
def test_real_a2j_icvl_centres(shared_data: Path) -> None:
    path = shared_data / "eval" / "centers" / "icvl_center_test.mat"
    raw = read_center_mat(path)
    assert raw.shape == (1596, 3)
    assert detect_center_format(raw, INTRINSICS["icvl"]) is CenterFormat.UVD
    xyz = load_centers_xyz_mm(path, INTRINSICS["icvl"])
    _, gt = read_label_text(
        shared_data / "eval" / "groundtruth" / "icvl" / "icvl_test_groundtruth_label.txt", 48, False, "uvd"
    )
    gt_xyz = backproject_down(gt.reshape(-1, 16, 3), ICVL_K)
    dist = np.linalg.norm(xyz - gt_xyz.mean(axis=1), axis=1)
    assert np.median(dist) < 40.0
