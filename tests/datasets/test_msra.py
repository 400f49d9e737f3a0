from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.datasets.msra import (
    MSRA_GESTURES,
    MsraDataset,
    decode_msra_bin,
    encode_msra_bin,
    msra_file_to_camera,
    read_msra_bin,
)
from depthhand.geometry.camera import INTRINSICS
from tests.datasets.writers import MSRA_GESTURES as GESTURES_FROM_REFERENCE
from tests.datasets.writers import MSRA_K, hand_xyz, project_down, render_blob, write_msra_bin, write_msra_joints


def _frames(subject: int) -> int:
    return 1 + subject % 3


@pytest.fixture(scope="module")
def msra_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("msra")
    rng = np.random.default_rng(5)
    labels: dict[str, np.ndarray] = {}
    for s in range(9):
        for gesture in GESTURES_FROM_REFERENCE:
            xyz = hand_xyz(rng, _frames(s), 21, center=(0.0, 10.0, 380.0))
            if s == 3 and gesture == "IP":
                xyz[0, 0] = [10.0, 20.0, 400.0]  # known camera point (y down)
            write_msra_joints(root / f"P{s}" / gesture / "joint.txt", xyz)
            labels[f"P{s}/{gesture}"] = xyz
    # depth files for P3/IP only (the reader is lazy)
    for i, joints in enumerate(labels["P3/IP"]):
        depth = render_blob(joints, MSRA_K, (240, 320)).astype(np.float32)
        ys, xs = np.nonzero(depth)
        write_msra_bin(root / "P3" / "IP" / f"{i:06d}_depth.bin", depth, xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return root, labels


def test_gesture_list_matches_reference() -> None:
    assert list(MSRA_GESTURES) == GESTURES_FROM_REFERENCE


def test_fold_selection_counts(msra_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = msra_root
    total = sum(17 * _frames(s) for s in range(9))
    assert len(MsraDataset(root)) == total
    for k in (0, 3, 8):
        test = MsraDataset(root, test_subject=k, split="test")
        train = MsraDataset(root, test_subject=k, split="train")
        assert len(test) == 17 * _frames(k)
        assert len(train) == total - len(test)
        assert set(test.frame_subjects.tolist()) == {k}
        assert k not in set(train.frame_subjects.tolist())
        assert all(not name.startswith(f"P{k}/") for name in train.names)


def test_known_point_and_axis_conversion(msra_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, labels = msra_root
    ds = MsraDataset(root, test_subject=3, split="test")
    i = ds.names.index("P3/IP/000000_depth.bin")
    np.testing.assert_allclose(ds.joints_xyz_mm[i, 0], [10.0, 20.0, 400.0], atol=1e-9)
    fx, fy, cx, cy = MSRA_K
    np.testing.assert_allclose(ds.joints_uvd[i, 0], [10 * fx / 400 + cx, 20 * fy / 400 + cy, 400.0], atol=1e-6)
    line = (root / "P3" / "IP" / "joint.txt").read_text().splitlines()[1].split()[:3]
    assert [float(t) for t in line] == [10.0, -20.0, -400.0]  # the file stores y up and z negative
    # whole-label comparison and float64 uvd round trip
    start = ds.names.index("P3/IP/000000_depth.bin")
    got = ds.joints_xyz_mm[start : start + _frames(3)]
    np.testing.assert_allclose(got, labels["P3/IP"], atol=1e-6)
    np.testing.assert_allclose(ds.joints_uvd, project_down(ds.joints_xyz_mm, MSRA_K), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(msra_file_to_camera(msra_file_to_camera(got)), got)


def test_bin_patch_placement(tmp_path: Path) -> None:
    depth = np.zeros((240, 320), np.float32)
    patch = np.arange(30 * 40, dtype=np.float32).reshape(30, 40) + 300.25
    depth[50:80, 100:140] = patch
    write_msra_bin(tmp_path / "000000_depth.bin", depth, left=100, top=50, right=140, bottom=80)
    got = read_msra_bin(tmp_path / "000000_depth.bin")
    assert got.shape == (240, 320)
    np.testing.assert_array_equal(got[50:80, 100:140], patch)
    assert got[0, 0] == 0 and got[49, 100] == 0 and got[50, 99] == 0 and got[80, 139] == 0 and got[79, 140] == 0
    assert got.sum() == pytest.approx(float(patch.sum(dtype=np.float64)))
    # the encoder writes the same bytes
    assert encode_msra_bin(depth, (100, 50, 140, 80)) == (tmp_path / "000000_depth.bin").read_bytes()
    np.testing.assert_array_equal(decode_msra_bin(encode_msra_bin(depth, (100, 50, 140, 80))), depth)


def test_samples_from_dataset(msra_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = msra_root
    ds = MsraDataset(root, test_subject=3, split="test")
    i = ds.names.index("P3/IP/000000_depth.bin")
    sample = ds[i]
    assert sample.frame.intrinsics == INTRINSICS["msra"]
    uvd = sample.pose.joints_uvd
    hit = sample.frame.depth_mm[np.rint(uvd[:, 1]).astype(int), np.rint(uvd[:, 0]).astype(int)]
    assert np.mean(np.abs(hit - uvd[:, 2]) <= 0.5) > 0.7
    with pytest.raises(FileNotFoundError, match=r"P3/1/000000_depth\.bin"):
        ds[0]


def test_bin_errors(tmp_path: Path) -> None:
    path = tmp_path / "x_depth.bin"
    depth = np.full((240, 320), 400.0, np.float32)
    write_msra_bin(path, depth, 10, 20, 50, 60)
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    with pytest.raises(ValueError, match=r"x_depth\.bin: truncated.*1598 floats.*expected 1600 float32"):
        read_msra_bin(path)
    path.write_bytes(data + b"\0\0\0\0")
    with pytest.raises(ValueError, match="too long"):
        read_msra_bin(path)
    path.write_bytes(data[:10])
    with pytest.raises(ValueError, match="24-byte header"):
        read_msra_bin(path)
    path.write_bytes(np.array([320, 240, 50, 20, 10, 60], "<i4").tobytes())
    with pytest.raises(ValueError, match="inconsistent"):
        read_msra_bin(path)
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_msra_bin(tmp_path / "nothere.bin")


def test_label_errors(tmp_path: Path) -> None:
    xyz = hand_xyz(np.random.default_rng(1), 2, 21)
    for s in range(9):
        for g in GESTURES_FROM_REFERENCE:
            write_msra_joints(tmp_path / f"P{s}" / g / "joint.txt", xyz)
    assert len(MsraDataset(tmp_path)) == 9 * 17 * 2
    joint = tmp_path / "P2" / "TIP" / "joint.txt"
    lines = joint.read_text().splitlines()
    joint.write_text("\n".join(["3", *lines[1:]]))
    with pytest.raises(ValueError, match=r"P2/TIP/joint\.txt: line 1 declares 3 frames but 2"):
        MsraDataset(tmp_path)
    joint.write_text("\n".join([lines[0], lines[1], lines[2].rsplit(" ", 1)[0]]))
    with pytest.raises(ValueError, match=r"joint\.txt:3: has 62 values; expected 63"):
        MsraDataset(tmp_path)
    joint.write_text("\n".join([lines[0], lines[1], lines[2].replace("-", "")]))
    with pytest.raises(ValueError, match=r"joint\.txt: frame 1 \(line 3\) has z ≥ 0"):
        MsraDataset(tmp_path)
    joint.write_text("two\n")
    with pytest.raises(ValueError, match="not a frame count"):
        MsraDataset(tmp_path)
    joint.unlink()
    with pytest.raises(FileNotFoundError, match=r"P2/TIP/joint\.txt"):
        MsraDataset(tmp_path)
    joint.parent.rmdir()
    with pytest.raises(FileNotFoundError, match="P2/TIP"):
        MsraDataset(tmp_path)
    assert len(MsraDataset(tmp_path, test_subject=2, split="train")) == 8 * 17 * 2
    with pytest.raises(ValueError, match="test_subject"):
        MsraDataset(tmp_path, split="test")
    with pytest.raises(ValueError, match="test_subject"):
        MsraDataset(tmp_path, test_subject=9, split="test")
