from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from depthhand.datasets.centers import CenterFormat
from depthhand.datasets.nyu import NyuDataset, decode_nyu_depth, encode_nyu_depth, read_nyu_joint_data
from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from tests.datasets.writers import NYU14_IDS, NYU_K, hand_xyz, project_down, write_nyu, write_nyu_png


@pytest.fixture
def nyu_root(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(7)
    xyz36 = hand_xyz(rng, 3, 36)
    write_nyu(tmp_path, "test", xyz36)
    write_nyu(tmp_path, "train", xyz36[:2] + 10.0)
    return tmp_path, xyz36


def test_depth_encoding_exact_values(tmp_path: Path) -> None:
    known = np.array([[0, 1, 255, 256, 731, 2001, 4095, 65535]], np.uint16)
    write_nyu_png(tmp_path / "d.png", known)
    bgr = cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 3].tolist() == [0, 1, 0]  # 256 = G 1, B 0, R 0
    np.testing.assert_array_equal(decode_nyu_depth(bgr), known.astype(np.float32))
    np.testing.assert_array_equal(encode_nyu_depth(known.astype(np.float32)), bgr)


def test_reads_14_of_36_in_y_down_frame(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, xyz36 = nyu_root
    ds = NyuDataset(root, "test")
    assert len(ds) == 3
    assert ds.names[0] == "test/depth_1_0000001.png"
    np.testing.assert_allclose(ds.joints_xyz_mm, xyz36[:, NYU14_IDS], atol=1e-9)
    sample = ds[1]
    assert sample.frame.depth_mm.shape == (480, 640)
    assert sample.frame.intrinsics == INTRINSICS["nyu"]
    assert sample.pose.joint_set.name == "nyu14"
    np.testing.assert_allclose(sample.pose.joints_xyz_mm, xyz36[1, NYU14_IDS], atol=1e-4)
    assert sample.center_xyz_mm is None
    assert sample.path == root / "test" / "depth_1_0000002.png"


def test_uvd_round_trip_float64(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, _xyz36 = nyu_root
    ds = NyuDataset(root, "test")
    recomputed = project_down(ds.joints_xyz_mm, NYU_K)
    np.testing.assert_allclose(ds.joints_uvd, recomputed, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ds.joints_uvd, xyz_to_uvd(ds.joints_xyz_mm, ds.intrinsics), atol=1e-6, rtol=0)
    # float32 pose
    np.testing.assert_allclose(ds.pose(2).joints_uvd, recomputed[2], atol=1e-3)


def test_labels_land_on_the_decoded_blob(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, _ = nyu_root
    ds = NyuDataset(root, "test")
    for i in range(len(ds)):
        sample = ds[i]
        depth = sample.frame.depth_mm
        assert depth.max() == 2001.0  # background survives the encoding
        uvd = sample.pose.joints_uvd
        u, v = np.rint(uvd[:, 0]).astype(int), np.rint(uvd[:, 1]).astype(int)
        on_surface = depth[v, u]
        # every joint lies on a disc no farther than its own depth (nearer joints may occlude it)
        assert (on_surface <= np.rint(uvd[:, 2]) + 0.5).all()
        assert np.mean(np.abs(on_surface - uvd[:, 2]) <= 0.5) > 0.7


def test_camera_selection_and_train_split(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, xyz36 = nyu_root
    cam3 = NyuDataset(root, "test", camera=3)
    np.testing.assert_allclose(cam3.joints_xyz_mm[..., 0], xyz36[:, NYU14_IDS, 0] + 10.0, atol=1e-9)
    assert cam3.names[0] == "test/depth_3_0000001.png"
    train = NyuDataset(root, "train")
    assert len(train) == 2
    np.testing.assert_allclose(train.joints_xyz_mm, xyz36[:2, NYU14_IDS] + 10.0, atol=1e-9)


def test_reader_parser_returns_y_down(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, xyz36 = nyu_root
    xyz, uvd = read_nyu_joint_data(root / "test" / "joint_data.mat")
    assert xyz.shape == uvd.shape == (3, 36, 3)
    np.testing.assert_allclose(xyz, xyz36, atol=1e-9)
    raw = scipy.io.loadmat(str(root / "test" / "joint_data.mat"))["joint_xyz"]
    assert np.sign(raw[0, 0, 0, 1]) == -np.sign(xyz[0, 0, 1])  # file is y up


def test_centre_files_v2v_xyz_and_a2j_uvd(nyu_root: tuple[Path, np.ndarray]) -> None:
    root, _ = nyu_root
    centers_down = np.array([[-133.29, 12.87, 762.0], [10.0, -20.0, 700.0], [55.0, 30.0, 650.0]])
    v2v = root / "center_test_refined.txt"
    v2v.write_text(
        "\n".join(f"{x:.6f} {-y:.6f} {z:.6f}" if i != 1 else "invalid" for i, (x, y, z) in enumerate(centers_down))
    )
    ds = NyuDataset(root, "test", center_file=v2v)
    np.testing.assert_allclose(ds[0].center_xyz_mm, centers_down[0], atol=1e-6)
    assert ds[1].center_xyz_mm is None
    np.testing.assert_allclose(ds.center_xyz_mm(2), centers_down[2], atol=1e-6)

    a2j = root / "nyu_center_test.mat"
    scipy.io.savemat(str(a2j), {"centre_pixel": project_down(centers_down, NYU_K)[:, None, :]})
    ds_mat = NyuDataset(root, "test", center_file=a2j)
    np.testing.assert_allclose(ds_mat.centers_xyz_mm, centers_down, atol=1e-6)
    # the same uvd values in a text file are recognised as uvd, or forced by argument
    uvd_txt = root / "center_uvd.txt"
    uvd_txt.write_text("\n".join(" ".join(f"{v:.6f}" for v in row) for row in project_down(centers_down, NYU_K)))
    np.testing.assert_allclose(NyuDataset(root, "test", center_file=uvd_txt).centers_xyz_mm, centers_down, atol=1e-5)
    forced = NyuDataset(root, "test", center_file=uvd_txt, center_format=CenterFormat.XYZ).centers_xyz_mm
    assert forced is not None
    assert not np.allclose(forced, centers_down, atol=1.0)


def test_errors(nyu_root: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    root, _xyz36 = nyu_root
    with pytest.raises(FileNotFoundError, match="nowhere"):
        NyuDataset(tmp_path / "nowhere", "test")
    with pytest.raises(ValueError, match="split"):
        NyuDataset(root, "val")
    with pytest.raises(ValueError, match="camera"):
        NyuDataset(root, "test", camera=4)
    # centre count mismatch
    bad_centres = root / "c.txt"
    bad_centres.write_text("1 2 300\n")
    with pytest.raises(ValueError, match=r"c\.txt.*1 centres.*3 frames"):
        NyuDataset(root, "test", center_file=bad_centres)
    # missing image -> names the file
    (root / "test" / "depth_1_0000002.png").unlink()
    ds = NyuDataset(root, "test")
    with pytest.raises(FileNotFoundError, match=r"depth_1_0000002\.png"):
        ds[1]
    # 16-bit single-channel PNG where an RGB one is expected
    cv2.imwrite(str(root / "test" / "depth_1_0000002.png"), np.zeros((480, 640), np.uint16))
    with pytest.raises(ValueError, match=r"depth_1_0000002\.png.*expected an RGB PNG"):
        ds[1]
    # wrong size
    cv2.imwrite(str(root / "test" / "depth_1_0000002.png"), np.zeros((240, 320, 3), np.uint8))
    with pytest.raises(ValueError, match="640x480"):
        ds[1]
    with pytest.raises(IndexError):
        ds[3]


def test_mat_errors(tmp_path: Path) -> None:
    mat = tmp_path / "test" / "joint_data.mat"
    mat.parent.mkdir()
    with pytest.raises(FileNotFoundError, match=r"joint_data\.mat"):
        NyuDataset(tmp_path, "test")
    scipy.io.savemat(str(mat), {"joint_xyz": np.zeros((3, 2, 36, 3))})
    with pytest.raises(ValueError, match=r"joint_data\.mat.*'joint_uvd'"):
        NyuDataset(tmp_path, "test")
    scipy.io.savemat(str(mat), {"joint_xyz": np.zeros((3, 2, 14, 3)), "joint_uvd": np.zeros((3, 2, 14, 3))})
    with pytest.raises(ValueError, match=r"\(3, 2, 14, 3\).*\[3, N, 36, 3\]"):
        NyuDataset(tmp_path, "test")
    scipy.io.savemat(str(mat), {"joint_xyz": np.ones((3, 2, 36, 3)), "joint_uvd": np.ones((3, 3, 36, 3))})
    with pytest.raises(ValueError, match="2 frames but joint_uvd 3"):
        NyuDataset(tmp_path, "test")
    mat.write_bytes(b"not a mat file at all")
    with pytest.raises(ValueError, match=r"joint_data\.mat"):
        NyuDataset(tmp_path, "test")


def test_y_convention_mismatch_is_detected(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    xyz36 = hand_xyz(rng, 2, 36)
    write_nyu(tmp_path, "test", xyz36)
    mat = tmp_path / "test" / "joint_data.mat"
    data = scipy.io.loadmat(str(mat))
    data["joint_xyz"][..., 1] *= -1  # stored y down by mistake
    scipy.io.savemat(str(mat), {k: v for k, v in data.items() if not k.startswith("__")})
    with pytest.raises(ValueError, match="disagree"):
        NyuDataset(tmp_path, "test")
    assert len(NyuDataset(tmp_path, "test", max_label_disagreement_px=None)) == 2
