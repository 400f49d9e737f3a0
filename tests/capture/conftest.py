from __future__ import annotations

import numpy as np
import pytest

from depthhand.structures import CameraIntrinsics, DepthFrame


@pytest.fixture
def small_k() -> CameraIntrinsics:
    return CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 64, 48, depth_unit_mm=0.125)


def make_frames(k: CameraIntrinsics, n: int, seed: int = 0) -> list[DepthFrame]:
    """Frames whose depths are exact multiples of the unit, so recordings round-trip exactly."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        raw = rng.integers(0, 12000, (k.height, k.width)).astype(np.uint16)
        raw[rng.random(raw.shape) < 0.1] = 0
        frames.append(DepthFrame.from_raw(raw, k, timestamp_us=1_000_000 + i * 33_333, source_id="t", index=i))
    return frames


@pytest.fixture
def frames(small_k: CameraIntrinsics) -> list[DepthFrame]:
    return make_frames(small_k, 25)
