"""A toy top-down depth scene (table, arms, hand-shaped blobs) with known hand centres, for tests and benchmarks.

Not a hand renderer (see :mod:`depthhand.synth` for that): hands are flat ellipses on raised arm bars, enough to
check that detectors find blobs, cut arms off at the right place and stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import uvd_to_xyz
from depthhand.structures import CameraIntrinsics, DepthFrame

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ToyArm:
    """One arm entering the view.

    Attributes:
        entry_uv: (u, v) pixel where the arm crosses the image border.
        hand_uv: (u, v) pixel of the hand centre.
        hand_height_mm: Height of the hand above the table, mm.
        arm_height_mm: Height of the forearm above the table, mm.
        hand_length_mm: Wrist-to-fingertip length, mm.
        hand_width_mm: Hand width, mm.
        arm_width_mm: Forearm width, mm.
    """

    entry_uv: tuple[float, float]
    hand_uv: tuple[float, float]
    hand_height_mm: float = 60.0
    arm_height_mm: float = 80.0
    hand_length_mm: float = 190.0
    hand_width_mm: float = 95.0
    arm_width_mm: float = 70.0


def render_topdown(
    arms: Sequence[ToyArm],
    intrinsics: CameraIntrinsics,
    table_mm: float = 900.0,
    tilt_mm_per_px: float = 0.05,
    noise_mm: float = 1.0,
    rng: np.random.Generator | None = None,
    invalid_fraction: float = 0.01,
) -> tuple[F32, npt.NDArray[np.float64]]:
    """Render a table seen from above with arms and hands on it.

    Args:
        arms: The arms (hands) in the scene.
        intrinsics: The camera.
        table_mm: Table depth at the top image row, mm.
        tilt_mm_per_px: Table depth increase per image row (a slightly tilted camera), mm.
        noise_mm: Gaussian depth noise σ, mm.
        rng: Random generator for noise and dropouts (seeded default).
        invalid_fraction: Share of pixels randomly set invalid (0).

    Returns:
        ((H, W) float32 depth mm, (N, 3) float64 hand centres in camera mm).
    """
    import cv2

    rng = rng or np.random.default_rng(0)
    h, w = intrinsics.height, intrinsics.width
    rows = np.arange(h, dtype=np.float32)[:, None]
    table = np.broadcast_to(table_mm + tilt_mm_per_px * rows, (h, w)).astype(np.float32)
    height = np.zeros((h, w), np.float32)
    centers = []
    for arm in arms:
        hu, hv = arm.hand_uv
        z_hand = table_mm + tilt_mm_per_px * hv - arm.hand_height_mm
        px_per_mm = intrinsics.fx / z_hand
        direction = np.array([hu - arm.entry_uv[0], hv - arm.entry_uv[1]], np.float64)
        direction /= max(float(np.linalg.norm(direction)), 1e-9)
        wrist = np.array([hu, hv]) - direction * 0.5 * arm.hand_length_mm * px_per_mm
        cv2.line(
            height,
            (round(arm.entry_uv[0]), round(arm.entry_uv[1])),
            (round(wrist[0]), round(wrist[1])),
            float(arm.arm_height_mm),
            thickness=max(1, round(arm.arm_width_mm * px_per_mm)),
        )
        angle = float(np.degrees(np.arctan2(direction[1], direction[0])))
        axes = (round(0.5 * arm.hand_length_mm * px_per_mm), round(0.5 * arm.hand_width_mm * px_per_mm))
        cv2.ellipse(height, (round(hu), round(hv)), axes, angle, 0, 360, float(arm.hand_height_mm), thickness=-1)
        centers.append(uvd_to_xyz(np.array([hu, hv, z_hand]), intrinsics))
    depth = table - height
    if noise_mm > 0:
        depth = depth + rng.normal(0.0, noise_mm, depth.shape).astype(np.float32)
    if invalid_fraction > 0:
        depth[rng.random(depth.shape) < invalid_fraction] = 0.0
    return depth.astype(np.float32), np.array(centers, dtype=np.float64).reshape(-1, 3)


def toy_frame(
    arms: Sequence[ToyArm], intrinsics: CameraIntrinsics, index: int = 0, seed: int = 0, **kw: float
) -> tuple[DepthFrame, npt.NDArray[np.float64]]:
    """:func:`render_topdown` wrapped as a :class:`DepthFrame` (30 fps timestamps)."""
    depth, centers = render_topdown(arms, intrinsics, rng=np.random.default_rng(seed), **kw)
    frame = DepthFrame(depth, intrinsics, timestamp_us=round(index * 1e6 / 30), source_id="toyscene", index=index)
    return frame, centers
