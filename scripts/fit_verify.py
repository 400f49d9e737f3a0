"""Fit the pose-stage verification (``depthhand.pose.verify``) on synthetic *training* scenes; print the figures.

Training frames (never a held-out set): hard scenes ``hard_frame(case, i, seed=5150)`` (the held-out hard set is
seed 170017, the detector's training streams ``[4000, 9000 + case, i]``), and standard top-down / frontal scenes from
``default_rng(5151)`` / ``default_rng(5152)`` (the accuracy benchmarks use 2024, the detector evaluation 987654).
Every frame runs the shipped CNN detector (threshold 0.2, up to 2 hands) and the pose network; each candidate gets
its verification signals and a label (the detector protocol's match to a counted hand, a false hand, or neither).

``fit`` prints the weights (paste them into ``DEFAULT_WEIGHTS``) and recall / false hands per frame, overall and per
scene group, of a grid of birth rules ``box >= 0.5 & plausibility >= a | box >= low & plausibility >= b`` (the
plausibility with the veto, as :func:`depthhand.pose.verify.plausibility` computes it). The shipped rule
(``TrackerConfig``) is the one with the highest two-fold recall whose false hands per frame in the ``topdown`` and
``frontal`` groups are not above those of ``box >= 0.5`` alone (the standard scenes must not regress).

Usage::

    PYTHONPATH=src python scripts/fit_verify.py collect OUT.pkl [--per-case 40] [--standard 150] [--recenter 1]
    PYTHONPATH=src python scripts/fit_verify.py fit OUT.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from typing import Any

import numpy as np

HARD_TRAIN_SEED = 5150
STANDARD_SEEDS = {"topdown": 5151, "frontal": 5152}


def _frames(per_case: int, standard: int) -> Any:
    from depthhand.evaluate.hard_set import hard_frame
    from depthhand.synth.hard_scenes import HARD_CASES
    from depthhand.synth.scenes import render_scene, sample_scene

    for case in HARD_CASES:
        for i in range(per_case):
            yield case, hard_frame(case, i, HARD_TRAIN_SEED)
    for scene, seed in STANDARD_SEEDS.items():
        rng = np.random.default_rng(seed)
        for _ in range(standard):
            yield scene, render_scene(sample_scene(scene, rng, n_hands=1), rng)


def collect(out: str, per_case: int, standard: int, recenter: int = 0) -> None:
    """Every training candidate's signals, box score and label, pickled to ``out``.

    With ``recenter`` > 0 each candidate's crop is first re-centred on its pose's palm that many times, as
    ``PipelineOptions.recenter`` does (the label then matches the re-centred centre).
    """
    from depthhand.detect.cnn import CnnHandDetector
    from depthhand.evaluate.detector import MATCH_CENTER_MM, MATCH_IOU, box_iou
    from depthhand.pipeline import HandPipeline, PipelineOptions, shipped_weights
    from depthhand.pose.verify import HandVerifier
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import labelled_hands

    pipe = HandPipeline(PipelineOptions(mode="image", recenter=recenter))
    pipe.detector = CnnHandDetector(shipped_weights("detector.onnx"), score_threshold=0.2, max_hands=2, threads=2)
    verifier = HandVerifier(pipe.estimator.cube_mm)
    rows: list[dict[str, Any]] = []
    t_verify: list[float] = []
    frames: list[tuple[str, int]] = []
    for n, (group, f) in enumerate(_frames(per_case, standard)):
        frame = DepthFrame(f.depth_mm.astype(np.float32), f.intrinsics, 0, "train", n)
        boxes = pipe.detector.detect(frame)
        boxes, poses, patches = pipe.finder.recentered(frame, boxes, {})
        centers = np.array([b.center_xyz_mm for b in boxes]).reshape(-1, 3)
        t0 = time.perf_counter()
        sig = verifier.signals(patches, poses, centers, frame.intrinsics)
        if boxes:
            t_verify.append((time.perf_counter() - t0) / len(boxes) * 1e6)
        counted = labelled_hands(f)
        frames.append((group, int(counted.sum())))
        used = np.zeros(len(counted), bool)
        for j in np.argsort([-b.score for b in boxes]):
            det = boxes[j]
            best, best_d = -1, np.inf
            for i in range(len(counted)):
                if used[i]:
                    continue
                dist = float(np.linalg.norm(det.center_xyz_mm - f.center_xyz_mm[i]))
                if (dist <= MATCH_CENTER_MM or box_iou(det.box_xyxy, f.boxes_xyxy[i]) >= MATCH_IOU) and dist < best_d:
                    best, best_d = i, dist
            label = 0 if best < 0 else (1 if counted[best] else -1)
            if best >= 0:
                used[best] = True
            gt_mm = np.linalg.norm(f.center_xyz_mm - det.center_xyz_mm, axis=-1) if len(counted) else np.zeros(0)
            rows.append({"frame": n, "group": group, "score": det.score, "label": label, "truth": best,
                         "signals": sig[j].vector(), "center": det.center_xyz_mm,
                         "palm": poses[j].joints_xyz_mm[list(poses[j].joint_set.palm)].mean(axis=0),
                         "gt_mm": float(gt_mm.min()) if gt_mm.size else np.inf})  # fmt: skip
        if n % 50 == 0:
            print(n, len(rows), f"{np.median(t_verify) if t_verify else 0:.0f} us/hand", file=sys.stderr)
    with open(out, "wb") as fh:
        pickle.dump({"rows": rows, "frames": frames, "t_verify_us": t_verify}, fh)
    print(f"{len(rows)} candidates; verification median {np.median(t_verify):.0f} us per hand")


SIGNS = (1, -1, -1, 0, 1, 0, -1, -1, -1, -1)
"""The sign each signal's weight must have (SIGNAL_NAMES order; 0 = left out): more joints on the hand and bones
in range are more hand-like; joints off the surface, a crop-filling blob, unexplained points, residual and free-space
violations less. The offset and the area have no monotone meaning and are left out (unconstrained weights fitted
to them extrapolate badly: a wall crop scored as a hand)."""


def _logistic(z: np.ndarray, y: np.ndarray, lam: float = 1.0) -> np.ndarray:
    """Weights and bias (last) of an L2-regularised logistic regression with the weights' signs of :data:`SIGNS`.

    Newton steps; a weight that takes the wrong sign is fixed at 0 and the rest refitted (active set).
    """
    free = np.array([sg != 0 for sg in SIGNS] + [True])
    while True:
        a = np.c_[z, np.ones(len(z))][:, free]
        w = np.zeros(a.shape[1])
        reg = lam * np.eye(len(w))
        reg[-1, -1] = 0.0
        for _ in range(50):
            p = 1 / (1 + np.exp(-a @ w))
            h = a.T @ (a * (p * (1 - p))[:, None]) + reg
            w -= np.linalg.solve(h, a.T @ (p - y) + reg @ w)
        full = np.zeros(len(free))
        full[free] = w
        wrong = [i for i, sg in enumerate(SIGNS) if free[i] and sg * full[i] < 0]
        if not wrong:
            return full
        free[wrong[int(np.argmax([abs(full[i]) for i in wrong]))]] = False


def _auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _rule_table(rows: list[dict[str, Any]], frames: list[tuple[str, int]], keep: np.ndarray, name: str) -> None:
    groups = sorted({g for g, _ in frames})
    y = np.array([r["label"] for r in rows])
    g = np.array([r["group"] for r in rows])
    nf = {k: sum(1 for gg, _ in frames if gg == k) for k in groups}
    ngt = {k: sum(n for gg, n in frames if gg == k) for k in groups}
    cells = []
    for k in groups:
        m = (g == k) & keep
        rec = (m & (y == 1)).sum() / max(1, ngt[k])
        cells.append(f"{k[:10]} {rec:.2f}/{(m & (y == 0)).sum() / nf[k]:.3f}")
    tp, fp = (keep & (y == 1)).sum(), (keep & (y == 0)).sum()
    print(f"{name}: recall {tp / sum(ngt.values()):.3f}, false/frame {fp / len(frames):.3f} | " + "  ".join(cells))


def fit(path: str) -> None:
    """Fit the weights on :func:`collect`'s candidates and print them with the birth rules' figures."""
    from depthhand.pose.verify import SIGNAL_NAMES, UNEXPLAINED_VETO

    with open(path, "rb") as fh:
        d = pickle.load(fh)
    rows, frames = d["rows"], d["frames"]
    x = np.array([r["signals"] for r in rows])
    y = np.array([r["label"] for r in rows])
    sc = np.array([r["score"] for r in rows])
    fr = np.array([r["frame"] for r in rows])
    lab = y >= 0
    mu, sd = x[lab].mean(0), x[lab].std(0) + 1e-9
    w = _logistic((x[lab] - mu) / sd, y[lab].astype(float))
    v = 1 / (1 + np.exp(-(np.c_[(x - mu) / sd, np.ones(len(x))] @ w)))
    cv = np.zeros(len(rows))
    for par in (0, 1):  # two folds by frame, for an honest figure of the fit's separation
        tr, te = lab & (fr % 2 == par), fr % 2 != par
        m2, s2 = x[tr].mean(0), x[tr].std(0) + 1e-9
        w2 = _logistic((x[tr] - m2) / s2, y[tr].astype(float))
        cv[te] = 1 / (1 + np.exp(-(np.c_[(x[te] - m2) / s2, np.ones(te.sum())] @ w2)))
    vetoed = x[:, SIGNAL_NAMES.index("unexplained")] > UNEXPLAINED_VETO  # plausibility() gives these 0
    v[vetoed], cv[vetoed] = 0.0, 0.0
    print(f"veto: {(vetoed & (y == 1)).sum()} of {(y == 1).sum()} hands, {(vetoed & (y == 0)).sum()} of "
          f"{(y == 0).sum()} false ones")  # fmt: skip
    print(f"{len(rows)} candidates ({(y == 1).sum()} hands, {(y == 0).sum()} false), {len(frames)} frames; "
          f"verification median {np.median(d['t_verify_us']):.0f} us per hand")  # fmt: skip
    for lo, hi in ((0.2, 0.3), (0.3, 0.5), (0.5, 1.01)):
        b = lab & (sc >= lo) & (sc < hi)
        single = " ".join(
            f"{n} {max(_auc(x[b, k], y[b]), 1 - _auc(x[b, k], y[b])):.2f}" for k, n in enumerate(SIGNAL_NAMES)
        )
        print(f"box score [{lo}, {hi}): {(b & (y == 1)).sum()} hands, {(b & (y == 0)).sum()} false; AUC fit "
              f"{_auc(v[b], y[b]):.3f}, 2-fold {_auc(cv[b], y[b]):.3f}; single signals: {single}")  # fmt: skip
    print("mean=" + repr(tuple(round(float(a), 4) for a in mu)))
    print("scale=" + repr(tuple(round(float(a), 4) for a in sd)))
    print("weight=" + repr(tuple(round(float(a), 4) for a in w[:-1])))
    print(f"bias={float(w[-1]):.4f}")
    _rule_table(rows, frames, sc >= 0.5, "box >= 0.5")
    _rule_table(rows, frames, sc >= 0.3, "box >= 0.3")
    for high_v in (0.0, 0.1, 0.2, 0.3):
        for low_v in (0.3, 0.5, 0.7, 0.8, 0.9):
            for low in (0.3, 0.2):
                for vv, tag in ((v, "fit"), (cv, "2-fold")):
                    keep = ((sc >= 0.5) & (vv >= high_v)) | ((sc >= low) & (vv >= low_v))
                    _rule_table(rows, frames, keep, f"{tag} box>=0.5&v>={high_v} | box>={low}&v>={low_v}")


def main() -> None:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=("collect", "fit"))
    ap.add_argument("path")
    ap.add_argument("--per-case", type=int, default=40)
    ap.add_argument("--standard", type=int, default=150)
    ap.add_argument("--recenter", type=int, default=0, help="collect: re-centring passes (PipelineOptions.recenter)")
    a = ap.parse_args()
    if a.stage == "collect":
        collect(a.path, a.per_case, a.standard, a.recenter)
    else:
        fit(a.path)


if __name__ == "__main__":
    main()
