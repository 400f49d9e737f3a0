from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions
from depthhand.skeleton import CANONICAL21


def _raw(path, patches):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["joints"], {"patch": patches})[0].astype(np.float64)


def _patches(frame, centers, cube=250.0):
    crops = [make_crop(c, cube, frame.intrinsics, 96) for c in centers]
    return np.stack([crop_depth(frame.depth_mm, c)[None] for c in crops]), crops


def test_round_trip_uvd_crop(fast_model_path, two_hand_frame):
    frame, centers = two_hand_frame
    with PoseEstimator.create_from_model_path(fast_model_path) as est:
        assert est.info.joint_set is CANONICAL21 and est.info.output_space == "uvd_crop"
        poses = est.estimate(frame, centers)
    assert len(poses) == 2
    patches, crops = _patches(frame, centers)
    raw = _raw(fast_model_path, patches)
    intr = frame.intrinsics
    for pose, out, crop in zip(poses, raw, crops, strict=True):
        # Independent uncrop: normalised crop uvd -> crop px -> image px (inverse affine) -> pinhole.
        a = crop.image_to_crop
        u = (out[:, 0] * 48 + 47.5 - a[0, 2]) / a[0, 0]
        v = (out[:, 1] * 48 + 47.5 - a[1, 2]) / a[1, 1]
        d = out[:, 2] * 125 + crop.center_xyz_mm[2]
        xyz = np.stack([(u - intr.cx) * d / intr.fx, (v - intr.cy) * d / intr.fy, d], axis=-1)
        np.testing.assert_allclose(pose.joints_xyz_mm, xyz, atol=1e-3)
        np.testing.assert_allclose(pose.joints_uvd, np.stack([u, v, d], -1), atol=1e-3)
        assert pose.joint_set is CANONICAL21


def test_joints_beyond_the_image_edge_are_not_visible():
    from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
    from depthhand.structures import DepthFrame
    from depthhand.synth.crops import joints_in_image
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng(21)
    scene = next(
        s
        for s in (sample_scene("topdown", rng) for _ in range(200))  # a hand reaching in over the edge
        if 0.4 <= joints_in_image(s.geometries[0].joints_xyz_mm, s.intrinsics) <= 0.8
    )
    sample = render_scene(scene, rng, noise=None)
    frame = DepthFrame(sample.depth_mm, sample.intrinsics)
    with PoseEstimator.create_from_model_path(shipped_weights(DEFAULT_POSE_MODEL)) as est:
        (pose,) = est.estimate(frame, sample.center_xyz_mm[:1])
    u, v, d = pose.joints_uvd.astype(np.float64).T
    w, h = frame.intrinsics.width, frame.intrinsics.height
    inside = (d > 0) & (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)
    assert inside.any() and not inside.all()  # the case under test: predicted joints on both sides of the edge
    np.testing.assert_array_equal(pose.visible, inside)
    assert pose.to_dict()["visible"] == inside.tolist()


def test_round_trip_xyz_crop(fast_model_path, two_hand_frame, tmp_path):
    # The same network declared as xyz_crop: the estimator must uncrop with xyz·cube/2 + centre.
    proto = onnx.load(str(fast_model_path))
    for p in proto.metadata_props:
        if p.key == "depthhand.output_space":
            p.value = "xyz_crop"
        if p.key == "depthhand.cube_mm":
            p.value = "200"
    path = tmp_path / "xyz.onnx"
    onnx.save(proto, str(path))
    frame, centers = two_hand_frame
    with PoseEstimator(PoseEstimatorOptions(path, num_threads=1)) as est:
        assert est.cube_mm == 200.0
        poses = est.estimate(frame, centers)
    patches, _ = _patches(frame, centers, cube=200.0)
    raw = _raw(path, patches)
    for pose, out, c in zip(poses, raw, centers, strict=True):
        np.testing.assert_allclose(pose.joints_xyz_mm, out * 100.0 + c, atol=1e-3)


def test_batches_all_hands_in_one_call(fast_model_path, two_hand_frame):
    frame, centers = two_hand_frame
    est = PoseEstimator.create_from_model_path(fast_model_path)
    calls = []
    backend = est._backend
    original = backend.run
    backend.run = lambda x: (calls.append(x.shape), original(x))[1]
    est.estimate(frame, centers)
    assert calls == [(2, 1, 96, 96)]
    assert est.estimate(frame, np.zeros((0, 3))) == []
    single = est.estimate(frame, centers[0])
    assert len(single) == 1
    est.close()
    with pytest.raises(ValueError, match="closed"):
        est.estimate(frame, centers)


def test_bad_model_files(tmp_path, fast_model_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PoseEstimator.create_from_model_path(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="could not be loaded"):
        PoseEstimator.create_from_model_path(bad)
    proto = onnx.load(str(fast_model_path))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    with pytest.raises(ValueError, match="metadata"):
        PoseEstimator.create_from_model_path(bare)
    with pytest.raises(ValueError, match="backend"):
        PoseEstimator(PoseEstimatorOptions(fast_model_path, backend="tensorrt"))


def test_bad_centre(fast_model_path, two_hand_frame):
    frame, _ = two_hand_frame
    with PoseEstimator.create_from_model_path(fast_model_path) as est, pytest.raises(ValueError, match="center"):
        est.estimate(frame, [[0.0, 0.0, -5.0]])


def test_runtime_path_does_not_import_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import depthhand.pose.estimator, depthhand.pose.backends, depthhand.pose.decode\n"
        "print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
