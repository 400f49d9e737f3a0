from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from depthhand.structures import CameraIntrinsics

REPO = Path(__file__).resolve().parents[1]
_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """The tests (and the processes they start) keep ONNX Runtime's optimised graphs in a temporary cache."""
    if "DEPTHHAND_CACHE_DIR" not in os.environ:
        _CACHE.append(tempfile.mkdtemp(prefix="depthhand-test-cache-"))
        os.environ["DEPTHHAND_CACHE_DIR"] = _CACHE[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _CACHE:
        shutil.rmtree(folder, ignore_errors=True)


def shared_dir() -> Path:
    return Path(os.environ.get("DEPTHHAND_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; a test that needs it fails (not skips) when CI=true and it is missing."""
    path = shared_dir() / "data"
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared data folder {path} is missing under CI=true")
        pytest.skip(f"shared data folder {path} not present")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def nyu_intrinsics() -> CameraIntrinsics:
    return CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480)
