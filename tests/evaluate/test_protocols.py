from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.evaluate.metrics import FrameRange
from depthhand.evaluate.protocols import (
    PROTOCOLS,
    default_gt_path,
    evaluate_protocol,
    get_protocol,
    resolve_shared_dir,
)
from depthhand.geometry.camera import Axes
from depthhand.skeleton import ICVL16, MSRA21, NYU14
from depthhand.structures import CameraIntrinsics


def test_protocol_table() -> None:
    nyu, icvl, msra = get_protocol("nyu"), get_protocol("ICVL"), get_protocol("msra")
    assert (nyu.num_frames, nyu.num_joints, nyu.joint_set) == (8252, 14, NYU14)
    assert (icvl.num_frames, icvl.num_joints, icvl.joint_set) == (1596, 16, ICVL16)
    assert (msra.num_frames, msra.num_joints, msra.joint_set) == (76375, 21, MSRA21)
    k = nyu.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (588.03, 587.07, 320.0, 240.0)
    k = icvl.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (240.99, 240.96, 160.0, 120.0)
    k = msra.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (241.42, 241.42, 160.0, 120.0)
    assert nyu.label_axes is Axes.Y_UP
    assert dict(nyu.subsets) == {"frames 1-2440": FrameRange(1, 2440), "frames 2441-8252": FrameRange(2441, 8252)}
    assert dict(icvl.subsets) == {"seq 1": FrameRange(1, 702), "seq 2": FrameRange(703, 1596)}
    assert not any(p.intrinsics_overridden for p in PROTOCOLS.values())
    with pytest.raises(ValueError, match="unknown dataset"):
        get_protocol("hands17")


def test_uvd_conversion_uses_bound_intrinsics() -> None:
    nyu = get_protocol("nyu")
    uvd = np.array([[320.0 + 588.03, 240.0 + 587.07, 1000.0]])
    np.testing.assert_allclose(nyu.uvd_to_xyz(uvd), [[1000.0, 1000.0, 1000.0]])  # y down
    np.testing.assert_allclose(nyu.label_xyz_to_camera([[1.0, 2.0, 3.0]], Axes.Y_UP), [[1.0, -2.0, 3.0]])
    np.testing.assert_allclose(nyu.label_xyz_to_camera([[1.0, 2.0, 3.0]], Axes.Y_DOWN), [[1.0, 2.0, 3.0]])


def test_with_intrinsics_is_explicit() -> None:
    nyu = get_protocol("nyu")
    wrong = nyu.with_intrinsics(CameraIntrinsics(241.42, 241.42, 160.0, 120.0, 320, 240))
    assert wrong.intrinsics_overridden and not nyu.intrinsics_overridden
    assert nyu.intrinsics.fx == 588.03  # the registry entry is untouched
    uvd = np.array([[401.42, 361.42, 500.0]])
    np.testing.assert_allclose(wrong.uvd_to_xyz(uvd), [[500.0, 500.0, 500.0]])


def test_partial_sets_refused() -> None:
    icvl = get_protocol("icvl")
    full = np.zeros((1596, 16, 3))
    full[..., 2] = 400.0
    assert icvl.check_shape(full, "x").shape == (1596, 16, 3)
    for shape in ((1595, 16, 3), (1596, 14, 3), (1596, 48)):
        with pytest.raises(ValueError, match="partial sets are refused"):
            icvl.check_shape(np.zeros(shape), "predictions")
    with pytest.raises(ValueError, match="'half'"):
        evaluate_protocol(icvl, full[:702], full[:702], "half")


def test_evaluate_protocol_reports_subsets() -> None:
    icvl = get_protocol("icvl")
    gt = np.zeros((1596, 16, 3))
    pred = gt.copy()
    pred[:702, :, 0] = 2.0  # seq 1 off by 2 mm, seq 2 by 4 mm
    pred[702:, :, 1] = 4.0
    r = evaluate_protocol(icvl, pred, gt, "toy")
    assert r.dataset == "icvl"
    assert r.joint_names == ICVL16.names
    assert r.subsets == {"seq 1": pytest.approx(2.0), "seq 2": pytest.approx(4.0)}
    assert r.mean_mm == pytest.approx((702 * 2 + 894 * 4) / 1596)
    part = evaluate_protocol(icvl, pred, gt, "toy", frames=FrameRange(703, 1596), joints=[0, 15])
    assert (part.num_frames, part.num_joints, part.mean_mm) == (894, 2, pytest.approx(4.0))
    assert part.joint_names == ("PALM", "PINKY_TIP")


def test_shared_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DEPTHHAND_SHARED", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_shared_dir() == tmp_path.parent / "shared"
    monkeypatch.setenv("DEPTHHAND_SHARED", "/somewhere/shared")
    assert resolve_shared_dir() == Path("/somewhere/shared")
    assert resolve_shared_dir(tmp_path) == tmp_path  # the explicit argument wins


def test_default_gt_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--gt FILE"):
        default_gt_path(get_protocol("msra"), tmp_path)
    gt = tmp_path / "data" / "eval" / "groundtruth" / "icvl" / "icvl_test_groundtruth_label.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("")
    assert default_gt_path(get_protocol("icvl"), tmp_path) == gt


def test_default_gt_present_in_shared(shared_data: Path) -> None:
    for name in ("nyu", "icvl"):
        assert default_gt_path(get_protocol(name), shared_data.parent).is_file()
