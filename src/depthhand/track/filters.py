"""The One Euro filter (Casiez, Roussel & Vogel, CHI 2012), vectorised over any array shape and dt-aware.

A first-order low-pass filter whose cutoff rises with the signal's speed: slow motion is smoothed hard (low jitter),
fast motion passes with little lag. Per element, with ``dt`` from the µs timestamps:

    α(fc) = 1 / (1 + τ/dt),   τ = 1 / (2π·fc)
    ẋ     = (x − x̂_prev) / dt                     raw speed against the previous *filtered* value
    ẋ̂     = α(d_cutoff)·ẋ + (1 − α(d_cutoff))·ẋ̂_prev
    fc    = min_cutoff + beta·|ẋ̂|
    x̂     = α(fc)·x + (1 − α(fc))·x̂_prev

Parameters (units for joints in mm):

* ``min_cutoff`` (Hz): cutoff at rest. Lower = less jitter, more lag when slow. 1 Hz is a good start.
* ``beta`` (1/mm): speed coefficient. Raise it until fast motion shows no lag; 0 makes a plain low-pass filter.
* ``d_cutoff`` (Hz): cutoff of the speed estimate; 1 Hz rarely needs changing.

Implemented from the paper's description.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def smoothing_factor(cutoff_hz: float | F64, dt_s: float) -> float | F64:
    """Exponential-smoothing weight α of a first-order low-pass with ``cutoff_hz`` sampled every ``dt_s``.

    ``α = 1 / (1 + 1/(2π·fc·dt))``; the inverse is ``fc = α / ((1 − α)·2π·dt)``.
    """
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    out = 1.0 / (1.0 + tau / dt_s)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)


class OneEuroFilter:
    """One Euro filter over arrays of a fixed shape (e.g. (J, 3) joints).

    Args:
        min_cutoff: Cutoff at rest, Hz (> 0).
        beta: Speed coefficient, 1/(signal unit) (≥ 0).
        d_cutoff: Cutoff of the speed estimate, Hz (> 0).

    The first call returns its input. A timestamp that does not advance returns the previous output without
    updating; NaN elements keep their previous value; a change of shape restarts the filter.

    Example:
        >>> f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
        >>> f(np.zeros(3), 0).tolist(), f(np.ones(3), 33_333).round(3).tolist()
        ([0.0, 0.0, 0.0], [0.173, 0.173, 0.173])
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._x: F64 | None = None
        self._dx: F64 | None = None
        self._t_us: int | None = None

    def reset(self) -> None:
        """Forget the state; the next call returns its input."""
        self._x = self._dx = None
        self._t_us = None

    @property
    def value(self) -> F64 | None:
        """The last output (``None`` before the first call)."""
        return None if self._x is None else self._x.copy()

    def __call__(self, x: npt.ArrayLike, timestamp_us: int) -> F64:
        """Filter one sample.

        Args:
            x: Sample of any fixed shape (signal units, e.g. mm).
            timestamp_us: Its time, µs (must increase; repeats and steps back are ignored).

        Returns:
            The filtered sample, float64, same shape.
        """
        arr = np.asarray(x, dtype=np.float64)
        if self._x is None or self._dx is None or self._t_us is None or self._x.shape != arr.shape:
            self._x = np.where(np.isfinite(arr), arr, 0.0)
            self._dx = np.zeros_like(self._x)
            self._t_us = int(timestamp_us)
            return self._x.copy()
        dt = (int(timestamp_us) - self._t_us) * 1e-6
        if dt <= 0:
            return self._x.copy()
        finite = np.isfinite(arr)
        arr = np.where(finite, arr, self._x)
        dx_raw = (arr - self._x) / dt
        a_d = smoothing_factor(self.d_cutoff, dt)
        dx = a_d * dx_raw + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(dx)
        a = smoothing_factor(cutoff, dt)
        out = a * arr + (1.0 - a) * self._x
        self._x = np.asarray(out, dtype=np.float64)
        self._dx = np.where(finite, dx, self._dx)
        self._t_us = int(timestamp_us)
        return self._x.copy()
