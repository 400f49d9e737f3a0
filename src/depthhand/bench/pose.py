"""Pose-network benchmarks: ONNX Runtime latency / throughput of both models, the estimator, the data pipelines.

Models are exported with random weights to a temporary folder (speed does not depend on the weights).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark, time_calls


def _export(name: str, folder: Path) -> tuple[Path, dict[str, Any]]:
    import torch

    from depthhand.export.onnx import export_onnx
    from depthhand.models.complexity import count_macs, count_parameters
    from depthhand.models.registry import create_model

    torch.manual_seed(0)
    model = create_model(name).eval()
    stats = {"params_m": count_parameters(model) / 1e6, "gmac": count_macs(model) / 1e9}
    path = folder / f"{name}.onnx"
    export_onnx(model, path, check=False)
    return path, stats


def _onnx_speed(name: str, quick: bool) -> BenchResult:
    from depthhand.export.onnx import realistic_patches
    from depthhand.pose.backends import OnnxRuntimeBackend

    with tempfile.TemporaryDirectory() as tmp:
        path, stats = _export(name, Path(tmp))
        x1 = realistic_patches(np.random.default_rng(0), 1)
        x32 = realistic_patches(np.random.default_rng(1), 32)
        single = OnnxRuntimeBackend(path, num_threads=1)
        t1 = time_calls(lambda: single.run(x1), repeat=20 if quick else 200)
        single.close()
        backend = OnnxRuntimeBackend(path, num_threads=2, allow_spinning=True)
        b1 = time_calls(lambda: backend.run(x1), repeat=20 if quick else 200)
        b32 = time_calls(lambda: backend.run(x32), repeat=3 if quick else 20)
        backend.close()
        openvino = _openvino_speed(path, x1, x32, quick)
    return BenchResult(
        f"pose.{'fast' if name == 'depthhand_fast' else 'crossinfonet'}",
        b1["median_ms"],
        "ms",
        int(b1["n"]),
        {
            "batch1_p95_ms": b1["p95_ms"],
            "batch1_min_ms": b1["min_ms"],
            "batch1_1thread_ms": t1["median_ms"],
            "batch32_img_per_s": 32e3 / b32["median_ms"],
            "threads": 2,
            "runtime": "onnxruntime fp32",
            **stats,
            **openvino,
        },
    )


def _openvino_speed(path: Path, x1: np.ndarray, x32: np.ndarray, quick: bool) -> dict[str, Any]:
    """The same figures with the optional OpenVINO backend (fp32 and bf16, 2 threads), when it is installed.

    ``openvino_*_max_abs_diff``: largest |OpenVINO − ONNX Runtime fp32| over the batch of 32, normalised units;
    ``openvino_bf16_mean_abs_diff`` the mean (× cube/2 = mm). bf16 figures say which precision OpenVINO chose.
    """
    try:
        import openvino  # noqa: F401
    except ImportError:
        return {"openvino": "not installed"}
    from depthhand.pose.backends import OnnxRuntimeBackend, OpenVinoBackend

    ort = OnnxRuntimeBackend(path, num_threads=2)
    reference = ort.run(x32)
    ort.close()
    out: dict[str, Any] = {}
    for precision in ("f32", "bf16"):
        ov = OpenVinoBackend(path, num_threads=2, precision=precision)
        diff = np.abs(ov.run(x32) - reference)
        run = ov.run
        b1 = time_calls(lambda: run(x1), repeat=20 if quick else 200)  # noqa: B023  (called before the next view)
        b32 = time_calls(lambda: run(x32), repeat=3 if quick else 20)  # noqa: B023
        tag = "fp32" if precision == "f32" else "bf16"
        out |= {
            f"openvino_{tag}_batch1_ms": b1["median_ms"],
            f"openvino_{tag}_batch32_img_per_s": 32e3 / b32["median_ms"],
            f"openvino_{tag}_max_abs_diff": float(diff.max()),
        }
        if precision == "bf16":
            out |= {"openvino_bf16_mean_abs_diff": float(diff.mean()), "openvino_bf16_chosen": ov.precision}
        ov.close()
    return out


@benchmark("pose.fast", "depthhand_fast on ONNX Runtime (2 threads): batch-1 latency, batch-32 throughput")
def bench_fast(quick: bool) -> BenchResult:
    """Latency and throughput of depthhand_fast."""
    return _onnx_speed("depthhand_fast", quick)


@benchmark("pose.crossinfonet", "CrossInfoNet (NYU) on ONNX Runtime (2 threads): batch-1 latency, batch-32 throughput")
def bench_crossinfonet(quick: bool) -> BenchResult:
    """Latency and throughput of crossinfonet_nyu14."""
    return _onnx_speed("crossinfonet_nyu14", quick)


@dataclass(frozen=True)
class _Sample:
    frame: Any
    pose: Any
    center_xyz_mm: np.ndarray


def _synthetic_samples(count: int, seed: int = 0) -> list[_Sample]:
    """640×480 NYU-like frames: a wall at 1.2 m and a hand-sized blob with 21 joints around it."""
    from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz, xyz_to_uvd
    from depthhand.skeleton import CANONICAL21
    from depthhand.structures import DepthFrame, HandPose

    intr = INTRINSICS["nyu"]
    rng = np.random.default_rng(seed)
    vv, uu = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float32)
    out = []
    for _ in range(count):
        u0, v0, z0 = rng.uniform(200, 440), rng.uniform(150, 330), rng.uniform(450, 800)
        r = 60.0 * intr.fx / z0
        blob = ((uu - u0) ** 2 + (vv - v0) ** 2) < r**2
        depth = np.full((intr.height, intr.width), 1200.0, np.float32)
        depth[blob] = z0 + rng.normal(0, 2, int(blob.sum())).astype(np.float32)
        center = uvd_to_xyz(np.array([u0, v0, z0]), intr)
        joints = center + rng.normal(0, 40, (21, 3))
        uvd = xyz_to_uvd(joints, intr).astype(np.float32)
        out.append(_Sample(DepthFrame(depth, intr), HandPose(joints.astype(np.float32), uvd, CANONICAL21), center))
    return out


def _loader_throughput(name: str, dataset: Any, quick: bool) -> BenchResult:
    """Crops per second through a 2-worker DataLoader (worker start-up included) and one item's cost in-process."""
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=64, num_workers=2, shuffle=True)
    t0 = time.perf_counter()
    count = sum(int(batch["patch"].shape[0]) for batch in loader)
    elapsed = time.perf_counter() - t0
    single = time_calls(lambda: dataset[0], repeat=50 if quick else 300)
    return BenchResult(
        name,
        count / elapsed,
        "crops/s",
        count,
        {"workers": 2, "batch": 64, "per_item_ms_1proc": single["median_ms"], "incl_worker_startup": True},
    )


