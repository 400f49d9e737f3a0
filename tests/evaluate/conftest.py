from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from depthhand.evaluate.protocols import get_protocol
from depthhand.evaluate.results_io import read_joints
from depthhand.geometry.camera import INTRINSICS, xyz_to_uvd
from depthhand.skeleton import CANONICAL21
from depthhand.structures import CameraIntrinsics

LoadXyz = Callable[[str, str], npt.NDArray[np.float64]]


@pytest.fixture(scope="session")
def eval_dir(shared_data: Path) -> Path:
    """``shared/data/eval``; must exist whenever the shared data folder does."""
    path = shared_data / "eval"
    assert path.is_dir(), f"{path} missing"
    return path


@pytest.fixture(scope="session")
def load_uvd(eval_dir: Path) -> Callable[[str, str], npt.NDArray[np.float64]]:
    """Read (and cache) a uvd file under ``eval/`` for a dataset, strictly checked against its protocol."""
    cache: dict[tuple[str, str], npt.NDArray[np.float64]] = {}

    def load(dataset: str, relpath: str) -> npt.NDArray[np.float64]:
        key = (dataset, relpath)
        if key not in cache:
            p = get_protocol(dataset)
            cache[key] = read_joints(eval_dir / relpath, p.num_joints, p.num_frames).joints
        return cache[key]

    return load


@dataclass
class Scene:
    """A rendered hand with known truth (the real-frame check tests)."""

    depth: np.ndarray  # (H, W) mm
    part: np.ndarray  # (H, W) 0 none, 1 hand, 2 arm, 3 other (the plane)
    joints_xyz: np.ndarray  # (21, 3) truth
    joints_uvd: np.ndarray
    radii: np.ndarray  # (21,) truth flesh radius per joint
    centre_uvd: np.ndarray  # palm centre (as a detector reports it)


def _render(plane_behind_mm: float, k: CameraIntrinsics = INTRINSICS["sr305"]) -> Scene:
    """A flat right hand, palm to the camera, wrist at 500 mm, forearm down, a wall ``plane_behind_mm`` behind."""
    from depthhand.synth.kinematics import PART_HAND, PART_OTHER, HandState, forward_kinematics, part_tag
    from depthhand.synth.raycast import Primitives, plane_row, render_labelled

    geo = forward_kinematics(HandState(rotation=np.diag([1.0, -1.0, -1.0]), wrist_xyz_mm=np.array([0.0, 60.0, 500.0])))
    prims = Primitives(
        cones=geo.cones,
        cone_tags=np.array([part_tag(int(p), 0) for p in geo.cone_parts], np.int32),
        spheres=geo.tip_spheres,
        sphere_tags=np.full(5, part_tag(PART_HAND, 0), np.int32),
        planes=plane_row([0.0, 0.0, -1.0], [0.0, 0.0, 500.0 + plane_behind_mm])[None],
        plane_tags=np.array([part_tag(PART_OTHER)], np.int32),
    )
    depth, _, part, _ = render_labelled(prims, k)
    uvd = xyz_to_uvd(geo.joints_xyz_mm, k)
    palm = geo.joints_xyz_mm[list(CANONICAL21.palm)].mean(axis=0)
    return Scene(depth, part, geo.joints_xyz_mm, uvd, geo.joint_radii_mm, xyz_to_uvd(palm, k))


@pytest.fixture(scope="session")
def far_wall() -> Scene:
    return _render(400.0)  # beyond the 250 mm cube: background by depth alone


@pytest.fixture(scope="session")
def near_wall() -> Scene:
    return _render(60.0)  # inside the cube: only the depth step separates it
