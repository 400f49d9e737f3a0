"""Metric unit tests against hand-computed arrays and an independent float64 loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from depthhand.evaluate.metrics import (
    DEFAULT_THRESHOLDS_MM,
    FrameRange,
    SuccessMode,
    auc,
    evaluate_xyz,
    joint_errors_mm,
    mean_error_mm,
    median_frame_mean_mm,
    per_frame_max_mm,
    per_frame_mean_mm,
    per_joint_mean_mm,
    report_from_errors,
    select_joints,
    success_rate,
)

# Three frames, two joints; errors (mm) chosen so every statistic is easy to compute by hand.
ERRORS = np.array([[3.0, 5.0], [10.0, 0.0], [2.0, 30.0]])


def _offset_points(errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GT at arbitrary positions, predictions displaced by ``errors`` along a (0.6, 0.8, 0) direction."""
    gt = np.arange(errors.size * 3, dtype=np.float64).reshape(*errors.shape, 3) + 500.0
    direction = np.array([0.6, 0.8, 0.0])
    return gt + errors[..., None] * direction, gt


def test_joint_errors_pythagoras() -> None:
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [6.0, 8.0, 0.0]]])  # 3-4-5 and 6-8-10
    np.testing.assert_array_equal(joint_errors_mm(pred, gt), [[5.0, 10.0]])
    np.testing.assert_array_equal(joint_errors_mm(gt, pred), [[5.0, 10.0]])


def test_joint_errors_match_float64_loop(rng: np.random.Generator) -> None:
    pred = rng.normal(0, 50, (7, 5, 3))
    gt = rng.normal(0, 50, (7, 5, 3))
    expected = np.empty((7, 5))
    for n in range(7):
        for j in range(5):
            expected[n, j] = math.sqrt(sum((float(pred[n, j, k]) - float(gt[n, j, k])) ** 2 for k in range(3)))
    np.testing.assert_allclose(joint_errors_mm(pred, gt), expected, rtol=1e-14, atol=1e-12)


def test_summary_statistics_by_hand() -> None:
    assert mean_error_mm(ERRORS) == pytest.approx(50.0 / 6)
    np.testing.assert_allclose(per_joint_mean_mm(ERRORS), [5.0, 35.0 / 3])
    np.testing.assert_allclose(per_frame_mean_mm(ERRORS), [4.0, 5.0, 16.0])
    np.testing.assert_allclose(per_frame_max_mm(ERRORS), [5.0, 10.0, 30.0])
    assert median_frame_mean_mm(ERRORS) == pytest.approx(5.0)


