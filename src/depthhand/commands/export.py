"""``depthhand export``: a checkpoint or a registry model → ONNX, checked against ONNX Runtime."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "Export a pose network to ONNX (with metadata) and check ONNX Runtime against PyTorch; optional int8."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a training checkpoint (last.pt / best.pt)")
    src.add_argument("--model", help="a registry model name (random weights; for benchmarks and tests)")
    parser.add_argument("--joint-set", help="output skeleton for --model depthhand_fast")
    parser.add_argument("--out", required=True, help="target .onnx file")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max |ORT − PyTorch| in normalised units")
    parser.add_argument("--int8", choices=("dynamic", "static"), action="append", default=[],
                        help="also write an int8 copy: dynamic (FC layers) or static (convolutions)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.export.onnx import export_onnx, quantization_drift, quantize_onnx
    from depthhand.models.registry import create_model
    from depthhand.train.checkpoint import model_from_checkpoint

    if args.checkpoint:
        model, _ = model_from_checkpoint(args.checkpoint)
    else:
        model = create_model(args.model, **({"joint_set": args.joint_set} if args.joint_set else {}))
    report = export_onnx(model, args.out, opset=args.opset, tolerance=args.tolerance)
    print(f"wrote {report.path}")
    for k, v in report.metadata.items():
        print(f"  {k} = {v}")
    print("  parity |ORT − PyTorch| max: " + ", ".join(f"{k} {v:.2e}" for k, v in report.max_abs_diff.items()))
    for mode in args.int8:
        path = quantize_onnx(report.path, mode)
        drift = quantization_drift(report.path, path)
        print(f"wrote {path}: drift max {drift['max_abs_diff']:.2e}, mean joint shift {drift['mean_joint_mm']:.3f} mm")
    return 0
