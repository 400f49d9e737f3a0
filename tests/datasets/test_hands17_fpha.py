from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.datasets.fpha import FphaDataset, read_fpha_skeleton
from depthhand.datasets.hands17 import Hands17Dataset
from depthhand.geometry.camera import INTRINSICS
from tests.datasets.writers import SR300_K, hand_xyz, project_down, render_blob, write_label_lines, write_png16


@pytest.fixture
def hands17_root(tmp_path: Path) -> tuple[Path, np.ndarray]:
    xyz = hand_xyz(np.random.default_rng(2), 3, 21, center=(-40.0, 20.0, 450.0))
    names = [f"image_D{i:08d}.png" for i in (1, 2, 3)]
    write_label_lines(tmp_path / "training" / "Training_Annotation.txt", names, xyz, sep="\t")
    for name, joints in zip(names, xyz, strict=True):
        write_png16(tmp_path / "training" / "images" / name, render_blob(joints, SR300_K, (480, 640)))
    return tmp_path, xyz


def test_hands17_reads_y_down_labels(hands17_root: tuple[Path, np.ndarray]) -> None:
    root, xyz = hands17_root
    ds = Hands17Dataset(root)
    assert len(ds) == 3
    assert ds.intrinsics == INTRINSICS["hands17"]
    assert ds.names[1] == "image_D00000002.png"
    np.testing.assert_allclose(ds.joints_xyz_mm, xyz, atol=1e-6)
    np.testing.assert_allclose(ds.joints_uvd, project_down(ds.joints_xyz_mm, SR300_K), atol=1e-6, rtol=0)
    sample = ds[-1]
    assert sample.index == 2
    uvd = sample.pose.joints_uvd
    hit = sample.frame.depth_mm[np.rint(uvd[:, 1]).astype(int), np.rint(uvd[:, 0]).astype(int)]
    assert np.mean(np.abs(hit - uvd[:, 2]) <= 0.5) > 0.7
    # the training folder itself also works as root
    assert len(Hands17Dataset(root / "training")) == 3
    assert [s.index for s in ds] == [0, 1, 2]


def test_hands17_errors(hands17_root: tuple[Path, np.ndarray]) -> None:
    root, _ = hands17_root
    ann = root / "training" / "Training_Annotation.txt"
    lines = ann.read_text().splitlines()
    ann.write_text("\n".join([*lines[:2], lines[2] + "\t1.0"]) + "\n")
    with pytest.raises(ValueError, match=r"Training_Annotation\.txt:3: has 65 tokens; expected 64"):
        Hands17Dataset(root)
    ann.write_text("\n".join(lines) + "\n")
    cv2.imwrite(str(root / "training" / "images" / "image_D00000001.png"), np.zeros((240, 320), np.uint16))
    with pytest.raises(ValueError, match=r"image_D00000001\.png: has size 320x240; expected .*640x480"):
        Hands17Dataset(root)[0]
    ann.unlink()
    with pytest.raises(FileNotFoundError, match=r"Training_Annotation\.txt"):
        Hands17Dataset(root)


def _write_fpha(root: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    labels: dict[str, np.ndarray] = {}
    for subject, action, seq, n in [
        ("Subject_1", "open_juice_bottle", "2", 2),
        ("Subject_1", "open_juice_bottle", "10", 1),
        ("Subject_1", "charge_cell_phone", "1", 2),
        ("Subject_2", "put_salt", "1", 1),
    ]:
        xyz = hand_xyz(rng, n, 21, center=(30.0, 40.0, 420.0))
        rel = f"{subject}/{action}/{seq}"
        frames = [str(t) for t in range(n)]
        write_label_lines(root / "Hand_pose_annotation_v1" / rel / "skeleton.txt", frames, xyz)
        for t in range(n):
            write_png16(
                root / "Video_files" / rel / "depth" / f"depth_{t:04d}.png", render_blob(xyz[t], SR300_K, (480, 640))
            )
        labels[rel] = xyz
    return labels


def test_fpha_order_and_labels(tmp_path: Path) -> None:
    labels = _write_fpha(tmp_path)
    ds = FphaDataset(tmp_path)
    assert ds.names == (
        "Subject_1/charge_cell_phone/1/depth/depth_0000.png",
        "Subject_1/charge_cell_phone/1/depth/depth_0001.png",
        "Subject_1/open_juice_bottle/2/depth/depth_0000.png",
        "Subject_1/open_juice_bottle/2/depth/depth_0001.png",
        "Subject_1/open_juice_bottle/10/depth/depth_0000.png",
        "Subject_2/put_salt/1/depth/depth_0000.png",
    )
    np.testing.assert_allclose(ds.joints_xyz_mm[2:4], labels["Subject_1/open_juice_bottle/2"], atol=1e-6)
    np.testing.assert_allclose(ds.joints_uvd, project_down(ds.joints_xyz_mm, SR300_K), atol=1e-6, rtol=0)
    sample = ds[4]
    assert (
        sample.path == tmp_path / "Video_files" / "Subject_1" / "open_juice_bottle" / "10" / "depth" / "depth_0000.png"
    )
    uvd = sample.pose.joints_uvd
    hit = sample.frame.depth_mm[np.rint(uvd[:, 1]).astype(int), np.rint(uvd[:, 0]).astype(int)]
    assert np.mean(np.abs(hit - uvd[:, 2]) <= 0.5) > 0.7
    assert len(FphaDataset(tmp_path, subjects=(2,))) == 1
    frames, xyz = read_fpha_skeleton(
        tmp_path / "Hand_pose_annotation_v1" / "Subject_2" / "put_salt" / "1" / "skeleton.txt"
    )
    assert frames == [0]
    assert xyz.shape == (1, 21, 3)


def test_fpha_errors(tmp_path: Path) -> None:
    _write_fpha(tmp_path)
    with pytest.raises(FileNotFoundError, match="Subject_7"):
        FphaDataset(tmp_path, subjects=(7,))
    skel = tmp_path / "Hand_pose_annotation_v1" / "Subject_2" / "put_salt" / "1" / "skeleton.txt"
    skel.write_text("zero " + " ".join(["1.0"] * 63) + "\n")
    with pytest.raises(ValueError, match=r"skeleton\.txt: frame number 'zero'"):
        FphaDataset(tmp_path)
    skel.unlink()
    with pytest.raises(FileNotFoundError, match=r"Subject_2/put_salt/1/skeleton\.txt"):
        FphaDataset(tmp_path)
    (tmp_path / "Hand_pose_annotation_v1").rename(tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="Hand_pose_annotation_v1"):
        FphaDataset(tmp_path)
