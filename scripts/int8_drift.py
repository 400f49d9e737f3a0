"""Measure what static int8 quantisation costs a shipped pose model (one-off report script; nothing imports it).

Usage: python scripts/int8_drift.py MODEL.onnx CROPS.npz [--calibrate N] [--count N]

Calibrates :func:`depthhand.export.onnx.quantize_onnx` (static, convolutions) on the first ``--calibrate`` crops of a
``depthhand synth --crops`` file, then runs fp32 and int8 on the next ``--count`` crops and prints the mean joint
shift between them and each one's mean 3-D error against the labels (uvd_crop error × cube/2, mm), with per-tensor
and per-channel weights. ONNX Runtime, 2 threads.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    """Quantise, run, compare, print."""
    import onnxruntime as ort

    from depthhand.export.onnx import quantize_onnx

    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("crops", type=Path)
    parser.add_argument("--calibrate", type=int, default=64)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    with np.load(args.crops) as data:
        end = args.calibrate + args.count
        patches = data["patches"][:end].astype(np.float32)[:, None]
        labels = data["joints_uvd_crop"][args.calibrate : end].astype(np.float64)
        half_cube = float(np.asarray(data["cube_mm"]).reshape(-1)[0]) / 2
    calibration, test = patches[: args.calibrate], patches[args.calibrate :]

    def run(path: str) -> np.ndarray:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        sess = ort.InferenceSession(path, opts)
        return np.concatenate([sess.run(["joints"], {"patch": test[i : i + 100]})[0] for i in range(0, len(test), 100)])

    def error_mm(pred: np.ndarray) -> float:
        return float(np.linalg.norm((pred - labels) * half_cube, axis=-1).mean())

    fp32 = run(str(args.model)).astype(np.float64)
    print(f"fp32: mean error {error_mm(fp32):.3f} mm on {len(test)} crops")
    for per_channel in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            dst = quantize_onnx(args.model, "static", calibration, Path(tmp) / "int8.onnx", per_channel=per_channel)
            int8 = run(str(dst)).astype(np.float64)
        shift = float(np.linalg.norm((int8 - fp32) * half_cube, axis=-1).mean())
        kind = "per-channel" if per_channel else "per-tensor"
        print(f"int8 static {kind}: joint shift {shift:.3f} mm, mean error {error_mm(int8):.3f} mm")


if __name__ == "__main__":
    main()