def test_success_modes_by_hand() -> None:
    t = [0.0, 4.0, 5.0, 10.0, 29.9, 30.0]
    np.testing.assert_allclose(success_rate(ERRORS, t, SuccessMode.MAX_FRAME), [0, 0, 1 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(success_rate(ERRORS, t, SuccessMode.MEAN_FRAME), [0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(success_rate(ERRORS, t, SuccessMode.JOINT), [1 / 6, 3 / 6, 4 / 6, 5 / 6, 5 / 6, 1])


def test_success_counts_errors_equal_to_threshold() -> None:
    """``<=``: a frame whose max error is exactly T succeeds at T, fails just below."""
    pred, gt = _offset_points(np.array([[10.0, 1.0]]))
    errors = joint_errors_mm(pred, gt)
    assert errors[0, 0] == 10.0  # exact in float64 (0.6·10, 0.8·10 offsets from integers)
    np.testing.assert_array_equal(success_rate(errors, [np.nextafter(10.0, 0.0), 10.0]), [0.0, 1.0])
    np.testing.assert_array_equal(success_rate(errors, [0.0], SuccessMode.JOINT), [0.0])
    np.testing.assert_array_equal(success_rate(np.zeros((2, 2)), [0.0]), [1.0])  # perfect prediction at T = 0


def test_success_threshold_order_is_free() -> None:
    np.testing.assert_allclose(success_rate(ERRORS, [30.0, 5.0, 10.0]), [1.0, 1 / 3, 2 / 3])


def test_auc_by_hand() -> None:
    # Max errors 5, 10, 30: success(T) = 0 (T<5), 1/3 (5..9), 2/3 (10..29), 1 (30..80).
    expected = (5 * 0 + 5 * (1 / 3) + 20 * (2 / 3) + 51 * 1) / 81
    assert auc(ERRORS) == pytest.approx(expected)
    assert auc(np.zeros((3, 2))) == 1.0
    assert auc(np.full((3, 2), 81.0)) == 0.0
    assert auc(np.full((1, 1), 40.0), max_threshold_mm=80) == pytest.approx(41 / 81)
    with pytest.raises(ValueError, match="max_threshold_mm"):
        auc(ERRORS, max_threshold_mm=-1)


def test_report_from_errors_fields() -> None:
    r = report_from_errors(ERRORS, "toy", joint_names=["A", "B"], subsets={"first two": slice(0, 2)})
    assert (r.num_frames, r.num_joints) == (3, 2)
    assert r.mean_mm == pytest.approx(50 / 6)
    assert r.median_mm == pytest.approx(5.0)
    assert r.per_joint_mm == pytest.approx((5.0, 35 / 3))
    assert r.thresholds_mm == DEFAULT_THRESHOLDS_MM
    assert r.success_at(10.0) == pytest.approx(2 / 3)
    assert r.success_mean_frame_20 == 1.0  # frame means 4, 5, 16
    assert r.success_joint_20 == pytest.approx(5 / 6)
    assert r.subsets == {"first two": pytest.approx(18 / 4)}
    d = r.to_dict()
    assert d["per_joint_mm"] == {"A": 5.0, "B": pytest.approx(35 / 3)}
    assert d["success_max_frame"]["10"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="not evaluated"):
        r.success_at(10.5)
    with pytest.raises(ValueError, match="joint names"):
        report_from_errors(ERRORS, "toy", joint_names=["A"])


def test_evaluate_xyz_frames_joints_and_subsets() -> None:
    pred, gt = _offset_points(ERRORS)
    full = evaluate_xyz(pred, gt, "toy", joint_names=["A", "B"], subsets={"tail": FrameRange(2, 3)})
    assert full.frames == "all"
    assert full.mean_mm == pytest.approx(50 / 6)
    assert full.subsets == {"tail": pytest.approx(42 / 4)}

    part = evaluate_xyz(pred, gt, "toy", joint_names=["A", "B"], frames=FrameRange(2, 3), joints=[1])
    assert (part.num_frames, part.num_joints, part.frames) == (2, 1, "2:3")
    assert part.joint_names == ("B",)
    assert part.mean_mm == pytest.approx(15.0)
    assert part.subsets == {}  # subsets of the full set are not reported for a frame range
    with pytest.raises(ValueError, match="ends past"):
        evaluate_xyz(pred, gt, "toy", frames=FrameRange(1, 4))


def test_frame_range_parse_and_validation() -> None:
    r = FrameRange.parse(" 2441 : 8252 ")
    assert (r.first, r.last, r.label) == (2441, 8252, "2441:8252")
    assert r.to_slice(8252) == slice(2440, 8252)
    for bad in ("0:5", "5:4"):
        with pytest.raises(ValueError, match="first <= last"):
            FrameRange.parse(bad)
    for bad in ("1-5", "a:b", "3", "-1:4"):
        with pytest.raises(ValueError, match="FIRST:LAST"):
            FrameRange.parse(bad)


def test_select_joints_validation() -> None:
    np.testing.assert_array_equal(select_joints(ERRORS, [1]), ERRORS[:, [1]])
    with pytest.raises(ValueError, match="out of range"):
        select_joints(ERRORS, [2])
    with pytest.raises(ValueError, match="duplicates"):
        select_joints(ERRORS, [0, 0])
    with pytest.raises(ValueError, match="empty"):
        select_joints(ERRORS, [])


def test_input_validation() -> None:
    gt = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match="same"):
        joint_errors_mm(np.zeros((2, 2, 3)), gt)
    with pytest.raises(ValueError, match=r"\(N, J, 3\)"):
        joint_errors_mm(np.zeros((2, 3)), np.zeros((2, 3)))
    bad = gt.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="frame 1, joint 2"):
        joint_errors_mm(bad, gt)
    with pytest.raises(ValueError, match=r"\(N, J\)"):
        mean_error_mm(np.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, J\)"):
        success_rate(np.zeros((0, 3)), [1.0])


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=st.floats(0, 100)))
def test_success_curves_properties(errors: np.ndarray) -> None:
    t = np.arange(0.0, 101.0)
    max_frame = success_rate(errors, t, SuccessMode.MAX_FRAME)
    mean_frame = success_rate(errors, t, SuccessMode.MEAN_FRAME)
    joint = success_rate(errors, t, SuccessMode.JOINT)
    for curve in (max_frame, mean_frame, joint):
        assert np.all(np.diff(curve) >= 0)
        assert curve[-1] == 1.0
    assert np.all(max_frame <= mean_frame)  # a frame's max error is >= its mean error
    # Independent reference: a plain comparison count.
    np.testing.assert_array_equal(max_frame, (errors.max(axis=1)[:, None] <= t).mean(axis=0))
    assert auc(errors) == pytest.approx(float(np.mean(max_frame[:81])))


def test_docstring_examples() -> None:
    import doctest

    import depthhand.evaluate.metrics
    import depthhand.evaluate.protocols

    for module in (depthhand.evaluate.metrics, depthhand.evaluate.protocols):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
