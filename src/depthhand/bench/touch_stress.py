"""The touch stress benchmark (``touch.stress``): pixel rule and pose rule side by side on scripted scenes.

Sequences of :mod:`depthhand.synth.touch_scenes` — every condition × the three noise models × camera heights
0.8 m and 1.2 m × seeds — are rendered at 640×480 (Astra intrinsics) and scored with
:func:`depthhand.evaluate.touch.evaluate_touch` twice on the same frames: ``rule="pixels"`` (the surface model and
contact blobs) and ``rule="pose"``. The pose is the true joints plus a per-sequence per-joint offset (σ 4 mm) and
per-frame jitter (σ 2 mm), ``truth_frames_from_stress``: no pose network runs, only rendering and touch. Each
sequence starts with 1 s of empty table (the surface calibration, not scored).

Per condition: precision, recall and false touches summed over its sequences; position error and touch-down
latency are the medians of the per-sequence medians. ``cost`` is the mean time per frame of the pixel rule's
engine minus the pose rule's (the surface model update plus the contact blobs), ms.
"""

from __future__ import annotations

import time
from typing import Any

from depthhand.bench.core import BenchResult, benchmark


def run_stress(seeds: tuple[int, ...], duration_s: float, conditions: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Score both rules on every (condition, noise, height, seed); returns per-condition and overall figures."""
    import numpy as np

    from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_stress
    from depthhand.interact.engine import Interaction
    from depthhand.interact.touch import TouchSettings
    from depthhand.synth.touch_scenes import CONDITIONS, NOISE_MODELS, stress_sequence

    rules = {"pixels": TouchSettings(rule="pixels"), "pose": TouchSettings(rule="pose")}
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    cost = {"pixels": 0.0, "pose": 0.0}
    frames_total = 0
    for cond in conditions or CONDITIONS:
        for noise in NOISE_MODELS:
            for height in (800.0, 1200.0):
                for seed in seeds:
                    stress = list(stress_sequence(cond, seed, noise, height, duration_s=duration_s))
                    warm = sum(f.warmup for f in stress)
                    plane = stress[0].plane
                    frames = list(truth_frames_from_stress(stress, seed=seed))
                    frames_total += len(frames)
                    for rule, setting in rules.items():
                        engine = Interaction(touch=setting, plane=plane)
                        t0 = time.perf_counter()
                        rep = evaluate_touch(frames, plane, setting, warmup_frames=warm, engine=engine)
                        cost[rule] += time.perf_counter() - t0
                        for key in ((cond, rule), ("all", rule), (f"{noise}@{height / 1000:g}m", rule)):
                            a = acc.setdefault(key, {"true": 0, "det": 0, "tp": 0, "false": 0, "min": 0.0})
                            a["true"] += rep.true_contacts
                            a["det"] += rep.detected_contacts
                            a["tp"] += round(rep.recall * rep.true_contacts)
                            a["false"] += rep.false_touches
                            a["min"] += rep.minutes_without_touch
                            a.setdefault("err", []).append(rep.position_error_mm["median"])
                            a.setdefault("lat", []).append(rep.down_delay_median_frames)
    out: dict[str, Any] = {"frames": frames_total}
    for (cond, rule), a in acc.items():
        errs = [e for e in a["err"] if np.isfinite(e)]
        lats = [e for e in a["lat"] if np.isfinite(e)]
        tp_det = a["det"] - a["false"]
        out[f"{cond}:{rule}"] = {
            "precision": round(tp_det / a["det"], 4) if a["det"] else 1.0,
            "recall": round(a["tp"] / a["true"], 4) if a["true"] else 1.0,
            "true_contacts": a["true"],
            "false_touches": a["false"],
            "false_per_min": round(a["false"] / a["min"], 2) if a["min"] > 0 else 0.0,
            "pos_err_median_mm": round(float(np.median(errs)), 2) if errs else None,
            "down_latency_median_frames": float(np.median(lats)) if lats else None,
        }
    out["cost_ms_per_frame_pixels_minus_pose"] = round((cost["pixels"] - cost["pose"]) / frames_total * 1e3, 3)
    return out


@benchmark("touch.stress", "touch stress test: pixel vs pose rule per condition (precision, recall, latency, mm)")
def touch_stress(quick: bool) -> BenchResult:
    """Full: 9 conditions × 3 noise models × 2 heights × seeds 0, 1 × 6 s = 10.8 min of scored frames."""
    if quick:
        details = run_stress((0,), 1.0, ("tap80_low", "palm"))
    else:
        details = run_stress((0, 1), 6.0)
    return BenchResult("touch.stress", details["all:pixels"]["precision"], "precision (pixel rule)", 1, details)
