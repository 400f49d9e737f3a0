"""One Euro filter against its analytic behaviour and an independent scalar re-implementation of the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthhand.track.filters import OneEuroFilter, smoothing_factor

DT_US = 33_333


def reference_one_euro(
    xs: list[float], ts_us: list[int], min_cutoff: float, beta: float, d_cutoff: float
) -> list[float]:
    """Scalar float64 One Euro filter written straight from Casiez et al. 2012 (independent of the module)."""

    def alpha(fc: float, te: float) -> float:
        r = 2 * math.pi * fc * te
        return r / (r + 1)

    out = [xs[0]]
    x_prev, dx_prev, t_prev = xs[0], 0.0, ts_us[0]
    for x, t in zip(xs[1:], ts_us[1:], strict=True):
        te = (t - t_prev) / 1e6
        dx = (x - x_prev) / te
        ad = alpha(d_cutoff, te)
        dx_hat = ad * dx + (1 - ad) * dx_prev
        fc = min_cutoff + beta * abs(dx_hat)
        a = alpha(fc, te)
        x_hat = a * x + (1 - a) * x_prev
        out.append(x_hat)
        x_prev, dx_prev, t_prev = x_hat, dx_hat, t
    return out


def test_smoothing_factor_and_its_inverse() -> None:
    dt = 1 / 30
    for fc in (0.1, 1.0, 5.0, 30.0):
        a = smoothing_factor(fc, dt)
        assert a == pytest.approx(1 / (1 + 1 / (2 * math.pi * fc * dt)))
        assert a / ((1 - a) * 2 * math.pi * dt) == pytest.approx(fc)  # the inverse


def test_step_response_is_exponential_without_beta() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    f(0.0, 0)
    a = smoothing_factor(1.0, DT_US / 1e6)
    ys = [float(f(1.0, n * DT_US)) for n in range(1, 61)]
    expected = [1 - (1 - a) ** n for n in range(1, 61)]
    np.testing.assert_allclose(ys, expected, rtol=1e-12)
    # 63 % rise time of a 1 Hz first-order low-pass ≈ τ = 1/(2π) s ≈ 0.16 s ≈ 4.8 frames at 30 fps
    n63 = next(n for n, y in enumerate(ys, 1) if y >= 1 - math.exp(-1))
    assert n63 in (5, 6)


def test_jitter_variance_matches_the_low_pass_formula() -> None:
    rng = np.random.default_rng(0)
    sigma, n = 2.0, 40_000
    noise = rng.normal(0.0, sigma, n)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    ys = np.array([float(f(x, i * DT_US)) for i, x in enumerate(noise)])[200:]
    a = smoothing_factor(1.0, DT_US / 1e6)
    expected_var = a / (2 - a) * sigma**2  # stationary variance of y = a·x + (1 − a)·y
    assert ys.var() == pytest.approx(expected_var, rel=0.06)
    assert ys.std() / sigma < 0.35  # jitter reduced ≈ 3.3× (measured 0.30)


def test_ramp_lag_steady_state() -> None:
    v_mm_s, dt = 300.0, DT_US / 1e6
    for beta in (0.0, 0.01, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta, d_cutoff=1.0)
        ys = [float(f(v_mm_s * n * dt, n * DT_US)) for n in range(400)]
        lag = v_mm_s * 399 * dt - ys[-1]
        # at steady state the speed estimate is v/α and the lag L satisfies L = (1 − α)·v·dt / α
        a = smoothing_factor(1.0 + beta * (lag + v_mm_s * dt) / dt, dt)
        assert lag == pytest.approx((1 - a) * v_mm_s * dt / a, rel=1e-6)
        if beta == 0.0:
            assert lag == pytest.approx(v_mm_s / (2 * math.pi * 1.0), rel=1e-6)  # (1 − α)/α = τ/dt, so L = v·τ
    lags = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        ys = [float(f(v_mm_s * n * dt, n * DT_US)) for n in range(400)]
        lags[beta] = v_mm_s * 399 * dt - ys[-1]
    assert lags[0.05] < 0.1 * lags[0.0]  # speed raises the cutoff: far less lag (measured 47.7 → 2.4 mm)


def test_vectorised_equals_scalar_reference_with_irregular_timestamps() -> None:
    rng = np.random.default_rng(1)
    steps = rng.integers(20_000, 60_000, 99)
    ts = np.concatenate([[5_000], 5_000 + np.cumsum(steps)]).tolist()
    signal = np.cumsum(rng.normal(0, 5, (100, 21, 3)), axis=0) + rng.normal(0, 1, (100, 21, 3))
    f = OneEuroFilter(min_cutoff=0.7, beta=0.03, d_cutoff=1.3)
    out = np.array([f(signal[i], ts[i]) for i in range(100)])
    assert out.shape == (100, 21, 3)
    for j, c in ((0, 0), (7, 1), (20, 2)):
        ref = reference_one_euro(signal[:, j, c].tolist(), ts, 0.7, 0.03, 1.3)
        np.testing.assert_allclose(out[:, j, c], ref, rtol=1e-10, atol=1e-9)


def test_bad_samples_do_not_break_the_filter() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.01)
    first = f(np.array([1.0, 2.0, np.nan]), 0)
    np.testing.assert_array_equal(first, [1.0, 2.0, 0.0])
    y1 = f(np.array([2.0, 2.0, 2.0]), DT_US)
    same = f(np.array([50.0, 50.0, 50.0]), DT_US)  # repeated timestamp: ignored
    np.testing.assert_array_equal(y1, same)
    back = f(np.array([50.0, 50.0, 50.0]), 0)  # time going backwards: ignored
    np.testing.assert_array_equal(y1, back)
    y2 = f(np.array([np.nan, 3.0, np.inf]), 2 * DT_US)  # non-finite elements hold their value
    assert y2[0] == y1[0] and y2[2] == y1[2] and y1[1] < y2[1] < 3.0
    assert np.all(np.isfinite(f(np.zeros(3), 3 * DT_US)))
    restarted = f(np.ones(5), 4 * DT_US)  # new shape: restart
    np.testing.assert_array_equal(restarted, np.ones(5))
    f.reset()
    assert f.value is None
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0.0)
    with pytest.raises(ValueError, match="beta"):
        OneEuroFilter(beta=-1.0)
