from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from depthhand.geometry.camera import xyz_to_uvd
from depthhand.skeleton import CANONICAL21, JointSet
from depthhand.structures import CameraIntrinsics, DepthFrame, HandPose


@dataclass(frozen=True)
class BallSample:
    """A reader-like sample: a depth frame of balls at the joints, the pose and the centre."""

    frame: DepthFrame
    pose: HandPose
    center_xyz_mm: np.ndarray


def render_balls(joints_xyz_mm: np.ndarray, intr: CameraIntrinsics, radius_mm: float = 12.0) -> np.ndarray:
    """Depth (mm) of spheres at the joints in front of an empty background (0 = invalid)."""
    depth = np.zeros((intr.height, intr.width), np.float32)
    vv, uu = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64)
    for x, y, z in joints_xyz_mm:
        u, v, _ = xyz_to_uvd(np.array([x, y, z]), intr)
        r_px = radius_mm * intr.fx / z
        rho2 = ((uu - u) ** 2 + (vv - v) ** 2) / r_px**2
        inside = rho2 < 1
        d = (z - radius_mm * np.sqrt(np.clip(1 - rho2, 0, 1))).astype(np.float32)
        cur = depth[inside]
        depth[inside] = np.where((cur == 0) | (d[inside] < cur), d[inside], cur)
    return depth


def random_hand(rng: np.random.Generator, joint_set: JointSet, center: np.ndarray) -> np.ndarray:
    base = rng.normal(0.0, 40.0, (joint_set.num_joints, 3))
    base[:, 2] *= 0.5
    return center + base


def make_samples(n: int, seed: int = 0, joint_set: JointSet = CANONICAL21, size: int = 120) -> list[BallSample]:
    rng = np.random.default_rng(seed)
    intr = CameraIntrinsics(200.0, 200.0, size / 2, size / 2, size, size)
    out = []
    for i in range(n):
        center = np.array([rng.normal(0, 20), rng.normal(0, 20), rng.uniform(450, 550)])
        joints = random_hand(rng, joint_set, center)
        depth = render_balls(joints, intr)
        frame = DepthFrame(depth, intr, index=i)
        uvd = xyz_to_uvd(joints, intr).astype(np.float32)
        pose = HandPose(joints.astype(np.float32), uvd, joint_set)
        out.append(BallSample(frame, pose, center))
    return out


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ball_samples() -> list[BallSample]:
    return make_samples(16)
