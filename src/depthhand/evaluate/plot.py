"""Figures of evaluation results: success-rate curves and per-joint mean errors (matplotlib, Agg canvas).

matplotlib is imported inside :func:`plot_reports` (the ``[viz]`` extra); importing this module is free.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from depthhand import atomic
from depthhand.evaluate.metrics import EvalReport


def plot_reports(reports: Sequence[EvalReport], out_path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Draw success-rate curves (max-frame, ``<=`` T) and grouped per-joint mean-error bars into one PNG.

    Args:
        reports: Results of several methods on the same joints (as in one ``depthhand eval`` run).
        out_path: PNG file to write (atomically).
        title: Figure title (default: dataset, N and J).

    Returns:
        The path written.

    Raises:
        ValueError: If ``reports`` is empty or the reports cover different joints.
    """
    if not reports:
        raise ValueError("plot_reports needs at least one report")
    names = reports[0].joint_names
    if any(r.joint_names != names for r in reports):
        raise ValueError("all reports must cover the same joints to share a per-joint plot")

    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot's global state is untouched

    fig = Figure(figsize=(14, 5.5), layout="constrained")
    ax_curve, ax_bars = fig.subplots(1, 2, width_ratios=(1.0, 1.6))
    for r in reports:
        label = f"{r.name} ({r.mean_mm:.2f} mm, AUC {r.auc_0_80:.3f})"
        ax_curve.plot(r.thresholds_mm, np.asarray(r.success) * 100.0, label=label, linewidth=1.6)
    ax_curve.set_xlabel("maximum allowed distance to GT T (mm)")
    ax_curve.set_ylabel("frames with max joint error <= T (%)")
    ax_curve.set_xlim(min(reports[0].thresholds_mm), max(reports[0].thresholds_mm))
    ax_curve.set_ylim(0, 100)
    ax_curve.grid(True, alpha=0.3)
    ax_curve.legend(fontsize=8, loc="lower right")
    ax_curve.set_title("success rate")

    num_joints = len(names)
    x = np.arange(num_joints + 1, dtype=np.float64)
    width = 0.8 / len(reports)
    for k, r in enumerate(reports):
        values = [*r.per_joint_mm, r.mean_mm]
        ax_bars.bar(x + (k - (len(reports) - 1) / 2) * width, values, width=width, label=r.name)
    ax_bars.set_xticks(x, [*names, "MEAN"], rotation=60, ha="right", fontsize=8)
    ax_bars.set_ylabel("mean error (mm)")
    ax_bars.grid(True, axis="y", alpha=0.3)
    ax_bars.legend(fontsize=8)
    ax_bars.set_title("per-joint mean error")

    r0 = reports[0]
    frames = "" if r0.frames == "all" else f", frames {r0.frames}"
    fig.suptitle(title or f"{r0.dataset or 'evaluation'}: N = {r0.num_frames}, J = {r0.num_joints}{frames}")

    p = Path(out_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_open(p, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return p
