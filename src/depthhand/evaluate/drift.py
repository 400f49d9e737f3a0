"""How far a pose backend moves the shipped model's joints from another's, on the card's held-out synthetic crops.

Used by the ``pose.bf16_drift`` benchmark and the ``backends`` block of ``depthhand_fast.json``: OpenVINO bfloat16
against ONNX Runtime fp32, per scene, as the mean 3D shift of the joints and the change of the mean error against the
truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DRIFT_SCENES", "DRIFT_SEED", "backend_drift"]

DRIFT_SEED = 424242
"""The card's held-out seed."""
DRIFT_SCENES = ("topdown", "frontal", "egocentric")
"""The card's scene order (scene ``i`` uses rng ``[DRIFT_SEED, i]``)."""


def backend_drift(
    backend: str, count: int, reference: str = "onnxruntime", scenes: tuple[str, ...] = DRIFT_SCENES
) -> dict[str, Any]:
    """Joints from ``backend`` against ``reference`` on the card's held-out crops whose centre is in the image.

    Both see the same crops (scene ``i`` of :data:`DRIFT_SCENES` drawn with rng ``[424242, i]``, as the card's
    ``heldout_synthetic_centre_in_image`` figures), so ``ref_mean_mm`` with ``count`` 1000 is the card's figure.

    Args:
        backend: The backend under test (:data:`depthhand.pose.backends.BACKENDS`).
        count: Crops per scene before keeping those whose centre is in the image.
        reference: The backend it is compared with.
        scenes: Which of :data:`DRIFT_SCENES`.

    Returns:
        Per scene: ``frames``, ``mean_shift_mm`` (mean over crops and joints of the 3D distance between the two
        backends' joints), ``median_shift_mm``, ``p99_shift_mm``, ``max_shift_mm``, ``ref_mean_mm`` / ``mean_mm``
        (mean 3D error against the truth) and ``error_change_mm`` (``mean_mm − ref_mean_mm``).
    """
    from depthhand.evaluate.model import predict_synthetic_crops
    from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
    from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

    path = shipped_weights(DEFAULT_POSE_MODEL)
    out: dict[str, Any] = {}
    with (
        PoseEstimator(PoseEstimatorOptions(path, reference, num_threads=2)) as ref,
        PoseEstimator(PoseEstimatorOptions(path, backend, num_threads=2)) as est,
    ):
        for scene in scenes:
            i = DRIFT_SCENES.index(scene)
            rng = [DRIFT_SEED, i]
            a, meta = predict_synthetic_crops(ref, count, np.random.default_rng(rng), scene)
            b, _ = predict_synthetic_crops(est, count, np.random.default_rng(rng), scene)  # the same crops
            keep = meta.centre_in_image()
            a, b, truth = a[keep], b[keep], meta.joints_xyz_mm[keep]
            shift = np.linalg.norm(b - a, axis=-1)
            err_a = float(np.linalg.norm(a - truth, axis=-1).mean())
            err_b = float(np.linalg.norm(b - truth, axis=-1).mean())
            out[scene] = {
                "frames": int(keep.sum()),
                "mean_shift_mm": float(shift.mean()),
                "median_shift_mm": float(np.median(shift)),
                "p99_shift_mm": float(np.percentile(shift, 99)),
                "max_shift_mm": float(shift.max()),
                "ref_mean_mm": err_a,
                "mean_mm": err_b,
                "error_change_mm": err_b - err_a,
            }
    return out
