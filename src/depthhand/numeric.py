"""Small numeric helpers shared by the stages: numpy's results without numpy's per-call overhead."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def median(values: npt.NDArray[np.floating]) -> float:
    """``float(np.median(values))`` of a non-empty 1-D array, bit for bit, by one partition.

    ``np.median`` checks its arguments and NaNs first, which costs several times the partition on the small arrays
    of a live frame. As there, the mean of the two middle values is taken in the array's own dtype.
    """
    n = len(values)
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float(np.mean(part[k - 1 : k + 1]))
