"""Write the model card of a shipped pose model (one-off release script; nothing imports it).

Usage: python scripts/make_pose_card.py ONNX OUT_JSON --runs RUN_DIR [RUN_DIR ...] [--count N] [--tta-deg D]

``--runs``: the training directories of every phase, in order (their ``metrics.csv`` rows are concatenated).

Evaluates the ONNX model on held-out synthetic crops (seed 424242; training used 101, 202, 303 and 404, validation
7) under three protocols — every crop; only hands whose 21 joints all lie inside the camera image (``in_image=1``,
as in the public benchmarks' test frames); and the same crops as "every crop" less those centred outside the image
(``centre_in_image=1``: the crops the pipeline can cut) — draws the success curves, and writes the JSON card with
size, SHA-256, parameters, speed, training recipe and accuracy. With ``--tta-deg D`` it also scores the first two
protocols with test-time augmentation (views at 0 and ±D degrees, each also mirrored: six network runs per hand).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.atomic import write_json
from depthhand.evaluate.model import evaluate_model
from depthhand.evaluate.plot import plot_reports
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions


def _onnx_parameters(path: Path) -> int:
    """Number of weights stored in the ONNX file's initializers."""
    import onnx

    model = onnx.load(str(path))
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))


def main() -> None:
    """Evaluate, time and describe the model; write the card."""
    parser = argparse.ArgumentParser()
    parser.add_argument("onnx", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--plot", type=Path, default=Path("docs/models/depthhand_fast_synthetic.png"))
    parser.add_argument("--tta-deg", type=float, default=0.0, help="also score with rotated + mirrored views")
    args = parser.parse_args()

    data = f"synth:@{args.count}?scenes=topdown,frontal,egocentric&seed=424242"
    data_in_view = data + "&in_image=1"
    reports = evaluate_model(args.onnx, data, threads=2)
    reports_in_view = evaluate_model(args.onnx, data_in_view, threads=2)
    data_served = data + "&centre_in_image=1"  # the crops the pipeline can cut (a detected centre is a pixel)
    reports_served = evaluate_model(args.onnx, data_served, threads=2)
    tta: dict[str, Any] = {}
    if args.tta_deg:
        for key, spec in (("every_crop", data), ("in_view", data_in_view)):
            tta[key] = _scores(evaluate_model(args.onnx, spec, threads=2, tta_deg=args.tta_deg, tta_mirror=True))
    plot_reports(
        [dataclasses.replace(r, name=f"{r.name} in view") for r in reports_in_view]
        + reports
        + [  # only top-down crops are ever centred off the image; the other scenes' curves would repeat
            dataclasses.replace(r, name=f"{r.name} centre in image")
            for r in reports_served
            if r.name.endswith("[topdown]")
        ],
        args.plot,
        title=f"{args.onnx.stem}: held-out synthetic crops, N={args.count} per scene",
    )
    with PoseEstimator(PoseEstimatorOptions(args.onnx, num_threads=1)) as est:
        x = np.ones((1, 1, 96, 96), np.float32)
        for _ in range(20):
            est.run_network(x)
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            est.run_network(x)
            times.append((time.perf_counter() - t0) * 1e3)
        info = est.info
    rows = [row for run in args.runs for row in csv.DictReader((run / "metrics.csv").open())]
    last = list(csv.DictReader((args.runs[-1] / "metrics.csv").open()))  # the shipped best.pt is the last phase's
    best_index = len(rows) - len(last) + min(range(len(last)), key=lambda i: float(last[i]["val_mean_err_mm"]))
    best = rows[best_index]  # phases that restart the epoch count (--init-weights) are numbered on
    card = {
        "name": "depthhand_fast (canonical21)",
        "file": args.onnx.name,
        "sha256": hashlib.sha256(args.onnx.read_bytes()).hexdigest(),
        "bytes": args.onnx.stat().st_size,
        "parameters": _onnx_parameters(args.onnx),
        "gmac_96": 0.147,
        "joint_set": info.joint_set.name,
        "cube_mm": info.cube_mm,
        "input_size": info.input_size,
        "output_space": info.output_space,
        "latency_ms_batch1_1thread_onnxruntime": round(float(np.median(times)), 3),
        "training": {
            "data": "synthetic 96x96 crops from depthhand.train.synth_data.generate_crop_arrays (topdown / frontal "
            "/ egocentric in turn, sensor noise family random per crop, centre = palm centre + N(0, 8 mm) jitter, "
            "cube 250 mm), fresh crops per phase: phase 1 epochs 0-39 on 40,000 crops (seed 101), phase 2 epochs "
            "40-53 on 40,000 (seed 202), phase 3 epochs 54-109 on 80,000 (seed 303), phase 4 (fine-tuning from "
            "phase 3's best weights, bf16 autocast, epochs 110-189) on 80,000 (seed 404) keeping only hands "
            "with at least 80 % of their joints inside the image; phase 5 (fine-tuning from phase 4's best "
            "weights, bf16, epochs 190-299) on those 80,000 plus 160,000 new crops of the same kind (seeds 606 and "
            "707), each crop augmented afresh every epoch in the crop frame (rotation uniform in +-45 deg, centre "
            "shift N(0, 10 mm) per axis, cube scale N(1, 0.05), all together); phase 6 (fine-tuning from phase "
            "5's best weights, epochs 300-354) on the seed-606 and 707 crops plus 80,000 new ones (seed 808), same "
            "augmentation; phase 7 (fine-tuning from phase 6's best weights, epochs 355-454) on the seed-707 and "
            "808 crops plus 160,000 new crops of the top-down and frontal scenes only (seeds 909 and 1010, at "
            "least 80 % in the image), same augmentation, with an exponential moving average of the weights "
            "(decay 0.998 per step; the average is what was validated and shipped); phase 8 (fine-tuning from "
            "phase 7's best weights, epochs 455-494) on the seed-808, 909 and 1010 crops plus 80,000 new top-down "
            "and frontal crops (seed 1111), same augmentation and average; phase 9 (fine-tuning from phase 8's "
            "best weights, epochs 495-554) on the seed-1010 and 1111 crops plus 40,000 new top-down crops of hands "
            "reaching in over the image edge only (seed 1212, at most 20 of the 21 joints inside the image) and "
            "80,000 new top-down and frontal crops with no in-image filter (seed 1313), same augmentation and "
            "average; phase 10 (fine-tuning from phase 9's best weights, epochs 555-584) on the phase-9 crops plus "
            "80,000 more top-down and frontal crops with no filter (seed 1414); phase 11 (fine-tuning from phase 10's "
            "best weights, epochs 585-614) on the phase-10 crops plus 40,000 more edge crops (seed 1515); phase 12 "
            "(fine-tuning from phase 11's best weights, epochs 615-674) with the joint term of the loss changed "
            "from per-coordinate smooth-L1 to the mean per-joint distance (--joint-loss euclidean), on the "
            "seed-1111, 1212, 1313, 1414 and 1515 crops plus 40,000 new top-down and frontal crops with no filter "
            "(seed 1717); validation: 3,000 crops of seed 7 "
            "(model selection, every crop; from phase 9 on only its 2,040 top-down and frontal crops, the target "
            "scenes); test: held-out crops of seed 424242 (below), never used for selection",
            "command": "(phases 1-4 ran before crops: files were augmented; to repeat them today add --augment "
            "none) phase 1: depthhand train --data crops:runs/crops_train_a.npz "
            "--val-data crops:runs/crops_val.npz --model depthhand_fast --joint-set canonical21 --epochs 40 "
            "--max-steps 150 --batch-size 64 "
            "--lr 2e-3 --lr-decay 0.94 --threads 2 --workers 0 --out runs/fast_a; phase 2: the same with "
            "--data crops:runs/crops_train_b.npz --epochs 54 --resume runs/fast_a/last.pt --out runs/fast_b; "
            "phase 3: --data crops:runs/crops_train_c.npz --epochs 110 --lr-decay 0.96 "
            "--resume runs/fast_b/last.pt --out runs/fast_c (lr = 2e-3 x decay^epoch, set each epoch); phase 4: "
            "depthhand synth --crops 80000 --scene topdown,frontal,egocentric --seed 404 --min-in-image 0.8 "
            "--out runs/crops_train_d.npz, then depthhand train --data crops:runs/crops_train_d.npz "
            "--val-data crops:runs/crops_val.npz --model depthhand_fast --joint-set canonical21 "
            "--init-weights runs/fast_c/best.pt --epochs 80 --max-steps 150 --batch-size 64 --lr 5e-4 "
            "--lr-decay 0.96 --threads 2 --workers 0 --precision bf16 --out runs/fast_d; phase 5: depthhand synth "
            "--crops 80000 ... --seed 606 (and 707) --min-in-image 0.8, then depthhand train --data "
            "crops:runs/crops_train_d.npz,runs/crops_train_e.npz,runs/crops_train_f.npz --val-data "
            "crops:runs/crops_val.npz --model depthhand_fast --joint-set canonical21 --init-weights "
            "runs/fast_d/best.pt --augment combined --rotation-deg 45 --epochs 110 --max-steps 150 --batch-size 64 "
            "--lr 7e-4 --lr-decay 0.97 --threads 2 --workers 0 --precision bf16 --out runs/fast_e; phase 6: "
            "depthhand synth ... --seed 808 --min-in-image 0.8 --out runs/crops_train_g.npz, then depthhand train "
            "--data crops:runs/crops_train_e.npz,runs/crops_train_f.npz,runs/crops_train_g.npz (validation, model "
            "and augmentation as phase 5) --init-weights runs/fast_e/best.pt --epochs 55 --max-steps 150 "
            "--batch-size 64 --lr 3e-4 --lr-decay 0.95 --threads 2 --workers 0 --precision bf16 --out runs/fast_f; "
            "phase 7: depthhand synth --crops 80000 --scene topdown,frontal --seed 909 (and 1010) --min-in-image "
            "0.8 --out runs/crops_train_h.npz (and _i), then depthhand train --data crops:runs/crops_train_f.npz,"
            "runs/crops_train_g.npz,runs/crops_train_h.npz,runs/crops_train_i.npz (validation, model and "
            "augmentation as phase 5) --init-weights runs/fast_f/best.pt --ema 0.998 --epochs 100 --max-steps 150 "
            "--batch-size 64 --lr 2e-4 --lr-decay 0.975 --threads 2 --workers 0 --precision bf16 --out runs/fast_g; "
            "phase 8: depthhand synth ... --scene topdown,frontal --seed 1111 --out runs/crops_train_j.npz, then "
            "depthhand train --data crops:runs/crops_train_g.npz,runs/crops_train_h.npz,runs/crops_train_i.npz,"
            "runs/crops_train_j.npz (validation, model and augmentation as phase 5) --init-weights "
            "runs/fast_g/best.pt --ema 0.998 --epochs 40 --max-steps 150 --batch-size 64 --lr 1e-4 --lr-decay 0.95 "
            "--threads 2 --workers 0 --precision bf16 --out runs/fast_h; phase 9: depthhand synth --crops 40000 "
            "--scene topdown --seed 1212 --max-in-image 0.99 --out runs/crops_train_k.npz and depthhand synth "
            "--crops 80000 --scene topdown,frontal --seed 1313 --out runs/crops_train_l.npz, then depthhand train "
            "--data crops:runs/crops_train_i.npz,runs/crops_train_j.npz,runs/crops_train_k.npz,"
            "runs/crops_train_l.npz --val-data crops:runs/crops_val_tf.npz (the seed-7 crops of scenes topdown "
            "and frontal) --model depthhand_fast --joint-set canonical21 --init-weights runs/fast_h/best.pt "
            "--augment combined --rotation-deg 45 --ema 0.998 --epochs 60 --max-steps 150 --batch-size 64 "
            "--lr 2e-4 --lr-decay 0.96 --threads 2 --workers 0 --precision bf16 --out runs/fast_i; phase 10: "
            "depthhand synth --crops 80000 --scene topdown,frontal --seed 1414 --out runs/crops_train_m.npz, then "
            "the same with --data ...,runs/crops_train_m.npz --init-weights runs/fast_i/best.pt --epochs 30 "
            "--lr 6e-5 --lr-decay 0.96 --out runs/fast_j; phase 11: depthhand synth --crops 40000 --scene topdown "
            "--seed 1515 --max-in-image 0.99 --out runs/crops_train_n.npz, then the same with --data "
            "...,runs/crops_train_n.npz --init-weights runs/fast_j/best.pt --epochs 30 --lr 4e-5 --out "
            "runs/fast_k; phase 12: depthhand synth --crops 40000 --scene topdown,frontal --seed 1717 --out "
            "runs/crops_train_p.npz, then depthhand train --data crops:runs/crops_train_j.npz,"
            "runs/crops_train_k.npz,runs/crops_train_l.npz,runs/crops_train_m.npz,runs/crops_train_n.npz,"
            "runs/crops_train_p.npz --val-data crops:runs/crops_val_tf.npz --model depthhand_fast --joint-set "
            "canonical21 --joint-loss euclidean --init-weights runs/fast_k/best.pt --augment combined "
            "--rotation-deg 45 --ema 0.998 --epochs 60 --max-steps 150 --batch-size 64 --lr 6e-5 --lr-decay 0.96 "
            "--threads 2 --workers 0 --precision bf16 --out runs/fast_n",
            "hardware": "2-core AMD EPYC CPU (no GPU), shared with other jobs",
            "epochs_run": len(rows),
            "samples_seen": int(sum(float(r["train_steps"]) for r in rows) * 64),
            "best_epoch": best_index,
            "best_val_mean_err_mm": round(float(best["val_mean_err_mm"]), 3),
        },
        "heldout_synthetic": _scores(reports),
        "heldout_synthetic_in_view": _scores(reports_in_view),
        "heldout_synthetic_centre_in_image": _scores(reports_served),
        "heldout_synthetic_topdown_by_joints_in_image": _topdown_by_in_image(args.onnx, args.count, reports),
        **(
            {
                f"heldout_synthetic_tta{args.tta_deg:g}_mirror": tta,
                "tta_command": f"--tta-deg {args.tta_deg:g} --tta-mirror",
            }
            if tta
            else {}
        ),
        "success_plot": str(args.plot),
        "evaluation_command": f"depthhand eval --model {args.onnx} --data '{data}' (and '{data_in_view}', "
        f"'{data_served}')",
        "target_protocol": "the <= 8 mm target of issue #5 is read on heldout_synthetic_centre_in_image: the "
        "every-crop test crops less those whose centre projects outside the camera image, which the pipeline "
        "never cuts (a detected centre is an image pixel plus a depth); every crop and in view are reported too",
        "not_shipped": "a second phase 12 with the smooth-L1 loss (from phase 11's best, + 40,000 top-down crops "
        "with at most 80 % of the joints in the image, seed 1616, and the seed-1717 crops, 30 epochs lr 3e-5) "
        "reached validation 7.792 mm and a uniform average of the phase 10-12 weights 7.781, against phase 11's "
        "7.779; neither was scored on the test crops",
        "known_weaknesses": [
            "trained on synthetic hands only; never measured on real labelled frames (no dataset images here)",
            "short CPU-only training; top-down every crop stays above 8 mm (8.09) without test-time views (7.67 "
            "with the six views of --tta-deg 15 --tta-mirror); on the crops the pipeline can cut it is 6.52 mm",
            "hands mostly outside the camera image are guesses: top-down test crops with under half of their "
            "joints in the image (6.6 %) have 29.2 mm mean error, 50-79 % in the image 15.3 mm, and crops centred "
            "outside the image 29.3 mm (heldout_synthetic_topdown_by_joints_in_image); the pipeline's detector "
            "does not report hands whose palm centre is outside the image, and joints outside the image come back "
            "with visible = false",
            "phases 7-12 trained on top-down and frontal crops only; the egocentric scene, not a target, went from "
            "10.79 mm (phase 6) to 13.04 mm every crop",
        ],
    }
    write_json(args.out, card, indent=1)
    keys = ("heldout_synthetic", "heldout_synthetic_in_view", "heldout_synthetic_centre_in_image")
    print(json.dumps({k: card[k] for k in keys}, indent=1))


def _topdown_by_in_image(onnx: Path, count: int, reports: list[Any]) -> dict[str, Any]:
    """Top-down every-crop error split by the fraction of the hand's joints in the camera image, and by crop centre."""
    from depthhand.evaluate.metrics import joint_errors_mm
    from depthhand.evaluate.model import predict_synthetic_crops

    with PoseEstimator(PoseEstimatorOptions(onnx, num_threads=2)) as est:  # the same crops as evaluate_model's
        pred, meta = predict_synthetic_crops(est, count, np.random.default_rng([424242, 0]), "topdown")
    per_crop = joint_errors_mm(pred, meta.joints_xyz_mm).mean(axis=1)
    topdown = next(r for r in reports if r.name.endswith("[topdown]"))
    assert abs(per_crop.mean() - topdown.mean_mm) < 1e-6, "not the card's top-down crops"
    frac = meta.in_image
    buckets = {
        "whole hand": frac == 1.0,
        "80-99 %": (frac >= 0.8) & (frac < 1.0),
        "50-79 %": (frac >= 0.5) & (frac < 0.8),
        "under 50 %": frac < 0.5,
    }
    # A detected centre is an image pixel (+ depth), so the pipeline never cuts a crop centred off the image.
    centre_in = meta.centre_in_image()
    buckets["crop centre in the image (crops the pipeline can cut)"] = centre_in
    buckets["crop centre outside the image"] = ~centre_in
    return {
        name: {"crops": int(m.sum()), "mean_mm": round(float(per_crop[m].mean()), 3) if m.any() else None}
        for name, m in buckets.items()
    }


def _scores(reports: list[Any]) -> dict[str, Any]:
    return {
        r.name.split("[")[-1].rstrip("]"): {
            "frames": r.num_frames,
            "mean_mm": round(r.mean_mm, 3),
            "median_frame_mm": round(r.median_mm, 3),
            "auc_0_80": round(r.auc_0_80, 4),
            "success": {
                f"<={int(t)}mm": round(float(v), 4)
                for t, v in zip(r.thresholds_mm, r.success, strict=True)
                if int(t) in (10, 20, 30, 40, 50, 80)
            },
        }
        for r in reports
    }


if __name__ == "__main__":
    main()
