"""Classify every missed hand of the hard scenes on *training* frames (``hard_frame(case, i, seed=5150)``).

For each counted true hand the pipeline (image mode, today's defaults) does not match, the script asks, in order:

* ``born_wrong``: a born hand matches it by the protocol but was given to another true hand (d);
* ``born_off``: a born hand lies on it in the image (its palm centre within the true box) but is more than
  30 mm from the true centre and below IoU 0.5 (c); the 3-D and depth errors are printed;
* ``rejected``: a CNN candidate at the pipeline's threshold (0.3) matches it, but the birth rule refused it (b):
  its score, plausibility and unexplained fraction are printed;
* ``below_floor``: only a CNN candidate scoring in [0.05, 0.3) matches it (a, the CNN's floor);
* ``cand_off``: a candidate lies on it in the image but does not match (c, before birth);
* ``none``: no candidate near it at all (a).

Never run it on the held-out seed (170017). Usage::

    PYTHONPATH=src python scripts/diagnose_hard.py OUT.json [--cases held_object egocentric] [--per-case 40] \
        [--recenter 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from typing import Any

import numpy as np

TRAIN_SEED = 5150


def _match(center: np.ndarray, box: np.ndarray, f: Any, i: int) -> tuple[bool, float, float]:
    from depthhand.evaluate.detector import MATCH_CENTER_MM, MATCH_IOU, box_iou

    d = float(np.linalg.norm(center - f.center_xyz_mm[i]))
    iou = float(box_iou(box, f.boxes_xyxy[i]))
    return d <= MATCH_CENTER_MM or iou >= MATCH_IOU, d, iou


def _on_box(uv: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= uv[0] <= box[2] and box[1] <= uv[1] <= box[3])


def diagnose(cases: list[str], per_case: int, options: Any = None) -> list[dict[str, Any]]:
    """One row per counted true hand of the training frames of ``cases`` (module docstring)."""
    from depthhand.detect.cnn import CnnHandDetector
    from depthhand.evaluate.hard_set import hard_frame
    from depthhand.pipeline import HandPipeline, PipelineOptions, shipped_weights
    from depthhand.pose.verify import HandVerifier, plausibility
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import labelled_hands

    opts = dataclasses.replace(options or PipelineOptions(), mode="image")
    pipe = HandPipeline(opts)
    low = CnnHandDetector(shipped_weights("detector.onnx"), score_threshold=0.05, max_hands=4, threads=2)
    verifier = HandVerifier(pipe.estimator.cube_mm)
    rows: list[dict[str, Any]] = []
    for case in cases:
        for n in range(per_case):
            f = hard_frame(case, n, TRAIN_SEED)
            frame = DepthFrame(f.depth_mm.astype(np.float32), f.intrinsics, 0, "train", n)
            hands = pipe.process(frame).hands
            born = [h.box for h in hands if h.box is not None]
            cands = low.detect(frame)
            cands, poses, patches = pipe.finder.recentered(frame, cands, {})
            sig = verifier.signals(patches, poses, [c.center_xyz_mm for c in cands], frame.intrinsics)
            plaus = [plausibility(s) for s in sig]
            counted = labelled_hands(f)
            # the protocol's assignment of the born hands (best score first)
            used = np.zeros(len(counted), bool)
            owner: dict[int, int] = {}
            for j in np.argsort([-b.score for b in born]):
                best, best_d = -1, np.inf
                for i in range(len(counted)):
                    ok, d, _ = _match(born[j].center_xyz_mm, born[j].box_xyxy, f, i)
                    if not used[i] and ok and d < best_d:
                        best, best_d = i, d
                if best >= 0:
                    used[best] = True
                    owner[best] = int(j)
            for i in np.flatnonzero(counted):
                row: dict[str, Any] = {"case": case, "index": n, "family": f.family, "hand": int(i),
                                       "gt_uvd": [float(x) for x in _uvd(f, i)]}  # fmt: skip
                if i in owner:
                    row["cause"] = "found"
                elif any(_match(b.center_xyz_mm, b.box_xyxy, f, i)[0] for b in born):
                    row["cause"] = "born_wrong"
                elif any(_on_box(b.center_uvd, f.boxes_xyxy[i]) for b in born):
                    b = next(b for b in born if _on_box(b.center_uvd, f.boxes_xyxy[i]))
                    _, d, iou = _match(b.center_xyz_mm, b.box_xyxy, f, i)
                    row.update(cause="born_off", dist_mm=d, iou=iou,
                               dz_mm=float(b.center_xyz_mm[2] - f.center_xyz_mm[i][2]), score=b.score)  # fmt: skip
                else:
                    m = [(k, c) for k, c in enumerate(cands) if _match(c.center_xyz_mm, c.box_xyxy, f, i)[0]]
                    near = [(k, c) for k, c in enumerate(cands) if _on_box(c.center_uvd, f.boxes_xyxy[i])]
                    if m:
                        k, c = max(m, key=lambda kc: kc[1].score)
                        row.update(cause="rejected" if c.score >= 0.3 else "below_floor", score=c.score,
                                   plaus=plaus[k], unexplained=float(sig[k].unexplained),
                                   signals=[float(x) for x in sig[k].vector()], rank=k)  # fmt: skip
                    elif near:
                        k, c = max(near, key=lambda kc: kc[1].score)
                        _, d, iou = _match(c.center_xyz_mm, c.box_xyxy, f, i)
                        row.update(cause="cand_off", score=c.score, dist_mm=d, iou=iou, plaus=plaus[k],
                                   dz_mm=float(c.center_xyz_mm[2] - f.center_xyz_mm[i][2]))  # fmt: skip
                    else:
                        row["cause"] = "none"
                row["cands"] = [{"uvd": [float(x) for x in c.center_uvd], "box": [float(x) for x in c.box_xyxy],
                                 "score": c.score, "plaus": p} for c, p in zip(cands, plaus, strict=True)]  # fmt: skip
                row["born"] = [{"uvd": [float(x) for x in b.center_uvd], "box": [float(x) for x in b.box_xyxy],
                                "score": b.score} for b in born]  # fmt: skip
                rows.append(row)
            print(case, n, Counter(r["cause"] for r in rows if r["case"] == case), file=sys.stderr, flush=True)
    pipe.close()
    return rows


def _uvd(f: Any, i: int) -> np.ndarray:
    from depthhand.geometry.camera import xyz_to_uvd

    return np.asarray(xyz_to_uvd(f.center_xyz_mm[i : i + 1], f.intrinsics)[0])


def main() -> None:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--cases", nargs="+", default=["held_object", "egocentric", "arm_edges", "body_behind"])
    ap.add_argument("--per-case", type=int, default=40)
    ap.add_argument("--recenter", type=int, default=0, help="PipelineOptions.recenter (also for the candidates)")
    a = ap.parse_args()
    from depthhand.pipeline import PipelineOptions

    rows = diagnose(a.cases, a.per_case, PipelineOptions(recenter=a.recenter))
    with open(a.out, "w") as fh:
        json.dump(rows, fh, indent=1)
    for case in a.cases:
        c = Counter(r["cause"] for r in rows if r["case"] == case)
        print(case, sum(c.values()), dict(c.most_common()))


if __name__ == "__main__":
    main()
