"""Quality of the learned hand detector (``detect.cnn``): recall, precision, centre error, handedness.

Protocol (numbers in ``weights/detector.json``; the latency benchmark is ``depthhand.bench.detector``):

* Synthetic: frames from :func:`depthhand.train.detector_data.sample_synthetic_frame` with a seed that training never
  uses (:data:`TEST_SEED`). A ground-truth hand counts when its palm centre projects into the image and ≥ 4 joints
  are visible. A detection matches an unmatched ground-truth hand (best score first) when box IoU ≥
  :data:`MATCH_IOU` or the 3-D centre distance ≤ :data:`MATCH_CENTER_MM`; detections near a hand that does not
  count are ignored, all others are false positives. Centre error: 3-D distance between the detected centre and
  the palm centre (mean of the wrist and four MCPs).
* Real (SR305 desk frames): the right hand is found when a detection's centre lies inside the labelled box.

The detector (ONNX Runtime), the renderer and the frame reader are imported only inside the functions that run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.real_labels import SR305_DESK_LABELS, load_box_labels

if TYPE_CHECKING:
    from depthhand.structures import HandBox
    from depthhand.synth.scenes import SynthSample

TEST_SEED = 987_654
"""Seed of the held-out synthetic frames (training never uses it)."""
MATCH_IOU = 0.5
"""Smallest box IoU for a detection to match a ground-truth hand."""
MATCH_CENTER_MM = 30.0
"""Largest 3-D centre distance for a detection to match a ground-truth hand, mm."""


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Intersection over union of two boxes.

    Args:
        a: (4,) box ``(u0, v0, u1, v1)``, pixels.
        b: (4,) box ``(u0, v0, u1, v1)``, pixels.

    Returns:
        IoU in [0, 1]; 0 when the union is empty.
    """
    x = np.asarray(a, np.float64)
    y = np.asarray(b, np.float64)
    iw = max(0.0, float(min(x[2], y[2]) - max(x[0], y[0])))
    ih = max(0.0, float(min(x[3], y[3]) - max(x[1], y[1])))
    inter = iw * ih
    union = float((x[2] - x[0]) * (x[3] - x[1]) + (y[2] - y[0]) * (y[3] - y[1])) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class DetectionTally:
    """Running counts for recall / precision / centre error.

    Attributes:
        gt: Ground-truth hands that count.
        tp: Detections matched to a counted hand.
        fp: Detections matched to no hand.
        hand_ok: True positives whose handedness is right.
        errors_mm: 3-D centre error of each true positive, mm.
    """

    gt: int = 0
    tp: int = 0
    fp: int = 0
    hand_ok: int = 0
    errors_mm: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Recall, precision, centre error (mean / median / p90, mm; NaN without a match) and handedness accuracy."""
        e = np.asarray(self.errors_mm) if self.errors_mm else np.full(1, np.nan)
        return {
            "gt_hands": self.gt,
            "recall": self.tp / max(1, self.gt),
            "precision": self.tp / max(1, self.tp + self.fp),
            "center_error_mean_mm": float(np.mean(e)),
            "center_error_median_mm": float(np.median(e)),
            "center_error_p90_mm": float(np.percentile(e, 90)),
            "handedness_accuracy": self.hand_ok / max(1, self.tp),
        }


def tally_frame(
    tally: DetectionTally, detections: Sequence[HandBox], sample: SynthSample, counted: npt.NDArray[np.bool_]
) -> None:
    """Match one frame's detections to its ground-truth hands (best score first) and update ``tally``.

    Args:
        tally: Updated in place.
        detections: The detector's hands in the frame.
        sample: The frame's ground truth (K hands).
        counted: (K,) which hands count as labels (:func:`depthhand.train.detector_data.labelled_hands`).
    """
    from depthhand.structures import Handedness

    k = len(sample.handedness)
    used = np.zeros(k, bool)
    tally.gt += int(counted.sum())
    for det in sorted(detections, key=lambda d: -d.score):
        best, best_d = -1, np.inf
        for i in range(k):
            if used[i]:
                continue
            dist = float(np.linalg.norm(det.center_xyz_mm - sample.center_xyz_mm[i]))
            if (dist <= MATCH_CENTER_MM or box_iou(det.box_xyxy, sample.boxes_xyxy[i]) >= MATCH_IOU) and dist < best_d:
                best, best_d = i, dist
        if best < 0:
            tally.fp += 1
            continue
        used[best] = True
        if counted[best]:
            tally.tp += 1
            tally.errors_mm.append(best_d)
            want = Handedness.RIGHT if sample.handedness[best] == Handedness.RIGHT else Handedness.LEFT
            tally.hand_ok += int(det.handedness == want)


def evaluate_synthetic(
    model_path: str | Path | None,
    count: int,
    seed: int = TEST_SEED,
    progress: bool = True,
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """Detector quality on held-out synthetic frames, overall and per scene family.

    Args:
        model_path: Detector ONNX file; None for the shipped one.
        count: Frames to render.
        seed: Frame ``i`` uses ``np.random.default_rng([seed, i])``.
        progress: Show a progress bar.
        score_threshold: Detection threshold (default 0.3).

    Returns:
        ``frames``, ``seed``, ``score_threshold``, the :meth:`DetectionTally.summary` fields and ``per_family``
        (family → summary).
    """
    from tqdm import tqdm

    from depthhand.detect.cnn import CnnHandDetector
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import labelled_hands, sample_synthetic_frame

    det = CnnHandDetector(model_path, score_threshold=0.3 if score_threshold is None else score_threshold)
    total, per_family = DetectionTally(), dict[str, DetectionTally]()
    for i in tqdm(range(count), desc="detector eval (synthetic)", disable=not progress):
        sample, depth = sample_synthetic_frame(np.random.default_rng([seed, i]))
        frame = DepthFrame(depth, sample.intrinsics, index=i, source_id=f"synth:{sample.family}")
        boxes = det.detect(frame)
        counted = labelled_hands(sample)
        tally_frame(total, boxes, sample, counted)
        tally_frame(per_family.setdefault(sample.family, DetectionTally()), boxes, sample, counted)
    return {
        "frames": count,
        "seed": seed,
        "score_threshold": det.score_threshold,
        **total.summary(),
        "per_family": {k: v.summary() for k, v in sorted(per_family.items())},
    }


def center_in_box(detection: HandBox, box_xyxy: npt.ArrayLike) -> bool:
    """Whether a detection's centre pixel lies inside a box (edges included).

    Args:
        detection: The detected hand (its ``center_uvd`` u, v in pixels).
        box_xyxy: (4,) box ``(u0, v0, u1, v1)``, pixels.
    """
    b = np.asarray(box_xyxy, np.float64)
    u, v = float(detection.center_uvd[0]), float(detection.center_uvd[1])
    return bool(b[0] <= u <= b[2] and b[1] <= v <= b[3])


def evaluate_real(
    model_path: str | Path | None,
    labels_json: str | Path = SR305_DESK_LABELS,
    frames_dir: str | Path | None = None,
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """Whether the labelled hand is found (a detection's centre inside the labelled box) in each labelled real frame.

    Args:
        model_path: Detector ONNX file; None for the shipped one.
        labels_json: Box labels (:mod:`depthhand.evaluate.real_labels` format).
        frames_dir: Folder of the labelled PNGs (default: the shared SR305 desk frames).
        score_threshold: Detection threshold (default 0.3).

    Returns:
        ``frames``, ``score_threshold``, ``right_hand_found``, ``right_labelled_right``, ``false_detections`` and
        ``per_frame`` (name → ``found``, ``detections``, ``score``, ``handedness``, ``center_px_error`` in pixels,
        ``iou``).
    """
    from depthhand.detect.cnn import CnnHandDetector

    det = CnnHandDetector(model_path, score_threshold=0.3 if score_threshold is None else score_threshold)
    per_frame: dict[str, dict[str, Any]] = {}
    for lab in load_box_labels(labels_json, frames_dir):
        boxes = det.detect(lab.frame)
        inside = [d for d in boxes if center_in_box(d, lab.box_xyxy)]
        per_frame[lab.name] = {
            "found": bool(inside),
            "detections": len(boxes),
            "score": float(inside[0].score) if inside else 0.0,
            "handedness": inside[0].handedness.value if inside else None,
            "center_px_error": float(np.hypot(*(inside[0].center_uvd[:2] - lab.center_uv))) if inside else None,
            "iou": box_iou(inside[0].box_xyxy, lab.box_xyxy) if inside else 0.0,
        }
    found = sum(v["found"] for v in per_frame.values())
    return {
        "frames": len(per_frame),
        "score_threshold": det.score_threshold,
        "right_hand_found": found,
        "right_labelled_right": sum(v["handedness"] == "right" for v in per_frame.values()),
        "false_detections": sum(v["detections"] - int(v["found"]) for v in per_frame.values()),
        "per_frame": per_frame,
    }
