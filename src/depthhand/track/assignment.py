"""Minimum-cost assignment (the linear assignment problem) without scipy, for the tracker.

:func:`min_cost_assignment` answers what ``scipy.optimize.linear_sum_assignment`` answers — which rows go with
which columns of a rectangular cost matrix so that ``min(n, m)`` pairs have the smallest total cost — and is exact
at every size:

* small problems (at most :data:`MAX_ENUMERATED` ways to pick the pairs, i.e. up to 6 × 6, or 4 tracks × 8
  detections) try every injective map from the shorter side to the longer one in one vectorised numpy step;
* larger ones run the Hungarian method with potentials (shortest augmenting paths, Kuhn–Munkres in the form of
  Jonker & Volgenant; re-implemented), O(n² m) with one numpy step per path edge.

Importing scipy.optimize costs 0.25–0.3 s and about 500 modules, more than the tracker's whole first second of
work; the tracker only ever sees a handful of hands.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_ENUMERATED", "min_cost_assignment"]

I64 = npt.NDArray[np.int64]
MAX_ENUMERATED = 720
"""Largest number of candidate assignments (n!/(n−k)! for k = min(rows, cols)) solved by enumeration."""


@lru_cache(maxsize=64)
def _injections(n_long: int, n_short: int) -> I64:
    """(P, n_short) every ordered choice of ``n_short`` distinct indices out of ``n_long``."""
    perms = list(itertools.permutations(range(n_long), n_short))
    out = np.array(perms, np.int64).reshape(len(perms), n_short)
    out.setflags(write=False)
    return out


def min_cost_assignment(cost: npt.ArrayLike) -> tuple[I64, I64]:
    """Rows and columns of a minimum-cost matching of a rectangular cost matrix.

    Args:
        cost: (n, m) finite costs.

    Returns:
        ``(rows, cols)``: (k,) int64 each, ``k = min(n, m)``, rows ascending; ``cost[rows, cols].sum()`` is minimal
        over all matchings that pair ``k`` distinct rows with ``k`` distinct columns. Ties are broken by the
        enumeration order (or the path order of the Hungarian method), not necessarily as scipy breaks them.

    Raises:
        ValueError: If ``cost`` is not 2-D or holds NaN or infinite values.

    Example:
        >>> min_cost_assignment([[4.0, 1.0], [2.0, 8.0]])
        (array([0, 1]), array([1, 0]))
    """
    c = np.asarray(cost, np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D (n, m) matrix, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cost must be finite (replace forbidden pairs by a large finite cost)")
    n, m = c.shape
    if n == 0 or m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    transposed = n > m
    if transposed:
        c, n, m = c.T, m, n
    if math.perm(m, n) <= MAX_ENUMERATED:
        cols_of_rows = _enumerate(c)
    else:
        cols_of_rows = _hungarian(c)
    rows = np.arange(n, dtype=np.int64)
    if not transposed:
        return rows, cols_of_rows
    order = np.argsort(cols_of_rows, kind="stable")
    return cols_of_rows[order], rows[order]


def _enumerate(c: npt.NDArray[np.float64]) -> I64:
    """Best column of each row of an (n, m) matrix, n ≤ m, by trying every injection."""
    n, m = c.shape
    choices = _injections(m, n)
    totals = c[np.arange(n), choices].sum(axis=1)
    best: I64 = choices[int(np.argmin(totals))].copy()
    return best


def _hungarian(c: npt.NDArray[np.float64]) -> I64:
    """Best column of each row of an (n, m) matrix, n ≤ m: shortest augmenting paths with row/column potentials."""
    n, m = c.shape
    u = np.zeros(n + 1)  # row potentials (index 0 is the virtual start row)
    v = np.zeros(m + 1)  # column potentials (index 0 is the virtual start column)
    row_of_col = np.zeros(m + 1, np.int64)  # 1-based row matched to each 1-based column, 0 = free
    padded = np.zeros((n + 1, m + 1))
    padded[1:, 1:] = c
    for i in range(1, n + 1):
        row_of_col[0] = i
        j0 = 0
        dist = np.full(m + 1, np.inf)  # shortest reduced distance to each column found so far
        prev = np.zeros(m + 1, np.int64)  # column before each column on its shortest path
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = row_of_col[j0]
            reduced = padded[i0] - u[i0] - v
            better = ~used & (reduced < dist)
            dist[better] = reduced[better]
            prev[better] = j0
            free = np.flatnonzero(~used)
            j1 = int(free[np.argmin(dist[free])])
            delta = dist[j1]
            u[row_of_col[used]] += delta
            v[used] -= delta
            dist[~used] -= delta
            j0 = j1
            if row_of_col[j0] == 0:
                break
        while j0:  # flip the path back to the start
            j1 = int(prev[j0])
            row_of_col[j0] = row_of_col[j1]
            j0 = j1
    cols = np.zeros(n, np.int64)
    for j in range(1, m + 1):
        if row_of_col[j]:
            cols[row_of_col[j] - 1] = j - 1
    return cols
