"""``depthhand eval --model``: an exported model run over synthetic crops and over a dataset reader."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.datasets.registry import open_dataset
from depthhand.evaluate.model import evaluate_model
from depthhand.pipeline import shipped_weights
from depthhand.pose.estimator import PoseEstimator
from depthhand.skeleton import joint_mapping
from tests.datasets.test_icvl import icvl_root  # noqa: F401  (fixture)


def test_synthetic_crops_give_one_report_per_scene() -> None:
    reports = evaluate_model(
        shipped_weights("depthhand_fast.onnx"), "synth:@8?scenes=topdown,frontal&seed=77", progress=False, threads=1
    )
    assert [r.name.split("[")[-1] for r in reports] == ["topdown]", "frontal]"]
    assert all(r.num_frames == 8 and r.num_joints == 21 for r in reports)
    assert all(np.isfinite(r.mean_mm) for r in reports)


def test_in_view_protocol_scores_the_same_crops_as_a_direct_run() -> None:
    from depthhand.evaluate.model import predict_synthetic_crops
    from depthhand.pose.estimator import PoseEstimatorOptions

    model = shipped_weights("depthhand_fast.onnx")
    (report,) = evaluate_model(model, "synth:@6?scenes=topdown&seed=5&in_image=1", progress=False, threads=1)
    assert "in_image>=1" in report.dataset
    with PoseEstimator(PoseEstimatorOptions(model, num_threads=1)) as est:
        pred, meta = predict_synthetic_crops(est, 6, np.random.default_rng([5, 0]), "topdown", min_in_image=1.0)
    assert np.all(meta.in_image == 1.0)
    errors = np.linalg.norm(pred - meta.joints_xyz_mm, axis=-1)
    assert report.mean_mm == pytest.approx(float(errors.mean()), abs=1e-6)


def test_centre_in_image_protocol_scores_the_same_crops_less_those_centred_off_the_image() -> None:
    from depthhand.evaluate.model import predict_synthetic_crops
    from depthhand.pose.estimator import PoseEstimatorOptions

    model = shipped_weights("depthhand_fast.onnx")
    spec = "synth:@8?scenes=topdown&seed=2"  # seed 2: one of its 8 top-down crops is centred off the image
    (every,) = evaluate_model(model, spec, progress=False, threads=1)
    (served,) = evaluate_model(model, spec + "&centre_in_image=1", progress=False, threads=1)
    assert "centre in image" in served.dataset and "centre in image" not in every.dataset
    with PoseEstimator(PoseEstimatorOptions(model, num_threads=1)) as est:
        pred, meta = predict_synthetic_crops(est, 8, np.random.default_rng([2, 0]), "topdown")
    # independent projection of each crop centre: pixel (fx x/z + cx, fy y/z + cy) inside the image's pixel area
    keep = []
    for c, k in zip(meta.center_xyz_mm, meta.intrinsics, strict=True):
        u, v = k.fx * c[0] / c[2] + k.cx, k.fy * c[1] / c[2] + k.cy
        keep.append(c[2] > 0 and -0.5 <= u < k.width - 0.5 and -0.5 <= v < k.height - 0.5)
    keep_a = np.array(keep)
    assert 0 < keep_a.sum() < 8  # the spec above has crops of both kinds
    assert every.num_frames == 8 and served.num_frames == keep_a.sum()
    errors = np.linalg.norm(pred - meta.joints_xyz_mm, axis=-1)
    assert served.mean_mm == pytest.approx(float(errors[keep_a].mean()), abs=1e-6)
    assert every.mean_mm == pytest.approx(float(errors.mean()), abs=1e-6)


def test_reader_spec_matches_a_direct_computation(icvl_root) -> None:  # noqa: F811
    root, _ = icvl_root
    model = shipped_weights("depthhand_fast.onnx")
    (report,) = evaluate_model(model, f"icvl:{root}:test", progress=False, threads=1)
    dataset = open_dataset(f"icvl:{root}:test")
    assert report.num_frames == len(dataset) and report.num_joints == 16
    # independent route: estimator on each frame at the GT mean, canonical -> ICVL mapping, float64 norms
    errors = []
    with PoseEstimator.create_from_model_path(model) as est:
        m = joint_mapping("canonical21", "icvl16")
        for s in dataset:
            pose = est.estimate(s.frame, np.asarray(s.pose.joints_xyz_mm, np.float64).mean(0)[None])[0]
            errors.append(np.linalg.norm(m.apply(pose.joints_xyz_mm) - s.pose.joints_xyz_mm, axis=-1))
    assert report.mean_mm == pytest.approx(float(np.mean(errors)), abs=1e-3)


def test_bad_specs() -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        evaluate_model(shipped_weights("depthhand_fast.onnx"), "synth:@4?colour=red", progress=False)
    with pytest.raises(ValueError, match="unknown scene"):
        evaluate_model(shipped_weights("depthhand_fast.onnx"), "synth:@4?scenes=kitchen", progress=False)
