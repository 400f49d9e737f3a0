"""Before → after table of two touch_stress_cached.py JSON outputs (one rule): markdown rows.

Usage: python scripts/touch_stress_compare.py BEFORE.json AFTER.json [RULE]
Cells: precision / recall / false touches per min / touch-down latency (frames) / position error (mm).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cell(v: dict) -> str:
    """One cell: P / R / false per min / latency / position error."""
    lat = "–" if v["down_latency_median_frames"] is None else f"{v['down_latency_median_frames']:g}"
    err = "–" if v["pos_err_median_mm"] is None else f"{v['pos_err_median_mm']:.1f}"
    return f"{v['precision']:.2f} / {v['recall']:.2f} / {v['false_per_min']:.1f} / {lat} / {err}"


def main() -> None:
    """Print the table."""
    a, b = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    rule = sys.argv[3] if len(sys.argv) > 3 else "fused"
    groups = [k.split(":")[0] for k in a if k.endswith(f":{rule}@truth")]
    order = [g for g in groups if "@" not in g and g != "all"] + [g for g in groups if "@" in g] + ["all"]
    print(f"| group | true contacts | {rule} `truth` before → after | {rule} `net9` before → after |")
    print("|---|---|---|---|")
    for g in order:
        cells = [f"{cell(a[f'{g}:{rule}@{pm}'])} → **{cell(b[f'{g}:{rule}@{pm}'])}**" for pm in ("truth", "net9")]
        print(f"| {g} | {a[f'{g}:{rule}@truth']['true_contacts']} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
