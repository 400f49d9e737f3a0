"""Pose backends on the shipped model: batch-1 latency alternating in one run, and bf16's and int8's accuracy drift.

* ``pose.backends``: the shipped ``depthhand_fast.onnx`` on each installed backend (2 threads, batch 1, real
  synthetic hand crops; the int8 copy on its one thread, and fp32 on one thread beside it), timed in alternating
  rounds with one model open at a time; ``auto`` says which backend it resolves to here.
* ``pipeline.backend``: ``pipeline.1hand``'s frames with ``pose_backend`` auto and onnxruntime, alternating.
* ``pose.bf16_drift``: held-out synthetic crops (the card's: seed 424242, scene ``i`` drawn with rng
  ``[424242, i]``, centre in the image) predicted by OpenVINO bf16 and by ONNX Runtime fp32; the mean per-joint
  shift between the two in mm and the change of the mean error against the truth.
* ``pose.int8_drift``: the same for the int8 copy (``depthhand quantize``) against fp32.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark


def _installed_backends(path: Any) -> list[str]:
    from depthhand.pose.backends import int8_status
    from depthhand.pose.cpu_features import openvino_installed

    names = ["onnxruntime", "openvino", "openvino-bf16"] if openvino_installed() else ["onnxruntime"]
    return names + (["onnxruntime-1thread", "onnxruntime-int8"] if int8_status(path) is None else [])


@benchmark("pose.backends", "shipped depthhand_fast per pose backend (2 threads, batch 1), alternating; auto's choice")
def bench_backends(quick: bool) -> BenchResult:
    """Median batch-1 network latency of each backend, rounds alternating between them."""
    from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
    from depthhand.pose.backends import open_backend, resolve_backend
    from depthhand.pose.cpu_features import cpu_has_bf16, cpu_has_vnni, cpu_runs_int8
    from depthhand.synth.crops import generate_crops

    path = shipped_weights(DEFAULT_POSE_MODEL)
    patches = generate_crops(8, np.random.default_rng(7), "topdown")[0][:, None]
    x1 = np.ascontiguousarray(patches[:1])
    names = _installed_backends(path)
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(3 if quick else 10):
        for n in names:  # one model open at a time: two OpenVINO models open at once slow each other down
            backend = open_backend(path, n.removesuffix("-1thread"), num_threads=1 if n.endswith("1thread") else 2)
            try:
                for _ in range(5):  # warm-up, not counted
                    backend.run(x1)
                for _ in range(10 if quick else 40):
                    t0 = time.perf_counter()
                    backend.run(x1)
                    times[n].append((time.perf_counter() - t0) * 1e3)
            finally:
                backend.close()
    details: dict[str, Any] = {f"{n}_batch1_ms": float(np.median(v)) for n, v in times.items()}
    details |= {f"{n}_p95_ms": float(np.percentile(v, 95)) for n, v in times.items()}
    if "openvino-bf16" in times:
        details["bf16_speedup"] = details["onnxruntime_batch1_ms"] / details["openvino-bf16_batch1_ms"]
    if "onnxruntime-int8" in times:
        details["int8_speedup"] = details["onnxruntime_batch1_ms"] / details["onnxruntime-int8_batch1_ms"]
        details["int8_speedup_1thread"] = (
            details["onnxruntime-1thread_batch1_ms"] / details["onnxruntime-int8_batch1_ms"]
        )
    auto = resolve_backend("auto", path=path)
    details |= {"cpu_has_bf16": cpu_has_bf16(), "cpu_has_vnni": cpu_has_vnni(), "cpu_runs_int8": cpu_runs_int8()}
    details |= {"auto": auto, "threads": 2}
    return BenchResult("pose.backends", details[f"{auto}_batch1_ms"], "ms", len(times[auto]), details)


def _drift(name: str, backend: str, quick: bool) -> BenchResult:
    from depthhand.evaluate.drift import backend_drift

    drift = backend_drift(backend, 100 if quick else 1000)
    details: dict[str, Any] = {}
    for scene, d in drift.items():
        details |= {f"{scene}_{k}": v for k, v in d.items()}
    worst = max(d["mean_shift_mm"] for d in drift.values())
    details["worst_abs_error_change_mm"] = max(abs(d["error_change_mm"]) for d in drift.values())
    return BenchResult(name, worst, "mm", sum(d["frames"] for d in drift.values()), details)


@benchmark(
    "pose.bf16_drift", "OpenVINO bf16 vs ONNX Runtime fp32 joints on the card's held-out crops (worst mean shift, mm)"
)
def bench_bf16_drift(quick: bool) -> BenchResult:
    """Mean joint shift, bf16 against fp32, over the held-out crops (the worst scene is the value)."""
    from depthhand.pose.cpu_features import openvino_installed

    if not openvino_installed():
        return BenchResult("pose.bf16_drift", float("nan"), "mm", 0, {"openvino": "not installed"})
    return _drift("pose.bf16_drift", "openvino-bf16", quick)


@benchmark(
    "pose.int8_drift", "ONNX Runtime int8 copy vs fp32 joints on the card's held-out crops (worst mean shift, mm)"
)
def bench_int8_drift(quick: bool) -> BenchResult:
    """Mean joint shift, the int8 copy against fp32, over the held-out crops (the worst scene is the value)."""
    from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
    from depthhand.pose.backends import int8_status

    problem = int8_status(shipped_weights(DEFAULT_POSE_MODEL))
    if problem is not None:
        return BenchResult("pose.int8_drift", float("nan"), "mm", 0, {"int8": problem})
    return _drift("pose.int8_drift", "onnxruntime-int8", quick)


@benchmark("pipeline.backend", "whole pipeline, one hand, pose backend auto vs onnxruntime, alternating (median ms)")
def bench_pipeline_backend(quick: bool) -> BenchResult:
    """``pipeline.1hand``'s frames (default detector period) with ``pose_backend`` auto against onnxruntime."""
    from depthhand.bench.pipeline import _live_frames, _run_block
    from depthhand.pipeline import HandPipeline, PipelineOptions

    frames = _live_frames(1, 20 if quick else 200, seed=101)
    names = ("onnxruntime", "auto")
    pipes = {n: HandPipeline(PipelineOptions(max_hands=1, num_threads=2, pose_backend=n)) for n in names}
    stages: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    joints: dict[str, list[np.ndarray]] = {n: [] for n in names}
    try:
        for pipe in pipes.values():  # warm-up, not counted
            _run_block(pipe, frames[:5], {}, [])
        for _ in range(2 if quick else 6):
            for n, pipe in pipes.items():
                _run_block(pipe, frames, stages[n], cpu[n])
        for n, pipe in pipes.items():  # one more pass for the joints (same frames, fresh state)
            pipe.reset()
            for frame, _truth in frames:
                joints[n].extend(h.pose.joints_xyz_mm for h in pipe.process(frame).hands)
        chosen = pipes["auto"].estimator.backend
    finally:
        for pipe in pipes.values():
            pipe.close()
    details: dict[str, Any] = {"frames": len(frames), "auto": chosen}
    for n in names:
        details |= {
            f"{n}_{k}_ms": float(np.median(v)) for k, v in stages[n].items() if k in ("total", "detect", "pose")
        }
        details[f"{n}_p95_ms"] = float(np.percentile(stages[n]["total"], 95))
        details[f"{n}_cpu_ms"] = float(np.median(cpu[n]))
    details["speedup_p50"] = details["onnxruntime_total_ms"] / details["auto_total_ms"]
    if len(joints["auto"]) == len(joints["onnxruntime"]) and joints["auto"]:
        shift = np.linalg.norm(np.array(joints["auto"]) - np.array(joints["onnxruntime"]), axis=-1)
        details["joint_shift_mean_mm"] = float(shift.mean())
    return BenchResult("pipeline.backend", details["auto_total_ms"], "ms", len(stages["auto"]["total"]), details)