@benchmark("pose.data_pipeline", "augmented 96×96 training crops per second (DataLoader, 2 workers, 640×480 frames)")
def bench_data_pipeline(quick: bool) -> BenchResult:
    """Throughput of HandCropDataset with the CrossInfoNet augmentation and heat maps."""
    from depthhand.geometry.augment import AugmentRecipe
    from depthhand.skeleton import CANONICAL21
    from depthhand.train.data import HandCropDataset, SampleConfig

    frames = _synthetic_samples(16)
    n = 512 if quick else 4096
    samples = [frames[i % len(frames)] for i in range(n)]
    ds = HandCropDataset(samples, SampleConfig(CANONICAL21, recipe=AugmentRecipe(), heatmaps=True))
    return _loader_throughput("pose.data_pipeline", ds, quick)


@benchmark("pose.crop_pipeline", "pre-cut 96×96 crops augmented in the crop frame per second (DataLoader, 2 workers)")
def bench_crop_pipeline(quick: bool) -> BenchResult:
    """Throughput of CropArrayDataset (``--data crops:``) with the combined augmentation."""
    from depthhand.geometry.augment import AugmentRecipe
    from depthhand.train.data import CropArrayDataset

    rng = np.random.default_rng(0)
    n = 512 if quick else 8192
    hand = rng.random((n, 96, 96)) < 0.3
    patches = np.where(hand, rng.uniform(-0.5, 0.5, (n, 96, 96)), 1.0).astype(np.float32)
    joints = rng.uniform(-0.6, 0.6, (n, 21, 3)).astype(np.float32)
    ds = CropArrayDataset(patches, joints, joints, recipe=AugmentRecipe(rotation_max_deg=45.0, combine=True))
    return _loader_throughput("pose.crop_pipeline", ds, quick)


@benchmark("pose.estimator", "PoseEstimator end to end (crop + ONNX Runtime + uncrop), depthhand_fast, 1 and 2 hands")
def bench_estimator(quick: bool) -> BenchResult:
    """Frame → HandPose latency with the fast model."""
    from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

    sample = _synthetic_samples(1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = _export("depthhand_fast", Path(tmp))
        with PoseEstimator(PoseEstimatorOptions(path, num_threads=2, allow_spinning=True)) as est:
            one = time_calls(lambda: est.estimate(sample.frame, sample.center_xyz_mm), repeat=20 if quick else 200)
            two_centres = np.stack([sample.center_xyz_mm, sample.center_xyz_mm + [80.0, 0.0, 0.0]])
            two = time_calls(lambda: est.estimate(sample.frame, two_centres), repeat=10 if quick else 100)
    return BenchResult(
        "pose.estimator",
        one["median_ms"],
        "ms",
        int(one["n"]),
        {"p95_ms": one["p95_ms"], "two_hands_ms": two["median_ms"]},
    )
