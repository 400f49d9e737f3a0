"""``depthhand.numeric``: numpy's results, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.numeric import median


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_is_numpys_median_bit_for_bit(dtype: type) -> None:
    rng = np.random.default_rng(7)
    for n in [*range(1, 40), 999, 1000]:
        for _ in range(20):
            x = rng.normal(30.0, 20.0, n).astype(dtype)
            assert median(x) == float(np.median(x))
