from __future__ import annotations

import numpy as np
import pytest

from depthhand.skeleton import NYU14
from depthhand.structures import CameraIntrinsics, DepthFrame, HandPose


def test_intrinsics_validation_and_dict_round_trip() -> None:
    k = CameraIntrinsics(476.007, 476.007, 313.683, 242.755, 640, 480, 0.125)
    assert CameraIntrinsics.from_dict(k.to_dict()) == k
    with pytest.raises(ValueError, match="fx"):
        CameraIntrinsics(0.0, 1.0, 0, 0, 10, 10)
    with pytest.raises(ValueError, match="width"):
        CameraIntrinsics(1.0, 1.0, 0, 0, 0, 10)
    with pytest.raises(ValueError, match="missing field"):
        CameraIntrinsics.from_dict({"fx": 1.0})


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1e300, 1.0, 0, 0, 10, 10), r"fx must be a finite focal length in \(0, 100000\) px, got 1e\+300"),
        ((1.0, 1e5, 0, 0, 10, 10), "fy must be a finite focal length"),
        ((float("nan"), 1.0, 0, 0, 10, 10), "fx must be a finite"),
        ((1.0, -1.0, 0, 0, 10, 10), "fy must be a finite"),
        ((1.0, 1.0, float("nan"), 0, 10, 10), "cx must be a finite principal point"),
        ((1.0, 1.0, 0, float("inf"), 10, 10), "cy must be a finite principal point"),
        ((1.0, 1.0, 0, 0, 10.5, 10), "width must be a positive whole number"),
        ((1.0, 1.0, 0, 0, 10, float("nan")), "height must be a positive whole number"),
        ((1.0, 1.0, 0, 0, True, 10), "width must be a number"),
        (("500", 1.0, 0, 0, 10, 10), "fx must be a number"),
        ((1.0, 1.0, 0, 0, 10, 10, float("inf")), "depth_unit_mm must be a positive finite"),
        ((1.0, 1.0, 0, 0, 10, 10, 0.0), "depth_unit_mm must be a positive finite"),
    ],
)
def test_no_path_builds_a_non_finite_camera(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CameraIntrinsics(*args)
    names = ("fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm")
    with pytest.raises(ValueError, match=match.split(" must")[0]):
        CameraIntrinsics.from_dict(dict(zip(names, args, strict=False)))


def test_intrinsics_whole_float_sizes_become_ints() -> None:
    k = CameraIntrinsics(1.0, 1.0, 0.5, 0.5, 640.0, 480)  # type: ignore[arg-type]
    assert k.width == 640 and isinstance(k.width, int)
    assert CameraIntrinsics.from_dict({**k.to_dict(), "height": 480.0}) == k
    with pytest.raises(ValueError, match="JSON object"):
        CameraIntrinsics.from_dict([1, 2])  # type: ignore[arg-type]


def test_intrinsics_scaling_keeps_rays() -> None:
    k = CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480)
    half = k.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    # the same ray through pixel-edge coordinate 0 and the image edge: u_edge = -0.5 maps to -0.5
    assert ((-0.5) - k.cx) / k.fx == pytest.approx(((-0.5) - half.cx) / half.fx)
    assert k.matrix[0, 0] == 588.03 and k.matrix[2, 2] == 1.0


def test_depth_frame_from_raw_cleans_and_scales() -> None:
    k = CameraIntrinsics(476.0, 476.0, 2.0, 1.5, 4, 3, depth_unit_mm=0.125)
    raw = np.array([[8000, 0, 4000, 65535], [1, 2, 3, 4], [8, 16, 24, 32]], np.uint16)
    f = DepthFrame.from_raw(raw, k, max_depth_mm=5000)
    assert f.depth_mm.dtype == np.float32
    assert f.depth_mm[0, 0] == 1000.0 and f.depth_mm[0, 2] == 500.0
    assert f.depth_mm[0, 3] == 0.0  # 8191.9 mm > max -> invalid
    assert f.valid_mask.sum() == 10
    nan = np.full((3, 4), np.nan)
    assert DepthFrame.from_raw(nan, k).valid_mask.sum() == 0


@pytest.mark.parametrize(
    ("depth", "match"),
    [(np.zeros((3, 4), np.uint16), "float32"), (np.zeros((4, 3), np.float32), "shape"), (np.zeros(12), "2-D")],
)
def test_depth_frame_rejects_bad_input(depth, match) -> None:
    k = CameraIntrinsics(1.0, 1.0, 0, 0, 4, 3)
    with pytest.raises(ValueError, match=match):
        DepthFrame(depth, k)


def test_hand_pose_shapes_and_dict() -> None:
    j = np.zeros((14, 3), np.float32)
    pose = HandPose(j, j, NYU14)
    assert pose.confidence.shape == (14,) and pose.visible.all()
    d = pose.to_dict()
    assert d["joint_names"][0] == "PINKY_TIP" and len(d["joints_xyz_mm"]) == 14
    with pytest.raises(ValueError, match=r"\(14, 3\)"):
        HandPose(np.zeros((21, 3), np.float32), j, NYU14)
