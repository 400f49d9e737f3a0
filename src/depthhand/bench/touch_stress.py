"""The touch stress benchmark (``touch.stress``): pose, pixel and fused rules side by side on scripted scenes.

Sequences of :mod:`depthhand.synth.touch_scenes` — every condition × the three noise models × camera heights
0.8 m and 1.2 m × seeds — are rendered at 640×480 (Astra intrinsics) and scored with
:func:`depthhand.evaluate.touch.evaluate_touch` for each rule on the same frames. The pose comes from a *pose
error model* (:data:`POSE_MODELS`), no pose network runs:

* ``truth``: the true joints plus a per-sequence per-joint offset (σ 4 mm) and per-frame jitter (σ 2 mm);
* ``net9``: an error model matched to the shipped network's measured fingertip height error (σ ≈ 9 mm,
  ``serve.touch_pipeline``): offset σ 7 mm per coordinate per joint per sequence plus jitter σ 5.7 mm per frame
  (total σ 9.0 mm per coordinate). It is a model of the network's error, not the network.

:func:`run_network` scores a subset with the real shipped pipeline (detector + pose network + tracker) on the
rendered frames instead. Each sequence starts with 1 s of empty table (the surface calibration, not scored).

Per condition: precision, recall and false touches summed over its sequences; position error and touch-down
latency are the medians of the per-sequence medians. ``cost_ms`` per rule is the engine's mean time per frame
(the pose rule's state machines; the pixel and fused rules' surface model, contact blobs and palm check on top),
``cost_steady_ms`` the same after the surface model has learned.
"""

from __future__ import annotations

import time
from typing import Any

from depthhand.bench.core import BenchResult, benchmark

POSE_MODELS = {"truth": (4.0, 2.0), "net9": (7.0, 5.7)}
"""Pose error models: name → (per-sequence offset σ, per-frame jitter σ), mm per coordinate."""
RULES = ("pose", "pixels", "fused")


def _accumulate(acc: dict[tuple[str, str], dict[str, Any]], keys: list[tuple[str, str]], rep: Any) -> None:
    for key in keys:
        a = acc.setdefault(key, {"true": 0, "det": 0, "tp": 0, "false": 0, "min": 0.0, "err": [], "lat": []})
        a["true"] += rep.true_contacts
        a["det"] += rep.detected_contacts
        a["tp"] += round(rep.recall * rep.true_contacts)
        a["false"] += rep.false_touches
        a["min"] += rep.minutes_without_touch
        a["err"].append(rep.position_error_mm["median"])
        a["lat"].append(rep.down_delay_median_frames)


def _summary(acc: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {}
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
    return out


def run_stress(
    seeds: tuple[int, ...],
    duration_s: float,
    conditions: tuple[str, ...] | None = None,
    rules: tuple[str, ...] = RULES,
    pose_models: tuple[str, ...] = tuple(POSE_MODELS),
    noises: tuple[str, ...] | None = None,
    heights_mm: tuple[float, ...] = (800.0, 1200.0),
) -> dict[str, Any]:
    """Score the rules on every (condition, noise, height, seed, pose model).

    Returns:
        ``{"frames", "<group>:<rule>@<pose model>": {...}, "cost_ms": {rule: ms}, "cost_steady_ms": {rule: ms}}``
        where a group is a condition, ``all``, or ``<noise>@<height>m``.
    """
    from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_stress
    from depthhand.interact.engine import Interaction
    from depthhand.interact.touch import TouchSettings
    from depthhand.synth.touch_scenes import CONDITIONS, NOISE_MODELS, stress_sequence

    settings = {r: TouchSettings(rule=r) for r in rules}
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    cost = dict.fromkeys(rules, 0.0)
    steady = {r: [0.0, 0] for r in rules}
    frames_total = 0
    for cond in conditions or CONDITIONS:
        for noise in noises or NOISE_MODELS:
            for height in heights_mm:
                for seed in seeds:
                    stress = list(stress_sequence(cond, seed, noise, height, duration_s=duration_s))
                    warm = sum(f.warmup for f in stress)
                    plane = stress[0].plane
                    for pm in pose_models:
                        bias, jitter = POSE_MODELS[pm]
                        frames = list(truth_frames_from_stress(stress, bias, jitter, seed=seed))
                        frames_total += len(frames)
                        for rule in rules:
                            engine = Interaction(touch=settings[rule], plane=plane)
                            timed = _TimedEngine(engine, learn_frames=warm + 5)
                            rep = evaluate_touch(frames, plane, settings[rule], warmup_frames=warm, engine=timed)  # type: ignore[arg-type]
                            cost[rule] += timed.total_s
                            steady[rule][0] += timed.steady_s
                            steady[rule][1] += timed.steady_n
                            tag = f"{rule}@{pm}"
                            groups = (cond, "all", f"{noise}@{height / 1000:g}m")
                            _accumulate(acc, [(g, tag) for g in groups], rep)
    out: dict[str, Any] = {"frames": frames_total}
    out.update(_summary(acc))
    per_rule_frames = frames_total / max(len(pose_models), 1)
    out["cost_ms"] = {r: round(cost[r] / max(len(pose_models), 1) / per_rule_frames * 1e3, 3) for r in rules}
    out["cost_steady_ms"] = {r: round(s / max(n, 1) * 1e3, 3) for r, (s, n) in steady.items()}
    return out


class _TimedEngine:
    """Wraps an :class:`~depthhand.interact.engine.Interaction`, timing each ``process`` call."""

    def __init__(self, engine: Any, learn_frames: int) -> None:
        self.engine, self.learn_frames = engine, learn_frames
        self.total_s = self.steady_s = 0.0
        self.steady_n = self.n = 0

    def process(self, result: Any, depth_mm: Any = None) -> Any:
        t0 = time.perf_counter()
        out = self.engine.process(result, depth_mm)
        dt = time.perf_counter() - t0
        self.n += 1
        self.total_s += dt
        if self.n > self.learn_frames:
            self.steady_s += dt
            self.steady_n += 1
        return out


@benchmark(
    "touch.stress", "touch stress test: pose / pixel / fused rules per condition (precision, recall, latency, mm)"
)
def touch_stress(quick: bool) -> BenchResult:
    """Full: 11 conditions × 3 noise models × 2 heights × seeds 0, 1 × 6 s = 13.2 min of scored frames.

    Each pose error model (two) and rule (three) is scored on all of them.
    """
    if quick:
        details = run_stress((0,), 1.0, ("tap80_low", "palm"))
    else:
        details = run_stress((0, 1), 6.0)
    return BenchResult("touch.stress", details["all:fused@truth"]["precision"], "precision (fused rule)", 1, details)
