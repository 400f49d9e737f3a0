"""Detector score thresholds: synthetic recall/precision and real SR305 false detections (documentation script).

Nothing imports it.

Usage: python scripts/detector_thresholds.py [--frames N] [--out docs/models/detector_thresholds.png]

Synthetic frames use the detector evaluation's held-out seed (``depthhand.evaluate.detector.TEST_SEED``) and its
matching rule; on the real frames a detection is the hand when its centre lies in the labelled box
(``depthhand.evaluate.real_labels.SR305_DESK_LABELS``), anything else is false. Prints a Markdown table and
draws the plot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def main() -> None:
    """Sweep the thresholds, print the table, draw the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm

    from depthhand.atomic import atomic_path
    from depthhand.detect.cnn import CnnHandDetector
    from depthhand.evaluate.detector import TEST_SEED, DetectionTally, center_in_box, tally_frame
    from depthhand.evaluate.real_labels import load_box_labels
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import labelled_hands, sample_synthetic_frame

    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("docs/models/detector_thresholds.png"))
    args = parser.parse_args()

    det = CnnHandDetector(score_threshold=min(THRESHOLDS))
    tallies = {t: DetectionTally() for t in THRESHOLDS}
    for i in tqdm(range(args.frames), desc="synthetic frames"):
        sample, depth = sample_synthetic_frame(np.random.default_rng([TEST_SEED, i]))
        boxes = det.detect(DepthFrame(depth, sample.intrinsics, index=i))
        counted = labelled_hands(sample)
        for t in THRESHOLDS:
            tally_frame(tallies[t], [b for b in boxes if b.score >= t], sample, counted)

    real_false = dict.fromkeys(THRESHOLDS, 0)
    real_found = dict.fromkeys(THRESHOLDS, 0)
    n_real = 0
    for lab in load_box_labels():
        n_real += 1
        for d in det.detect(lab.frame):
            inside = center_in_box(d, lab.box_xyxy)
            for t in THRESHOLDS:
                if d.score >= t:
                    real_found[t] += int(inside)
                    real_false[t] += int(not inside)

    rows = []
    print("| threshold | synthetic recall | synthetic precision | SR305 hand found | SR305 false per frame |")
    print("|---|---|---|---|---|")
    for t in THRESHOLDS:
        s = tallies[t].summary()
        rows.append((t, s["recall"], s["precision"], real_false[t] / n_real))
        print(
            f"| {t:.2f} | {s['recall']:.3f} | {s['precision']:.3f} | {real_found[t]}/{n_real} "
            f"| {real_false[t] / n_real:.2f} |"
        )
    arr = np.array(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(arr[:, 1], arr[:, 2], "o-")
    for t, r, p, _ in rows:
        ax1.annotate(f"{t:.2f}", (r, p), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax1.set(xlabel="recall", ylabel="precision", title=f"held-out synthetic frames (N={args.frames})")
    ax1.grid(alpha=0.3)
    ax2.plot(arr[:, 0], arr[:, 3], "o-", color="tab:red")
    ax2.axvline(0.3, ls="--", color="grey", label="detector threshold 0.3")
    ax2.axvline(0.5, ls=":", color="black", label="tracker birth threshold 0.5")
    ax2.set(xlabel="score threshold", ylabel="false detections per frame", title="real SR305 desk frames (11)")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
