"""``depthhand quantize``: write the int8 copy of an exported pose model that ``--pose-backend auto`` runs.

Example::

    depthhand quantize src/depthhand/weights/depthhand_fast.onnx

The logic lives in :mod:`depthhand.export.quantize` (needs the ``onnx`` package, the [train] extra).
"""

from __future__ import annotations

import argparse

NAME = "quantize"
HELP = "Write the int8 copy (<model>.int8.onnx) of an exported pose model, quantising only insensitive layers."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("model", metavar="MODEL.onnx", help="an exported pose model (depthhand export)")
    parser.add_argument("--out", help="target (default: MODEL.int8.onnx beside it, where auto looks)")
    parser.add_argument("--max-conv-shift-mm", type=float, default=0.6,
                        help="int8 for each convolution that alone moves joints by at most this (mean mm)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from tqdm import tqdm

    from depthhand.capture.base import require
    from depthhand.export.quantize import quantize_selective
    from depthhand.pose.backends import read_metadata

    require("onnx", "onnx", "train")  # ONNX Runtime's quantisation tools need it; the runtime does not
    read_metadata(args.model)  # a missing or unusable model is a one-line error before any work

    with tqdm(desc="convolutions measured", unit="conv") as bar:

        def step(line: str) -> None:
            bar.update()
            bar.set_postfix_str(line[-48:])

        report = quantize_selective(args.model, args.out, max_conv_shift_mm=args.max_conv_shift_mm, progress=step)
    for name, mm in report.sensitivity_mm.items():
        print(f"  {'int8 ' if name in report.quantized else 'float'} {mm:7.3f} mm  {name}")
    print(
        f"wrote {report.path}: {len(report.quantized)} of {len(report.sensitivity_mm)} convolutions in int8; "
        f"joints move {report.shift_mm:.3f} mm on average (p99 {report.p99_shift_mm:.2f} mm) on the measurement crops"
    )
    return 0
