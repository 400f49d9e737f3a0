"""The rest-hand tables equal the synthetic generator's default hand (they stand in for it on the live path)."""

from __future__ import annotations

import numpy as np

from depthhand.evaluate.rest_hand import REST_JOINTS_MM, REST_RADII_MM
from depthhand.synth.kinematics import HandState, forward_kinematics


def test_tables_match_the_generator() -> None:
    geo = forward_kinematics(HandState(), with_forearm=False)
    np.testing.assert_allclose(np.array(REST_JOINTS_MM), geo.joints_xyz_mm, atol=1e-5)
    np.testing.assert_allclose(np.array(REST_RADII_MM), geo.joint_radii_mm, atol=1e-9)
