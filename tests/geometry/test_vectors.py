import math

import numpy as np
import pytest

from depthhand.geometry.vectors import angle_between_deg, angle_between_rad, axis_angle_deg


def test_identical_unit_vectors_not_exactly_normalised_give_a_finite_zero():
    # a vector normalised in float64 whose dot product with itself still rounds above 1: arccos gives NaN there
    found = None
    rng = np.random.default_rng(0)
    for _ in range(10_000):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        if float(u @ u) > 1.0:
            found = u
            break
    assert found is not None, "no unit vector whose self dot product rounds above 1 in 10,000 draws"
    with np.errstate(invalid="ignore"):
        assert math.isnan(float(np.arccos(found @ found)))  # the failure mode being fixed
    assert angle_between_deg(found, found) == 0.0
    assert axis_angle_deg(found, -found) == 0.0
    assert angle_between_deg(found, -found) == 180.0


def test_angles_against_analytic_values_and_float64_reference():
    assert angle_between_deg([1, 0, 0], [0, 1, 0]) == pytest.approx(90.0, abs=1e-12)
    assert angle_between_deg([1, 0, 0], [1, 1, 0]) == pytest.approx(45.0, abs=1e-12)
    assert angle_between_deg([2, 0, 0], [-3, 0, 0]) == pytest.approx(180.0, abs=1e-12)
    assert axis_angle_deg([0, 0, 1], [0, 1, -1]) == pytest.approx(45.0, abs=1e-12)
    # tiny angles: exact where arccos of the cosine loses half its digits
    for eps in (1e-3, 1e-6, 1e-9):
        a = angle_between_rad([1.0, 0.0, 0.0], [math.cos(eps), math.sin(eps), 0.0])
        assert a == pytest.approx(eps, rel=1e-9)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 3)) * 7.0
    ref = np.arccos(np.clip(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1), -1, 1))
    np.testing.assert_allclose(angle_between_rad(a, b), ref, atol=1e-7)
    assert np.all(np.asarray(axis_angle_deg(a, b)) <= 90.0)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([1, 0], [0, 1], "shape"),
        ([0, 0, 0], [1, 0, 0], "zero vector"),
        ([np.nan, 0, 0], [1, 0, 0], "finite"),
    ],
)
def test_bad_input_is_refused(a, b, match):
    with pytest.raises(ValueError, match=match):
        angle_between_deg(a, b)
