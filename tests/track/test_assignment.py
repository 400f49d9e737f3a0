"""The tracker's own assignment solver against brute force and scipy on random cost matrices."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from depthhand.track import assignment
from depthhand.track.assignment import min_cost_assignment


def brute_force_total(cost: np.ndarray) -> float:
    """Smallest total over every matching, by enumeration (independent of the module's own enumeration)."""
    n, m = cost.shape
    if n <= m:
        return min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
    return brute_force_total(cost.T)


def check_matching(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    k = min(cost.shape)
    assert rows.dtype == np.int64 and cols.dtype == np.int64
    assert len(rows) == len(cols) == k
    assert len(set(rows.tolist())) == k and len(set(cols.tolist())) == k
    assert np.all(np.diff(rows) > 0)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2), (3, 4), (4, 3), (4, 4), (5, 6), (6, 6), (3, 7)])
def test_matches_brute_force(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    for trial in range(30):
        cost = rng.uniform(0, 500, shape)
        if trial % 3 == 0:  # gated pairs as the tracker passes them, and ties
            cost[rng.random(shape) < 0.4] = 1e9
            cost = np.round(cost / 50) * 50
        rows, cols = min_cost_assignment(cost)
        check_matching(cost, rows, cols)
        assert cost[rows, cols].sum() == pytest.approx(brute_force_total(cost), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("shape", [(4, 4), (6, 6), (7, 7), (8, 12), (12, 8), (20, 20), (3, 40)])
def test_matches_scipy(shape: tuple[int, int]) -> None:
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(sum(shape))
    for trial in range(20):
        cost = rng.uniform(0, 1000, shape) if trial % 2 else rng.integers(0, 5, shape).astype(float)
        rows, cols = min_cost_assignment(cost)
        check_matching(cost, rows, cols)
        r, c = linear_sum_assignment(cost)
        assert cost[rows, cols].sum() == pytest.approx(cost[r, c].sum(), rel=1e-12, abs=1e-9)


def test_both_solvers_agree_where_enumeration_applies() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        cost = rng.uniform(0, 100, (int(rng.integers(1, 6)), int(rng.integers(1, 6))))
        n, m = cost.shape
        c = cost if n <= m else cost.T
        a, b = assignment._enumerate(c), assignment._hungarian(c)
        rows = np.arange(len(a))
        assert c[rows, a].sum() == pytest.approx(c[rows, b].sum(), rel=1e-12)


def test_empty_and_bad_input() -> None:
    rows, cols = min_cost_assignment(np.zeros((0, 3)))
    assert rows.shape == cols.shape == (0,)
    with pytest.raises(ValueError, match="2-D"):
        min_cost_assignment(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        min_cost_assignment([[1.0, np.inf], [0.0, 1.0]])


def test_tracker_does_not_import_scipy_optimize() -> None:
    code = (
        "import sys, numpy as np\n"
        "from depthhand.track.tracker import HandTracker\n"
        "from depthhand.skeleton import CANONICAL21\n"
        "from depthhand.structures import HandPose\n"
        "t = HandTracker()\n"
        "for i in range(3):\n"
        "    xyz = np.random.default_rng(i).normal(0, 20, (21, 3)) + [0, 0, 600]\n"
        "    poses = [HandPose(xyz.astype(np.float32), xyz.astype(np.float32), CANONICAL21, score=0.9)]\n"
        "    assert len(t.update(poses, i * 33_000)) == 1\n"
        "print('scipy.optimize' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
