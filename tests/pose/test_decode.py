from __future__ import annotations

import numpy as np
import pytest

from depthhand.geometry.crop import make_crop
from depthhand.pose.decode import crop_output_to_xyz, uvd_crop_to_xyz, xyz_to_crop_output, xyz_to_uvd_crop
from depthhand.structures import CameraIntrinsics


@pytest.fixture
def setup():
    intr = CameraIntrinsics(588.0, 587.0, 320.0, 240.0, 640, 480)
    crop = make_crop([60.0, -40.0, 600.0], 250.0, intr, 96)
    return intr, crop


def test_uvd_crop_against_pinhole_formula(setup):
    intr, crop = setup
    xyz = np.array([[60.0, -40.0, 600.0], [100.0, 0.0, 650.0], [0.0, -90.0, 540.0]])
    uvd = xyz_to_uvd_crop(xyz, crop, intr)
    # Independent: project, map with the crop affine, normalise.
    u = xyz[:, 0] * intr.fx / xyz[:, 2] + intr.cx
    v = xyz[:, 1] * intr.fy / xyz[:, 2] + intr.cy
    a = crop.image_to_crop
    uc, vc = a[0, 0] * u + a[0, 2], a[1, 1] * v + a[1, 2]
    expected = np.stack([(uc - 47.5) / 48, (vc - 47.5) / 48, (xyz[:, 2] - 600.0) / 125], axis=-1)
    np.testing.assert_allclose(uvd, expected, atol=1e-9)
    assert np.allclose(uvd[0], 0.0, atol=1e-9)  # the centre projects to the middle of the crop
    np.testing.assert_allclose(uvd_crop_to_xyz(uvd, crop, intr), xyz, atol=1e-9)


@pytest.mark.parametrize("space", ["xyz_crop", "uvd_crop"])
def test_round_trip(setup, space):
    intr, crop = setup
    xyz = np.random.default_rng(0).normal([60, -40, 600], 50, (21, 3))
    out = xyz_to_crop_output(xyz, space, crop, intr)
    np.testing.assert_allclose(crop_output_to_xyz(out, space, crop, intr), xyz, atol=1e-9)


def test_unknown_space(setup):
    intr, crop = setup
    with pytest.raises(ValueError, match="output space"):
        crop_output_to_xyz(np.zeros((1, 3)), "uv", crop, intr)
