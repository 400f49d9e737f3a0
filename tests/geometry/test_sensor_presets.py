"""The sensor-family intrinsics presets: they parse, and their numbers agree with the sources they cite."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS, parse_intrinsics, xyz_to_uvd
from depthhand.structures import CameraIntrinsics

SENSOR_PRESETS = (
    "sr305",
    "sr300",
    "astra",
    "astra_320",
    "kinect_v1_320",
    "d435",
    "d435_848",
    "d415",
    "d415_848",
    "kinect_v2",
    "azure_nfov",
    "azure_nfov_binned",
    "azure_wfov_binned",
    "azure_wfov",
)


def _hfov_deg(k: CameraIntrinsics) -> float:
    return math.degrees(2 * math.atan(k.width / 2 / k.fx))


def _vfov_deg(k: CameraIntrinsics) -> float:
    return math.degrees(2 * math.atan(k.height / 2 / k.fy))


@pytest.mark.parametrize("name", SENSOR_PRESETS)
def test_sensor_preset_parses_with_its_principal_point_in_the_image(name: str) -> None:
    k = parse_intrinsics(name)
    assert k == INTRINSICS[name] and parse_intrinsics(f" {name} ") == k
    assert 0.3 * k.width < k.cx < 0.7 * k.width and 0.3 * k.height < k.cy < 0.7 * k.height
    assert abs(k.fx - k.fy) < 0.01 * k.fx  # square pixels


@pytest.mark.parametrize(
    ("name", "size", "hfov"),
    [
        # published horizontal FOV of the family's mode (deg), a tolerance for unit-to-unit spread below
        ("sr300", (640, 480), 68.0),  # the issue: f ~ 475 px at 640x480
        ("astra", (640, 480), 58.6),
        ("d435", (640, 480), 79.6),  # a unit's rs-enumerate-devices FOV at 640x480 (realsense-ros #2788)
        ("d435_848", (848, 480), 90.0),  # the same unit at 848 wide: 89.97 deg
        ("d415_848", (848, 480), 65.0),  # D400 datasheet, depth FOV HD: H 65 +- 2
        ("d415", (640, 480), 50.0),  # D400 datasheet, depth FOV VGA: H 50 +- 2
        ("kinect_v2", (512, 424), 70.0),  # Kinect v2 depth: 70 x 60 deg
    ],
)
def test_sensor_preset_matches_the_published_field_of_view(name: str, size: tuple[int, int], hfov: float) -> None:
    k = parse_intrinsics(name)
    assert (k.width, k.height) == size
    assert _hfov_deg(k) == pytest.approx(hfov, abs=2.0)


def test_sr300_and_sr305_presets_are_the_f475_family_with_eighth_mm_units() -> None:
    for name in ("sr300", "sr305"):
        k = parse_intrinsics(name)
        assert k.fx == pytest.approx(475.0, rel=0.01) and k.depth_unit_mm == 0.125
    # the SR300 preset is the HANDS2017 capture camera, as a sensor with raw 1/8 mm units
    h17, sr300 = INTRINSICS["hands17"], INTRINSICS["sr300"]
    assert (h17.fx, h17.fy, h17.cx, h17.cy) == (sr300.fx, sr300.fy, sr300.cx, sr300.cy)


def test_d415_modes_share_the_datasheet_vertical_fov() -> None:
    for name in ("d415", "d415_848"):
        assert _vfov_deg(parse_intrinsics(name)) == pytest.approx(40.0, abs=0.1)


@pytest.mark.parametrize(
    ("low", "full"),
    [
        ("astra_320", "astra"),
        ("kinect_v1_320", "nyu"),
        ("azure_nfov_binned", "azure_nfov"),
        ("azure_wfov_binned", "azure_wfov"),
    ],
)
def test_half_resolution_modes_see_every_point_at_half_the_pixel_coordinates(low: str, full: str) -> None:
    """2x2 binning / QVGA: the same ray lands at (u + 0.5) / 2 - 0.5 (pixel-centre convention), same depth."""
    k_low, k_full = INTRINSICS[low], INTRINSICS[full]
    assert (2 * k_low.width, 2 * k_low.height) == (k_full.width, k_full.height)
    xyz = np.random.default_rng(3).uniform([-200, -150, 400], [200, 150, 1200], (50, 3))
    uvd_low, uvd_full = xyz_to_uvd(xyz, k_low), xyz_to_uvd(xyz, k_full)
    np.testing.assert_allclose(uvd_low[:, :2], (uvd_full[:, :2] + 0.5) / 2 - 0.5, atol=1e-3)
    np.testing.assert_allclose(uvd_low[:, 2], uvd_full[:, 2])


def test_azure_nfov_is_the_sdk_crop_of_the_wfov_sensor() -> None:
    nfov, wfov = INTRINSICS["azure_nfov"], INTRINSICS["azure_wfov"]
    assert (nfov.fx, nfov.fy) == (wfov.fx, wfov.fy)
    assert (wfov.cx - nfov.cx, wfov.cy - nfov.cy) == pytest.approx((192.0, 180.0))


@pytest.mark.shared_data
def test_sr305_preset_is_the_shared_data_readme_camera(shared_data: Path) -> None:
    """The preset's numbers are those the sr305-desk data's own README gives (its intrinsics source)."""
    text = (shared_data / "real" / "sr305-desk" / "README.md").read_text()
    f = float(re.search(r"fx = fy = ([\d.]+) px", text).group(1))  # type: ignore[union-attr]
    cx, cy = (float(x) for x in re.search(r"cx = ([\d.]+), cy = ([\d.]+)", text).groups())  # type: ignore[union-attr]
    scale = float(re.search(r"value \* ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    k = parse_intrinsics("sr305")
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height, k.depth_unit_mm) == (f, f, cx, cy, 640, 480, scale)
