"""Accuracy of a live pipeline against per-frame ground truth (the synthetic live source).

Predicted hands are matched to true hands by their palm centres (Hungarian assignment, gated), so the numbers
measure the whole pipeline: detection misses and false hands count, and joint errors use the detected centres.

A true hand with too few joints in view (entering or leaving the image) is *don't care*, as in the detector
protocol (:mod:`depthhand.evaluate.detector`): it is not required (no miss), and a predicted hand on it is neither
a match nor a false hand. Only predictions near no true hand at all count as false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import JointSet, joint_mapping

F64 = npt.NDArray[np.float64]


def match_hands(
    pred_centers_mm: npt.ArrayLike, true_centers_mm: npt.ArrayLike, gate_mm: float
) -> list[tuple[int, int]]:
    """Pairs ``(pred_index, true_index)`` minimising the total centre distance, each pair within ``gate_mm``."""
    from scipy.optimize import linear_sum_assignment

    p = np.asarray(pred_centers_mm, np.float64).reshape(-1, 3)
    t = np.asarray(true_centers_mm, np.float64).reshape(-1, 3)
    if len(p) == 0 or len(t) == 0:
        return []
    cost = np.linalg.norm(p[:, None] - t[None], axis=-1)
    rows, cols = linear_sum_assignment(np.where(cost <= gate_mm, cost, 1e9))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= gate_mm]


@dataclass
class LiveAccuracy:
    """Running accuracy of a pipeline over frames.

    Attributes:
        joint_set: Skeleton of the predictions; true canonical joints are mapped to it.
        gate_mm: Largest centre distance for a predicted hand to count as a true one.
    """

    joint_set: JointSet
    gate_mm: float = 100.0
    errors_mm: list[F64] = field(default_factory=list)
    true_hands: int = 0
    matched: int = 0
    false_hands: int = 0
    ignored_hands: int = 0
    frames: int = 0
    handedness_checked: int = 0
    handedness_correct: int = 0

    def add(
        self,
        pred_joints_xyz_mm: npt.ArrayLike,
        true_canonical_xyz_mm: npt.ArrayLike,
        true_visible: npt.ArrayLike | None = None,
        min_visible: float = 0.5,
        pred_handedness: Sequence[Any] | None = None,
        true_handedness: Sequence[Any] | None = None,
    ) -> None:
        """Add one frame.

        Args:
            pred_joints_xyz_mm: (P, J, 3) predicted joints, camera mm.
            true_canonical_xyz_mm: (T, 21, 3) true canonical joints, camera mm.
            true_visible: (T, 21) True where a joint is in view; hands with fewer than ``min_visible`` such joints
                (entering or leaving the view) are don't care: neither required nor, when predicted, false.
            min_visible: Fraction of in-view joints that makes a true hand count.
            pred_handedness: (P,) handedness of each predicted hand (``Handedness``), to score it.
            true_handedness: (T,) true handedness of each true hand.
        """
        pred = np.asarray(pred_joints_xyz_mm, np.float64).reshape(-1, self.joint_set.num_joints, 3)
        true_c = np.asarray(true_canonical_xyz_mm, np.float64).reshape(-1, 21, 3)
        hands = list(true_handedness) if true_handedness is not None else None
        ignored = np.zeros((0, 21, 3))
        if true_visible is not None:
            keep = np.asarray(true_visible, bool).reshape(-1, 21).mean(axis=1) >= min_visible
            ignored = true_c[~keep]
            true_c = true_c[keep]
            hands = None if hands is None else [h for h, k in zip(hands, keep.tolist(), strict=True) if k]
        mapping = joint_mapping("canonical21", self.joint_set.name)
        true = mapping.apply(true_c)
        pairs = match_hands(pred.mean(axis=1), true.mean(axis=1), self.gate_mm)
        for pi, ti in pairs:
            self.errors_mm.append(np.linalg.norm(pred[pi] - true[ti], axis=-1))
            if pred_handedness is not None and hands is not None:
                self.handedness_checked += 1
                self.handedness_correct += int(pred_handedness[pi] == hands[ti])
        unmatched = sorted(set(range(len(pred))) - {pi for pi, _ in pairs})
        on_ignored = 0
        if unmatched and len(ignored):
            rest = pred[unmatched].mean(axis=1)
            on_ignored = len(match_hands(rest, mapping.apply(ignored).mean(axis=1), self.gate_mm))
        self.frames += 1
        self.true_hands += len(true)
        self.matched += len(pairs)
        self.ignored_hands += on_ignored
        self.false_hands += len(unmatched) - on_ignored

    def add_tracked(self, hands: Sequence[Any], truth: Any, true_visible: npt.ArrayLike | None = None) -> None:
        """Add one frame of the pipeline's tracked hands against a synthetic frame's truth.

        Args:
            hands: ``TrackedHand`` objects of the frame; coasting ones (``lost_frames > 0``) are left out.
            truth: An object with ``joints_xyz_mm`` (T, 21, 3) and ``handedness`` (T,) (``SynthTruth``).
            true_visible: (T, 21) joints in view (see :meth:`add`).
        """
        fresh = [h for h in hands if h.lost_frames == 0]
        pred = np.array([h.pose.joints_xyz_mm for h in fresh]).reshape(-1, self.joint_set.num_joints, 3)
        self.add(
            pred,
            truth.joints_xyz_mm,
            true_visible,
            pred_handedness=[h.pose.handedness for h in fresh],
            true_handedness=truth.handedness,
        )

    def summary(self) -> dict[str, float]:
        """Mean 3D error (mm), hand recall, false hands per frame; with handedness, the fraction called right."""
        errors = np.array(self.errors_mm) if self.errors_mm else np.zeros((0, self.joint_set.num_joints))
        frame_max = errors.max(axis=1) if len(errors) else np.zeros(0)
        out = {
            "frames": float(self.frames),
            "mean_error_mm": float(errors.mean()) if len(errors) else float("nan"),
            "median_frame_error_mm": float(np.median(errors.mean(axis=1))) if len(errors) else float("nan"),
            "success_20mm": float((frame_max <= 20).mean()) if len(errors) else float("nan"),
            "hand_recall": self.matched / self.true_hands if self.true_hands else float("nan"),
            "false_hands_per_frame": self.false_hands / self.frames if self.frames else float("nan"),
            "partial_hands_per_frame": self.ignored_hands / self.frames if self.frames else float("nan"),
        }
        if self.handedness_checked:
            out["handedness_accuracy"] = self.handedness_correct / self.handedness_checked
        return out
