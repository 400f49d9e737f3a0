from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from depthhand.evaluate.protocols import get_protocol
from depthhand.evaluate.results_io import read_joints

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
