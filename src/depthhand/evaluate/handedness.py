"""Handedness quality: the pose's palm chirality (:mod:`depthhand.pose.handedness`) against the detector's head.

* Synthetic: held-out 96×96 crops (seed :data:`TEST_SEED`, never used in training) per scene, run through the
  shipped pose model; accuracy of the chirality of the *predicted* joints (and, as a check of the rule itself, of
  the ground-truth joints), and how many fall inside the UNKNOWN dead band.
* Real: the 11 SR305 desk frames (a right hand) through the CNN detector and the pose model; how many the chirality
  calls right, and how many the detector's head calls right.

The benchmark wrapper is ``depthhand.bench.handedness`` (``depthhand bench detect.handedness``). The pose model,
the pipeline and the frame reader are imported only inside the functions that run them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depthhand.evaluate.detector import center_in_box
from depthhand.evaluate.real_labels import SR305_DESK_LABELS, load_box_labels

TEST_SEED = 515_151
"""Seed of the held-out synthetic crops (scene ``i`` uses ``np.random.default_rng([seed, i])``)."""
SCENES = ("topdown", "frontal", "egocentric")
"""The synthetic scene families measured."""


def synthetic_accuracy(count: int, seed: int = TEST_SEED, model_path: str | Path | None = None) -> dict[str, Any]:
    """Per-scene chirality accuracy on held-out crops, from the predicted and from the ground-truth joints.

    Args:
        count: Crops per scene.
        seed: Held-out seed.
        model_path: Pose ONNX model; None for the shipped ``depthhand_fast``.

    Returns:
        ``crops_per_scene``, ``seed``, ``margin_mm`` (the UNKNOWN dead band, mm) and, per scene of :data:`SCENES`,
        ``accuracy_sign`` (sign of the predicted chirality), ``accuracy_decided`` (outside the dead band; None when
        none is), ``unknown_fraction`` and ``accuracy_ground_truth_joints``.
    """
    from depthhand.evaluate.model import predict_synthetic_crops
    from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
    from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions
    from depthhand.pose.handedness import DEFAULT_MARGIN_MM, chirality_mm
    from depthhand.structures import Handedness

    out: dict[str, Any] = {"crops_per_scene": count, "seed": seed, "margin_mm": DEFAULT_MARGIN_MM}
    with PoseEstimator(PoseEstimatorOptions(model_path or shipped_weights(DEFAULT_POSE_MODEL), num_threads=2)) as est:
        info = est.info
        for i, scene in enumerate(SCENES):
            pred, meta = predict_synthetic_crops(est, count, np.random.default_rng([seed, i]), scene)
            right = np.array([h is Handedness.RIGHT for h in meta.handedness])
            chi_pred = chirality_mm(pred, info.joint_set.name)
            chi_gt = chirality_mm(meta.joints_xyz_mm)
            decided = np.abs(chi_pred) >= DEFAULT_MARGIN_MM
            out[scene] = {
                "accuracy_sign": float(np.mean((chi_pred > 0) == right)),
                "accuracy_decided": float(np.mean(((chi_pred > 0) == right)[decided])) if decided.any() else None,
                "unknown_fraction": float(1 - decided.mean()),
                "accuracy_ground_truth_joints": float(np.mean((chi_gt > 0) == right)),
            }
    return out


def real_sr305(frames_dir: Path | None = None, labels_json: Path = SR305_DESK_LABELS) -> dict[str, Any]:
    """Handedness of the labelled right hand in each real SR305 frame: pose chirality vs the detector's head.

    Args:
        frames_dir: Folder of the labelled PNGs (default: the shared SR305 desk frames).
        labels_json: Box labels (:mod:`depthhand.evaluate.real_labels` format).

    Returns:
        ``frames``, ``pipeline_right`` and ``detector_head_right`` (frames each calls right) and ``per_frame``
        (name → ``found`` and, when found, ``chirality_mm``, ``pipeline``, ``detector_head``).
    """
    from depthhand.pipeline import HandPipeline
    from depthhand.pose.handedness import chirality_mm

    per_frame: dict[str, dict[str, object]] = {}
    with HandPipeline() as pipe:
        for lab in load_box_labels(labels_json, frames_dir):
            name, frame = lab.name, lab.frame
            boxes = [d for d in pipe.detector.detect(frame) if center_in_box(d, lab.box_xyxy)]
            if not boxes:
                per_frame[name] = {"found": False}
                continue
            (pose,) = pipe.estimate(frame, boxes[:1])
            per_frame[name] = {
                "found": True,
                "chirality_mm": round(float(chirality_mm(pose.joints_xyz_mm, pose.joint_set.name)), 1),
                "pipeline": pose.handedness.value,
                "detector_head": boxes[0].handedness.value,
            }
    return {
        "frames": len(per_frame),
        "pipeline_right": sum(v.get("pipeline") == "right" for v in per_frame.values()),
        "detector_head_right": sum(v.get("detector_head") == "right" for v in per_frame.values()),
        "per_frame": per_frame,
    }
