"""Plot validation error against training samples seen for several runs (one-off report script).

Usage: python scripts/plot_training_curves.py OUT.png LABEL=RUN_DIR[,RUN_DIR...] [LABEL=...] [--batch B]
       [--max-epochs N]

Each ``RUN_DIR`` holds the ``metrics.csv`` of ``depthhand train``; the directories after one label are the phases
of one model, concatenated in order; ``LABEL=+RUN_DIR[,...]`` continues the previous label's sample count (later
phases of the same model, drawn apart because they were validated on other crops). Prints, per label, the
validation error at every epoch end and the wall time.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _rows(dirs: list[Path]) -> list[dict[str, float]]:
    rows = []
    for d in dirs:
        with (d / "metrics.csv").open() as fh:
            rows += [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(fh)]
    return rows


def main() -> None:
    """Read the runs, draw the curves, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR[,RUN_DIR...]")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, help="plot only each run's first N epochs")
    parser.add_argument("--title", default="validation error during training (synthetic crops)")
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    total = 0.0
    for spec in args.runs:
        label, _, dirs = spec.partition("=")
        if not dirs.startswith("+"):
            total = 0.0
        rows = _rows([Path(d) for d in dirs.lstrip("+").split(",")])[: args.max_epochs]
        seen, err, wall, start = [], [], 0.0, total
        for r in rows:
            total += r["train_steps"] * args.batch
            wall += r.get("time_s", 0.0)
            seen.append(total / 1e3)
            err.append(r["val_mean_err_mm"])
        ax.plot(seen, err, marker=".", label=label)
        print(f"{label}: {len(rows)} epochs, {total - start:,.0f} samples, {wall / 60:.1f} min")
        print("  " + " ".join(f"{e:.2f}" for e in err))
    ax.set_xlabel("training samples seen (thousands)")
    ax.set_ylabel("validation mean 3-D error (mm)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(args.title)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
