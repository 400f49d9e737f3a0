"""Text tables and JSON files of :class:`~depthhand.evaluate.metrics.EvalReport` results."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from depthhand import atomic
from depthhand.evaluate.metrics import EvalReport

TABLE_THRESHOLDS_MM: tuple[float, ...] = (10.0, 20.0, 40.0)
"""Success thresholds shown in the table."""


def format_table(reports: Sequence[EvalReport]) -> str:
    """One row per method: N, J, mean and median error (mm), AUC 0–80, success at 10/20/40 mm, subset means.

    Subset columns (NYU halves, ICVL sequences) are the union of the reports' subsets; ``-`` where absent.
    """
    if not reports:
        return "(no results)"
    subset_names: list[str] = []
    for r in reports:
        subset_names.extend(s for s in r.subsets if s not in subset_names)
    header = ["method", "N", "J", "frames", "mean mm", "median mm", "AUC 0-80"]
    header += [f"<={t:g}mm" for t in TABLE_THRESHOLDS_MM]
    header += [f"{s} mm" for s in subset_names]
    rows = [header]
    for r in reports:
        row = [r.name, str(r.num_frames), str(r.num_joints), r.frames, f"{r.mean_mm:.3f}", f"{r.median_mm:.3f}"]
        row.append(f"{r.auc_0_80:.4f}")
        row += [_success_cell(r, t) for t in TABLE_THRESHOLDS_MM]
        row += [f"{r.subsets[s]:.3f}" if s in r.subsets else "-" for s in subset_names]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _success_cell(report: EvalReport, threshold_mm: float) -> str:
    try:
        return f"{report.success_at(threshold_mm):.4f}"
    except ValueError:
        return "-"


def format_per_joint(reports: Sequence[EvalReport]) -> str:
    """Per-joint mean errors (mm): one row per joint, one column per method."""
    if not reports:
        return "(no results)"
    names = reports[0].joint_names
    if any(r.joint_names != names for r in reports):
        raise ValueError("per-joint table needs reports over the same joints")
    width = max(len(n) for n in (*names, "joint"))
    cols = [max(len(r.name), 6) for r in reports]
    lines = ["joint".ljust(width) + "".join(f"  {r.name:>{c}s}" for r, c in zip(reports, cols, strict=True))]
    for j, n in enumerate(names):
        cells = "".join(f"  {r.per_joint_mm[j]:{c}.2f}" for r, c in zip(reports, cols, strict=True))
        lines.append(n.ljust(width) + cells)
    return "\n".join(lines)


def write_reports_json(
    path: str | os.PathLike[str], reports: Sequence[EvalReport], extra: Mapping[str, Any] | None = None
) -> Path:
    """Write the reports (and ``extra`` metadata such as intrinsics and file paths) as JSON, atomically."""
    p = Path(path)
    payload = {**(extra or {}), "reports": [r.to_dict() for r in reports]}
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(p, payload, indent=2)
    return p
