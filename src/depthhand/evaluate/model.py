"""Run an exported pose model over a dataset and score it with the standard metrics (``depthhand eval --model``).

Data:

* ``synth:@N?scenes=topdown&seed=S&noise=random&in_image=F&centre_in_image=B`` — ``N`` held-out synthetic crops
  per scene rendered in memory (use a seed the training data did not use); one report per scene. Crop centres are
  the palm centre plus the generator's detector-like jitter (σ 8 mm). By default every scene counts, including
  hands that are partly or wholly outside the camera image (about 16 % of top-down scenes: the arm reaches in over
  the image edge); ``in_image=1`` keeps only hands whose 21 joints all project inside the image, as in the public
  benchmarks' test frames; ``centre_in_image=1`` keeps, of the same crops, those whose centre projects inside the
  image — the only crops the pipeline cuts, since a detected centre is an image pixel (about 7 % of top-down crops
  are centred outside the image; none of the frontal or egocentric ones). Say which you report.
* any reader spec of :func:`depthhand.datasets.registry.open_dataset` (``nyu:DIR:test``, ``icvl:DIR:test``,
  ``msra:DIR:test3``, ...) — every frame, cropped at the dataset's centre file when the reader has one, else at the
  mean of the ground-truth joints (GT-seeded, as many papers do; say so when you report it).

Predictions in the model's joint set are mapped to the dataset's (``depthhand.skeleton.joint_mapping``); joints
that cannot be derived are left out of the score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.metrics import EvalReport, evaluate_xyz
from depthhand.skeleton import joint_mapping

F64 = npt.NDArray[np.float64]


def predict_synthetic_crops(
    estimator: Any,
    count: int,
    rng: np.random.Generator,
    scene: str,
    noise: str | None = "random",
    min_in_image: float = 0.0,
) -> tuple[F64, Any]:
    """Render ``count`` labelled crops of ``scene`` for the estimator's model and predict them (batches of 64).

    Returns:
        ``(pred_xyz_mm, meta)``: (N, J, 3) predicted joints in camera mm and the crops'
        :class:`depthhand.synth.crops.CropMeta` (true canonical joints, handedness, crops, intrinsics).
    """
    from depthhand.pose.decode import crop_output_to_xyz
    from depthhand.synth.crops import generate_crops

    info = estimator.info
    patches, _, meta = generate_crops(
        count, rng, scene, crop_size=info.input_size, cube_mm=estimator.cube_mm, noise=noise, min_in_image=min_in_image
    )
    raw = np.concatenate([estimator.predict_patches(patches[s : s + 64, None]) for s in range(0, count, 64)])
    pred = np.stack(
        [
            crop_output_to_xyz(o, info.output_space, c, k)
            for o, c, k in zip(raw, meta.crops, meta.intrinsics, strict=True)
        ]
    )
    return pred, meta


def _synth_reports(estimator: Any, rest: str, name: str, progress: bool) -> list[EvalReport]:
    from depthhand.synth.crops import parse_crops_spec

    spec = parse_crops_spec(rest, ("topdown", "frontal"), default_seed=12345)
    info = estimator.info
    view = f" (in_image>={spec.min_in_image:g})" if spec.min_in_image > 0 else ""
    view += " (centre in image)" if spec.centre_in_image else ""
    reports = []
    for i, scene in enumerate(spec.scenes):
        pred, meta = predict_synthetic_crops(
            estimator, spec.count, np.random.default_rng([spec.seed, i]), scene, spec.noise, spec.min_in_image
        )
        gt = meta.joints_xyz_mm
        if spec.centre_in_image:  # the same crops, less those the pipeline cannot cut
            keep = meta.centre_in_image()
            if not keep.any():
                raise ValueError(f"synth:{rest}: no {scene} crop has its centre in the image")
            pred, gt = pred[keep], gt[keep]
        if info.joint_set.name != "canonical21":
            gt = joint_mapping("canonical21", info.joint_set.name).apply(gt)
        reports.append(
            evaluate_xyz(
                pred, gt, f"{name} [{scene}]", dataset=f"synth-{scene}{view}", joint_names=info.joint_set.names
            )
        )
    return reports


def _reader_report(estimator: Any, spec: str, name: str, progress: bool) -> EvalReport:
    from tqdm import tqdm

    from depthhand.datasets.registry import open_dataset

    dataset = open_dataset(spec)
    info = estimator.info
    mapping = joint_mapping(info.joint_set.name, dataset.joint_set.name)
    preds, gts = [], []
    for sample in tqdm(dataset, total=len(dataset), desc=f"eval {spec}", disable=not progress):
        center = sample.center_xyz_mm
        if center is None:
            center = np.asarray(sample.pose.joints_xyz_mm, np.float64).mean(axis=0)
        pose = estimator.estimate(sample.frame, np.asarray(center)[None])[0]  # test-time views included
        preds.append(mapping.apply(pose.joints_xyz_mm))
        gts.append(np.asarray(sample.pose.joints_xyz_mm, np.float64))
    keep = [int(j) for j in np.flatnonzero(mapping.defined)]
    if not keep:
        raise ValueError(f"model joint set {info.joint_set.name} maps to none of {dataset.joint_set.name}'s joints")
    return evaluate_xyz(
        np.stack(preds), np.stack(gts), name, dataset=spec, joint_names=dataset.joint_set.names, joints=keep
    )


def evaluate_model(
    model_path: str | Path,
    data: str,
    progress: bool = True,
    threads: int = 2,
    tta_deg: float = 0.0,
    backend: str = "onnxruntime",
    tta_mirror: bool = False,
) -> list[EvalReport]:
    """Score an exported ``.onnx`` pose model on ``data`` (see the module docstring).

    ``tta_deg`` > 0 averages each hand over three views rotated by 0 and ±``tta_deg`` degrees
    (:mod:`depthhand.pose.tta`), and ``tta_mirror`` adds the mirror image of every view; ``backend`` is a
    :data:`depthhand.pose.backends.BACKENDS` name.

    Returns:
        One report per synthetic scene, or one for a dataset reader.
    """
    from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

    name = (
        Path(model_path).stem
        + (f"+tta{tta_deg:g}" if tta_deg else "")
        + ("+mirror" if tta_mirror else "")
        + ("" if backend == "onnxruntime" else f"@{backend}")
    )
    options = PoseEstimatorOptions(
        model_path, backend=backend, num_threads=threads, tta_deg=tta_deg, tta_mirror=tta_mirror
    )
    with PoseEstimator(options) as estimator:
        prefix, _, rest = data.partition(":")
        if prefix == "synth" and rest.startswith("@"):
            return _synth_reports(estimator, rest, name, progress)
        return [_reader_report(estimator, data, name, progress)]
