"""``depthhand eval``: evaluate prediction files against a dataset's test ground truth.

Example::

    depthhand eval --dataset nyu --pred CVPR19_NYU_CrossInfoNet.txt --pred CVPR18_NYU_V2V_PoseNet.txt \
        --plot nyu.png --json nyu.json

Prediction files are uvd text (one frame per line), or depthhand JSON / NPZ with ``joints_uvd`` or
``joints_xyz_mm``. The logic lives in :mod:`depthhand.evaluate`; running a pose model over a dataset will be a
separate entry (``--model``) feeding :func:`depthhand.evaluate.metrics.evaluate_xyz`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from depthhand.evaluate.protocols import EvalProtocol
    from depthhand.structures import CameraIntrinsics

NAME = "eval"
HELP = "Evaluate hand-pose predictions (uvd text, JSON or NPZ) on NYU, ICVL or MSRA: table, plot, JSON."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    from depthhand.commands._pipeline_args import add_pose_runtime_arguments

    parser.add_argument("--dataset", choices=("nyu", "icvl", "msra"), help="test protocol (with --pred)")
    parser.add_argument("--model", metavar="FILE.onnx", help="run this exported pose model over --data instead")
    add_pose_runtime_arguments(parser, prefix="with --model: ")
    parser.add_argument(
        "--data",
        metavar="SPEC",
        help="with --model: synth:@N?scenes=topdown,frontal&seed=S (held-out synthetic crops) or a reader spec "
        "(nyu:DIR:test, icvl:DIR:test, msra:DIR:test3, ...)",
    )
    parser.add_argument(
        "--pred", action="append", default=[], metavar="FILE", help="prediction file (repeatable; one row each)"
    )
    parser.add_argument("--gt", metavar="FILE", help="ground-truth file (default: the one in the shared folder)")
    parser.add_argument(
        "--shared",
        metavar="DIR",
        help="shared folder holding data/eval (default: $DEPTHHAND_SHARED, else ../shared from the cwd)",
    )
    parser.add_argument("--frames", metavar="FIRST:LAST", help="evaluate only these frames (1-based, inclusive)")
    parser.add_argument("--joints", metavar="J1,J2,...", help="evaluate only these joints (indices or names)")
    parser.add_argument("--plot", metavar="OUT.png", help="write success curves and per-joint bars here")
    parser.add_argument("--json", metavar="OUT.json", help="write the full reports here")
    parser.add_argument("--per-joint", action="store_true", help="also print per-joint mean errors")
    parser.add_argument(
        "--intrinsics",
        metavar="FX,FY,CX,CY",
        help="DIAGNOSTIC ONLY: override the protocol's intrinsics (results are not comparable)",
    )


def _parse_intrinsics(text: str, protocol: EvalProtocol) -> CameraIntrinsics:
    from depthhand.structures import CameraIntrinsics

    try:
        fx, fy, cx, cy = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--intrinsics must be FX,FY,CX,CY (four numbers), got {text!r}") from None
    k = protocol.intrinsics
    return CameraIntrinsics(fx, abs(fy), cx, cy, k.width, k.height)


def _parse_joints(text: str, protocol: EvalProtocol) -> list[int]:
    enum = protocol.joint_set.joints
    out = []
    for token in (t.strip() for t in text.split(",")):
        if token.lstrip("-").isdigit():
            out.append(int(token))
        elif token.upper() in enum.__members__:
            out.append(int(enum.__members__[token.upper()]))
        else:
            raise ValueError(f"--joints: unknown joint {token!r}; use indices or names from {list(enum.__members__)}")
    return out


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from pathlib import Path

    from depthhand.evaluate.metrics import FrameRange
    from depthhand.evaluate.protocols import default_gt_path, evaluate_protocol, get_protocol
    from depthhand.evaluate.report import format_per_joint, format_table, write_reports_json
    from depthhand.evaluate.results_io import read_joints

    if args.model:
        return _run_model(args)
    if not args.pred or not args.dataset:
        raise ValueError("give --dataset and at least one --pred FILE (or --model FILE.onnx --data SPEC)")
    protocol = get_protocol(args.dataset)
    if args.intrinsics:
        protocol = protocol.with_intrinsics(_parse_intrinsics(args.intrinsics, protocol))
    frames = FrameRange.parse(args.frames) if args.frames else None
    joints = _parse_joints(args.joints, protocol) if args.joints else None
    gt_path = Path(args.gt) if args.gt else default_gt_path(protocol, args.shared)
    n, j = protocol.num_frames, protocol.num_joints
    gt_xyz = read_joints(gt_path, j, n).to_camera_xyz(protocol)

    reports = []
    seen: set[str] = set()
    for pred_path in args.pred:
        pred = read_joints(pred_path, j, n)
        name = pred.name
        copy = 2
        while name in seen:
            name, copy = f"{pred.name} ({copy})", copy + 1
        seen.add(name)
        reports.append(
            evaluate_protocol(protocol, pred.to_camera_xyz(protocol), gt_xyz, name, frames=frames, joints=joints)
        )

    cam = protocol.intrinsics
    print(f"dataset {protocol.name}: N = {n} frames, J = {j} joints; ground truth {gt_path}")
    print(f"intrinsics fx={cam.fx:g} fy={cam.fy:g} cx={cam.cx:g} cy={cam.cy:g}; success = max joint error <= T")
    if protocol.intrinsics_overridden:
        print("WARNING: intrinsics overridden (diagnostic); these numbers are NOT comparable to published ones")
    if frames is not None or joints is not None:
        r = reports[0]
        joint_text = ", ".join(r.joint_names) if joints is not None else "all"
        print(f"subset: frames {r.frames}, joints {joint_text} (N = {r.num_frames}, J = {r.num_joints})")
    print(format_table(reports))
    if args.per_joint:
        print()
        print(format_per_joint(reports))
    if args.json:
        extra = {
            "dataset": protocol.name,
            "ground_truth": str(gt_path),
            "predictions": [str(p) for p in args.pred],
            "intrinsics": {"fx": cam.fx, "fy": cam.fy, "cx": cam.cx, "cy": cam.cy},
            "intrinsics_overridden": protocol.intrinsics_overridden,
        }
        print(f"wrote {write_reports_json(args.json, reports, extra)}")
    if args.plot:
        from depthhand.evaluate.plot import plot_reports

        print(f"wrote {plot_reports(reports, args.plot)}")
    return 0


def _run_model(args: argparse.Namespace) -> int:
    from depthhand.evaluate.model import evaluate_model
    from depthhand.evaluate.report import format_per_joint, format_table, write_reports_json

    if not args.data:
        raise ValueError("--model needs --data SPEC (e.g. synth:@1000?seed=99 or nyu:DIR:test)")
    reports = evaluate_model(
        args.model, args.data, tta_deg=args.tta_deg, backend=args.pose_backend, tta_mirror=args.tta_mirror
    )
    for r in reports:
        print(f"{r.name}: N = {r.num_frames} frames, J = {r.num_joints} joints")
    print(format_table(reports))
    if args.per_joint:
        print(format_per_joint(reports))
    if args.json:
        print(f"wrote {write_reports_json(args.json, reports, {'model': args.model, 'data': args.data})}")
    if args.plot:
        from depthhand.evaluate.plot import plot_reports

        print(f"wrote {plot_reports(reports, args.plot)}")
    return 0
