"""Training logs on rank 0: ``metrics.csv`` (always) and TensorBoard (when installed and asked for)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger"]


class MetricsLogger:
    """CSV (always) and TensorBoard (optional) logs on rank 0."""

    def __init__(self, out_dir: Path, tensorboard: bool) -> None:
        self.csv_path = out_dir / "metrics.csv"
        self.writer: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out_dir / "tb"))
            except ImportError:  # tensorboard missing: CSV only
                self.writer = None

    def log(self, row: dict[str, float]) -> None:
        """Append one epoch's row to ``metrics.csv`` (header on the first) and to TensorBoard."""
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch" and math.isfinite(v):
                    self.writer.add_scalar(k.replace("_", "/", 1), v, int(row["epoch"]))
            self.writer.flush()

    def close(self) -> None:
        """Close the TensorBoard writer."""
        if self.writer is not None:
            self.writer.close()
