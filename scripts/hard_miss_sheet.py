"""A contact sheet of missed hands on the *training* hard scenes, from ``scripts/diagnose_hard.py``'s output.

Each tile is the depth around one missed true hand (near = bright), with its true box and palm centre (green),
every CNN candidate ≥ 0.05 (red box, its centre dot; the label is score / plausibility) and the pipeline's born
hands (blue). Usage::

    PYTHONPATH=src python scripts/hard_miss_sheet.py DIAG.json OUT.png [--cases held_object egocentric] [--tiles 12]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

TILE = 200


def _tile(row: dict[str, Any], seed: int) -> np.ndarray:
    import cv2

    from depthhand.evaluate.hard_set import hard_frame

    f = hard_frame(row["case"], row["index"], seed)
    d = f.depth_mm.astype(np.float32)
    box = f.boxes_xyxy[row["hand"]]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * 0.9 + 10
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(d.shape[1], cx + half)), int(min(d.shape[0], cy + half))
    crop = d[y0:y1, x0:x1]
    valid = crop > 0
    img = np.zeros(crop.shape, np.uint8)
    if valid.any():
        lo, hi = np.percentile(crop[valid], [2, 98])
        img[valid] = np.clip(255 - (crop[valid] - lo) / max(hi - lo, 1) * 205, 50, 255).astype(np.uint8)
    s = TILE / max(crop.shape)
    img = cv2.resize(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), (int(crop.shape[1] * s), int(crop.shape[0] * s)))

    def pt(u: float, v: float) -> tuple[int, int]:
        return int((u - x0) * s), int((v - y0) * s)

    cv2.rectangle(img, pt(box[0], box[1]), pt(box[2], box[3]), (0, 200, 0), 1)
    cv2.circle(img, pt(*row["gt_uvd"][:2]), 3, (0, 200, 0), -1)
    for c in row["cands"]:
        b = c["box"]
        cv2.rectangle(img, pt(b[0], b[1]), pt(b[2], b[3]), (0, 0, 230), 1)
        cv2.circle(img, pt(*c["uvd"][:2]), 3, (0, 0, 230), -1)
        cv2.putText(img, f"{c['score']:.2f}/{c['plaus']:.2f}", pt(c["uvd"][0] + 3, c["uvd"][1] - 3),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 255), 1)  # fmt: skip
    for b in row["born"]:
        cv2.circle(img, pt(*b["uvd"][:2]), 4, (230, 80, 0), 1)
    out = np.full((TILE + 14, TILE, 3), 255, np.uint8)
    out[: img.shape[0], : img.shape[1]] = img
    cv2.putText(out, f"{row['case'][:8]} {row['index']} {row['cause']}", (2, TILE + 11), cv2.FONT_HERSHEY_SIMPLEX,
                0.35, (0, 0, 0), 1)  # fmt: skip
    return out


def main() -> None:
    """Command line (module docstring)."""
    import cv2

    ap = argparse.ArgumentParser()
    ap.add_argument("diag")
    ap.add_argument("out")
    ap.add_argument("--cases", nargs="+", default=["held_object", "egocentric"])
    ap.add_argument("--tiles", type=int, default=12)
    ap.add_argument("--seed", type=int, default=5150)
    a = ap.parse_args()
    with open(a.diag) as fh:
        diag = json.load(fh)
    rows = [r for r in diag if r["case"] in a.cases and r["cause"] != "found"][: a.tiles]
    tiles = [_tile(r, a.seed) for r in rows]
    while len(tiles) % 4:
        tiles.append(np.full_like(tiles[0], 255))
    sheet = np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)])
    cv2.imwrite(a.out, sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(a.out, sheet.shape, len(rows), "misses")


if __name__ == "__main__":
    main()
