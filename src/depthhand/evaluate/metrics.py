"""The field's standard 3D hand-pose metrics, in pure float64 numpy.

Every metric starts from the per-joint Euclidean errors ``e[n, j] = ‖X̂[n, j] − X[n, j]‖₂`` in camera-space
millimetres (never in (u, v, d) space; :mod:`depthhand.evaluate.protocols` converts with the dataset's
intrinsics). From ``errors_mm`` (N, J):

* mean 3D error: mean over all N·J entries;
* per-joint mean error: mean over frames, per joint (J,);
* median of the per-frame mean errors (a robust summary, always labelled as a median);
* success rate(T): fraction of frames whose **maximum** joint error is ``<=`` T mm (:attr:`SuccessMode.MAX_FRAME`,
  the standard curve); variants: frames whose mean error ``<=`` T (:attr:`SuccessMode.MEAN_FRAME`) and the fraction
  of all joints with error ``<=`` T (:attr:`SuccessMode.JOINT`);
* AUC over 0..80 mm: the mean of success(T) for T = 0, 1, …, 80.

:func:`evaluate_xyz` bundles them into a frozen :class:`EvalReport`; it is the library entry point for anything
that already has predicted and ground-truth xyz arrays (prediction files, or a model run over a dataset).

Example:
    >>> import numpy as np
    >>> gt = np.zeros((2, 3, 3))
    >>> pred = gt.copy()
    >>> pred[0, 0, 0] = 6.0  # frame 0: one joint 6 mm off
    >>> pred[1, :, 2] = 4.0  # frame 1: every joint 4 mm off
    >>> errors = joint_errors_mm(pred, gt)
    >>> float(mean_error_mm(errors)), success_rate(errors, [4.0, 5.0, 6.0]).tolist()
    (3.0, [0.5, 0.5, 1.0])
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

DEFAULT_THRESHOLDS_MM: tuple[float, ...] = tuple(float(t) for t in range(81))
"""The success-curve thresholds T = 0, 1, …, 80 mm."""

HEADLINE_THRESHOLDS_MM: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0, 50.0, 80.0)
"""Thresholds whose success rates every report lists."""


class SuccessMode(enum.Enum):
    """Which quantity a success rate thresholds."""

    MAX_FRAME = "max_frame"
    """Fraction of frames whose maximum joint error is ``<=`` T (the standard curve)."""
    MEAN_FRAME = "mean_frame"
    """Fraction of frames whose mean joint error is ``<=`` T."""
    JOINT = "joint"
    """Fraction of all (frame, joint) entries with error ``<=`` T."""


@dataclass(frozen=True, slots=True)
class FrameRange:
    """An inclusive range of frames, **1-based** as in the datasets' list files (``1:2440``).

    Attributes:
        first: First frame (1-based, inclusive).
        last: Last frame (1-based, inclusive).
    """

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.last < self.first:
            raise ValueError(f"frame range must satisfy 1 <= first <= last, got {self.first}:{self.last}")

    @classmethod
    def parse(cls, text: str) -> FrameRange:
        """Parse ``"FIRST:LAST"`` (1-based, inclusive), e.g. ``"2441:8252"``.

        Raises:
            ValueError: For anything else.
        """
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", text)
        if match is None:
            raise ValueError(f"frame range must look like FIRST:LAST (1-based, inclusive), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def label(self) -> str:
        """``"first:last"``."""
        return f"{self.first}:{self.last}"

    def to_slice(self, num_frames: int) -> slice:
        """The 0-based slice of an (N, …) array this range selects.

        Raises:
            ValueError: If the range ends past ``num_frames``.
        """
        if self.last > num_frames:
            raise ValueError(f"frame range {self.label} ends past the {num_frames} frames of the set")
        return slice(self.first - 1, self.last)


def _check_points(array: npt.ArrayLike, name: str) -> F64:
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must have shape (N, J, 3), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one frame and one joint, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite value at frame {bad[0]}, joint {bad[1]}")
    return arr


def _check_errors(errors_mm: npt.ArrayLike) -> F64:
    err = np.asarray(errors_mm, dtype=np.float64)
    if err.ndim != 2 or err.size == 0:
        raise ValueError(f"errors_mm must have shape (N, J) with N, J >= 1, got {err.shape}")
    return err


def joint_errors_mm(pred_xyz_mm: npt.ArrayLike, gt_xyz_mm: npt.ArrayLike) -> F64:
    """Per-joint Euclidean errors.

    Args:
        pred_xyz_mm: (N, J, 3) predicted joints, camera mm.
        gt_xyz_mm: (N, J, 3) ground-truth joints in the same frame and order.

    Returns:
        (N, J) float64 errors in mm.

    Raises:
        ValueError: On shape mismatch or non-finite values.
    """
    pred = _check_points(pred_xyz_mm, "pred_xyz_mm")
    gt = _check_points(gt_xyz_mm, "gt_xyz_mm")
    if pred.shape != gt.shape:
        raise ValueError(f"pred_xyz_mm {pred.shape} and gt_xyz_mm {gt.shape} must have the same (N, J, 3) shape")
    diff = pred - gt
    errors: F64 = np.sqrt(np.einsum("njk,njk->nj", diff, diff))
    return errors


def mean_error_mm(errors_mm: npt.ArrayLike) -> float:
    """Mean 3D error over all N·J entries of (N, J) errors, mm."""
    return float(np.mean(_check_errors(errors_mm)))


def per_joint_mean_mm(errors_mm: npt.ArrayLike) -> F64:
    """(J,) mean error of each joint over the frames, mm."""
    out: F64 = _check_errors(errors_mm).mean(axis=0)
    return out


def per_frame_mean_mm(errors_mm: npt.ArrayLike) -> F64:
    """(N,) mean joint error of each frame, mm."""
    out: F64 = _check_errors(errors_mm).mean(axis=1)
    return out


def per_frame_max_mm(errors_mm: npt.ArrayLike) -> F64:
    """(N,) maximum joint error of each frame, mm."""
    out: F64 = _check_errors(errors_mm).max(axis=1)
    return out


def median_frame_mean_mm(errors_mm: npt.ArrayLike) -> float:
    """Median over frames of the per-frame mean error, mm (a median, not the mean error)."""
    return float(np.median(per_frame_mean_mm(errors_mm)))


def success_rate(
    errors_mm: npt.ArrayLike,
    thresholds_mm: Sequence[float] | npt.ArrayLike = DEFAULT_THRESHOLDS_MM,
    mode: SuccessMode = SuccessMode.MAX_FRAME,
) -> F64:
    """Success rate at each threshold, counting values ``<=`` T as successes.

    Args:
        errors_mm: (N, J) per-joint errors, mm.
        thresholds_mm: (T,) thresholds in mm (any order).
        mode: What is thresholded (default: each frame's maximum joint error).

    Returns:
        (T,) fractions in [0, 1].
    """
    err = _check_errors(errors_mm)
    thr = np.asarray(thresholds_mm, dtype=np.float64).reshape(-1)
    if mode is SuccessMode.MAX_FRAME:
        values = err.max(axis=1)
    elif mode is SuccessMode.MEAN_FRAME:
        values = err.mean(axis=1)
    else:
        values = err.reshape(-1)
    counts = np.searchsorted(np.sort(values), thr, side="right")  # number of values <= T
    fractions: F64 = counts.astype(np.float64) / values.size
    return fractions


def auc(errors_mm: npt.ArrayLike, max_threshold_mm: int = 80, mode: SuccessMode = SuccessMode.MAX_FRAME) -> float:
    """Area under the success curve: the mean of success(T) for T = 0, 1, …, ``max_threshold_mm``.

    Args:
        errors_mm: (N, J) per-joint errors, mm.
        max_threshold_mm: Last integer threshold (the range is part of the metric's label).
        mode: Success-rate mode.

    Returns:
        AUC in [0, 1].
    """
    if max_threshold_mm < 0:
        raise ValueError(f"max_threshold_mm must be >= 0, got {max_threshold_mm}")
    return float(np.mean(success_rate(errors_mm, np.arange(max_threshold_mm + 1, dtype=np.float64), mode)))


def select_joints(errors_mm: npt.ArrayLike, joints: Sequence[int]) -> F64:
    """The columns ``joints`` of (N, J) errors, validated (no duplicates, all in range)."""
    err = _check_errors(errors_mm)
    idx = [int(j) for j in joints]
    if not idx:
        raise ValueError("joint subset must not be empty")
    if len(set(idx)) != len(idx):
        raise ValueError(f"joint subset has duplicates: {idx}")
    bad = [j for j in idx if not 0 <= j < err.shape[1]]
    if bad:
        raise ValueError(f"joint indices {bad} out of range for {err.shape[1]} joints")
    return err[:, idx]


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The standard metrics of one method on one (subset of a) test set.

    Attributes:
        name: Method name (e.g. the prediction file's stem).
        dataset: Protocol name (``"nyu"``, ``"icvl"``, ``"msra"``) or ``""``.
        num_frames: Frames N behind the numbers.
        num_joints: Joints J behind the numbers.
        mean_mm: Mean 3D error, mm.
        median_mm: Median of the per-frame mean errors, mm.
        per_joint_mm: (J,) mean error per joint, mm.
        joint_names: Names of the J joints.
        thresholds_mm: Success-curve thresholds, mm.
        success: Max-frame success rate at each threshold.
        success_mean_frame_20: Mean-frame success at 20 mm.
        success_joint_20: Joint success at 20 mm.
        auc_0_80: Mean max-frame success over T = 0..80 mm.
        frames: Frame selection label (``"all"`` or ``"first:last"``, 1-based).
        subsets: Mean error (mm) of named frame subsets (NYU halves, ICVL sequences).
    """

    name: str
    dataset: str
    num_frames: int
    num_joints: int
    mean_mm: float
    median_mm: float
    per_joint_mm: tuple[float, ...]
    joint_names: tuple[str, ...]
    thresholds_mm: tuple[float, ...]
    success: tuple[float, ...]
    success_mean_frame_20: float
    success_joint_20: float
    auc_0_80: float
    frames: str = "all"
    subsets: Mapping[str, float] = field(default_factory=dict)

    def success_at(self, threshold_mm: float) -> float:
        """Max-frame success rate at one of :attr:`thresholds_mm`.

        Raises:
            ValueError: If the threshold was not evaluated.
        """
        for t, s in zip(self.thresholds_mm, self.success, strict=True):
            if t == threshold_mm:
                return s
        raise ValueError(f"threshold {threshold_mm} mm not evaluated; have {self.thresholds_mm[:3]}…")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "dataset": self.dataset,
            "num_frames": self.num_frames,
            "num_joints": self.num_joints,
            "frames": self.frames,
            "mean_mm": self.mean_mm,
            "median_frame_mean_mm": self.median_mm,
            "auc_0_80": self.auc_0_80,
            "per_joint_mm": dict(zip(self.joint_names, self.per_joint_mm, strict=True)),
            "success_max_frame": {f"{t:g}": s for t, s in zip(self.thresholds_mm, self.success, strict=True)},
            "success_mean_frame_20": self.success_mean_frame_20,
            "success_joint_20": self.success_joint_20,
            "subsets_mean_mm": dict(self.subsets),
        }


def report_from_errors(
    errors_mm: npt.ArrayLike,
    name: str,
    *,
    dataset: str = "",
    joint_names: Sequence[str] | None = None,
    thresholds_mm: Sequence[float] = DEFAULT_THRESHOLDS_MM,
    frames: str = "all",
    subsets: Mapping[str, slice] | None = None,
) -> EvalReport:
    """Summarise (N, J) errors (already restricted to the frames and joints of interest) as an :class:`EvalReport`.

    Args:
        errors_mm: (N, J) per-joint errors, mm.
        name: Method name.
        dataset: Protocol name, for the record.
        joint_names: J names (default ``"0"``, ``"1"``, …).
        thresholds_mm: Success-curve thresholds.
        frames: Label of the frame selection.
        subsets: Named 0-based frame slices of ``errors_mm`` whose mean error to report.
    """
    err = _check_errors(errors_mm)
    names = tuple(joint_names) if joint_names is not None else tuple(str(j) for j in range(err.shape[1]))
    if len(names) != err.shape[1]:
        raise ValueError(f"{len(names)} joint names for {err.shape[1]} joints")
    subset_means = {label: mean_error_mm(err[sl]) for label, sl in (subsets or {}).items()}
    return EvalReport(
        name=name,
        dataset=dataset,
        num_frames=int(err.shape[0]),
        num_joints=int(err.shape[1]),
        mean_mm=mean_error_mm(err),
        median_mm=median_frame_mean_mm(err),
        per_joint_mm=tuple(float(v) for v in per_joint_mean_mm(err)),
        joint_names=names,
        thresholds_mm=tuple(float(t) for t in thresholds_mm),
        success=tuple(float(s) for s in success_rate(err, thresholds_mm)),
        success_mean_frame_20=float(success_rate(err, [20.0], SuccessMode.MEAN_FRAME)[0]),
        success_joint_20=float(success_rate(err, [20.0], SuccessMode.JOINT)[0]),
        auc_0_80=auc(err, 80),
        frames=frames,
        subsets=subset_means,
    )


def evaluate_xyz(
    pred_xyz_mm: npt.ArrayLike,
    gt_xyz_mm: npt.ArrayLike,
    name: str,
    *,
    dataset: str = "",
    joint_names: Sequence[str] | None = None,
    frames: FrameRange | None = None,
    joints: Sequence[int] | None = None,
    subsets: Mapping[str, FrameRange] | None = None,
    thresholds_mm: Sequence[float] = DEFAULT_THRESHOLDS_MM,
) -> EvalReport:
    """Evaluate predicted against ground-truth camera-space joints.

    This is the entry point for code that already holds xyz arrays (a model run over a dataset, or converted
    prediction files). It does not check the dataset's frame/joint counts; :func:`~depthhand.evaluate.protocols.
    evaluate_protocol` does.

    Args:
        pred_xyz_mm: (N, J, 3) predictions, camera mm.
        gt_xyz_mm: (N, J, 3) ground truth in the same frame, order and y convention.
        name: Method name.
        dataset: Protocol name, for the record.
        joint_names: J names of the full joint set.
        frames: Restrict to this 1-based inclusive frame range.
        joints: Restrict to these joint indices.
        subsets: Named 1-based frame ranges (of the full set) whose mean error to report; ignored (not
            reported) when ``frames`` is given.
        thresholds_mm: Success-curve thresholds.

    Returns:
        The report over the selected frames and joints.
    """
    err = joint_errors_mm(pred_xyz_mm, gt_xyz_mm)
    num_frames = err.shape[0]
    names = tuple(joint_names) if joint_names is not None else tuple(str(j) for j in range(err.shape[1]))
    if len(names) != err.shape[1]:
        raise ValueError(f"{len(names)} joint names for {err.shape[1]} joints")
    subset_slices: dict[str, slice] = {}
    frames_label = "all"
    if frames is not None:
        err = err[frames.to_slice(num_frames)]
        frames_label = frames.label
    else:
        subset_slices = {label: rng.to_slice(num_frames) for label, rng in (subsets or {}).items()}
    if joints is not None:
        err = select_joints(err, joints)
        names = tuple(names[int(j)] for j in joints)
    return report_from_errors(
        err,
        name,
        dataset=dataset,
        joint_names=names,
        thresholds_mm=thresholds_mm,
        frames=frames_label,
        subsets=subset_slices,
    )
