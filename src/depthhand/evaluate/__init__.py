"""The field's standard metrics and prediction-file readers.

* :mod:`~depthhand.evaluate.metrics`: per-joint errors, mean / median / per-joint error, success curves, AUC,
  :class:`EvalReport`, :func:`evaluate_xyz` (the entry point for any predicted + ground-truth xyz arrays);
* :mod:`~depthhand.evaluate.protocols`: per-dataset intrinsics, counts, subsets and ground-truth paths;
* :mod:`~depthhand.evaluate.results_io`: uvd text / JSON / NPZ joints files;
* :mod:`~depthhand.evaluate.report` and :mod:`~depthhand.evaluate.plot`: tables and figures (matplotlib is
  imported only when a figure is drawn);
* :mod:`~depthhand.evaluate.model`: a pose model over a dataset or synthetic crops;
* :mod:`~depthhand.evaluate.detector`, :mod:`~depthhand.evaluate.handedness`, :mod:`~depthhand.evaluate.touch`,
  :mod:`~depthhand.evaluate.live`: detector recall / precision, handedness accuracy, touch precision / recall and
  live pipeline accuracy (the ``@benchmark`` wrappers in :mod:`depthhand.bench` call these);
* :mod:`~depthhand.evaluate.real_labels`: the box labels of real frames.

Nothing here imports torch; ONNX Runtime, OpenCV, the renderer and the pipeline are imported inside the functions
that need them.
"""

from __future__ import annotations

from depthhand.evaluate.metrics import (
    DEFAULT_THRESHOLDS_MM,
    EvalReport,
    FrameRange,
    SuccessMode,
    auc,
    evaluate_xyz,
    joint_errors_mm,
    mean_error_mm,
    median_frame_mean_mm,
    per_joint_mean_mm,
    success_rate,
)
from depthhand.evaluate.protocols import PROTOCOLS, EvalProtocol, evaluate_protocol, get_protocol

__all__ = [
    "DEFAULT_THRESHOLDS_MM",
    "PROTOCOLS",
    "EvalProtocol",
    "EvalReport",
    "FrameRange",
    "SuccessMode",
    "auc",
    "evaluate_protocol",
    "evaluate_xyz",
    "get_protocol",
    "joint_errors_mm",
    "mean_error_mm",
    "median_frame_mean_mm",
    "per_joint_mean_mm",
    "success_rate",
]
