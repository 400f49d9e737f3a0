"""Benchmarks of the standard evaluation (``depthhand bench eval``)."""

from __future__ import annotations

from depthhand.bench.core import BenchResult, benchmark, time_calls

_NYU_PRED = "eval/results/nyu/CVPR19_NYU_CrossInfoNet.txt"


@benchmark("eval.nyu", "load + evaluate the 8,252-frame NYU CrossInfoNet file (and evaluation alone)")
def bench_eval_nyu(quick: bool) -> BenchResult:
    """Time reading + converting + evaluating one NYU prediction file, and the evaluation alone.

    The ground truth is read once outside the timed region (a multi-method run reads it once). The shared data are
    located as ``depthhand eval`` does (``$DEPTHHAND_SHARED``, else ``../shared`` from the cwd).

    Raises:
        FileNotFoundError: If the shared evaluation files are absent.
    """
    from depthhand.evaluate.protocols import default_gt_path, evaluate_protocol, get_protocol, resolve_shared_dir
    from depthhand.evaluate.results_io import read_joints

    protocol = get_protocol("nyu")
    shared = resolve_shared_dir()
    pred_path = shared / "data" / _NYU_PRED
    if not pred_path.is_file():
        raise FileNotFoundError(
            f"eval.nyu needs {pred_path}; set $DEPTHHAND_SHARED to the folder holding data/eval (or run from a "
            "directory whose ../shared has it)"
        )
    n, j = protocol.num_frames, protocol.num_joints
    gt_xyz = read_joints(default_gt_path(protocol, shared), j, n).to_camera_xyz(protocol)

    def load_and_evaluate() -> float:
        pred_xyz = read_joints(pred_path, j, n).to_camera_xyz(protocol)
        return evaluate_protocol(protocol, pred_xyz, gt_xyz, "CrossInfoNet").mean_mm

    pred_xyz = read_joints(pred_path, j, n).to_camera_xyz(protocol)

    def evaluate_only() -> float:
        return evaluate_protocol(protocol, pred_xyz, gt_xyz, "CrossInfoNet").mean_mm

    repeat = 3 if quick else 20
    full = time_calls(load_and_evaluate, repeat, warmup=1)
    metrics = time_calls(evaluate_only, repeat * 5, warmup=2)
    return BenchResult(
        name="eval.nyu",
        value=full["median_ms"],
        unit="ms",
        samples=int(full["n"]),
        details={
            "load_eval_p95_ms": full["p95_ms"],
            "eval_only_median_ms": metrics["median_ms"],
            "eval_only_p95_ms": metrics["p95_ms"],
            "frames": n,
            "joints": j,
            "mean_mm": load_and_evaluate(),
        },
    )
