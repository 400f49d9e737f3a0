"""How far the pixel reading of each fingertip lies from its true clearance, per sensor (issue 19 diagnosis).

Usage: python scripts/touch_hover_bias.py COND SEED  (e.g. ``hover 0``, ``tap80_low 0``)

Renders (or reads from the ``touch_stress_cache`` cache) every noise model × camera height of the condition, runs
the default interaction engine on the ``truth`` and ``net9`` pose models, and prints, over all fingertips whose true
tip joint lies ≤ 40 mm above the table, the pixel reading (``ContactReading.height_mm``) minus the true clearance
(true tip joint height − ``FusedSettings.pose_level_mm``): median and σ, per band of true clearance. Each pose
fingertip is paired with the nearest true one. The figures are in BENCHMARKS.md ("Fifth part", "Tried and not
shipped").
"""

from __future__ import annotations

import sys

import numpy as np
import touch_stress_cache as cache

from depthhand.bench.touch_stress import POSE_MODELS
from depthhand.evaluate.touch import truth_frames_from_stress
from depthhand.interact.engine import Interaction
from depthhand.interact.fused import FusedSettings
from depthhand.interact.touch import TouchSettings, point_height
from depthhand.skeleton import CANONICAL21

BANDS = ((-9, 2), (2, 8), (8, 15), (15, 25), (25, 40))


def readings(cond: str, seed: int, noise: str, height: float, pm: str) -> np.ndarray:
    """(N, 3) true clearance, pose clearance, pixel reading (NaN without one), mm, over the scored frames."""
    cache.CACHE.mkdir(parents=True, exist_ok=True)
    cache.render(cond, noise, height, seed, 6.0)
    stress = cache.load(cond, noise, height, seed, 6.0)
    plane, level = stress[0].plane, FusedSettings().pose_level_mm
    eng = Interaction(touch=TouchSettings(), plane=plane)
    seen: dict = {}
    orig = eng._pixel_readings

    def grab(result, depth):  # type: ignore[no-untyped-def]
        seen["px"] = orig(result, depth)
        return seen["px"]

    eng._pixel_readings = grab  # type: ignore[method-assign]
    rows = []
    for tf, sf in zip(truth_frames_from_stress(stress, *POSE_MODELS[pm], seed=seed), stress, strict=True):
        eng.process(tf.result, tf.depth_mm)
        if sf.warmup:
            continue
        for hand in tf.result.hands:
            for finger, tip in CANONICAL21.tips:
                pose_tip = np.asarray(hand.pose.joints_xyz_mm[tip], np.float64)
                true_tip = min((np.asarray(j[tip], np.float64) for j in sf.joints_xyz_mm.values()),
                               key=lambda q: float(np.linalg.norm(q - pose_tip)))  # fmt: skip
                clearance = point_height(true_tip, plane) - level
                if clearance > 40:
                    continue
                r = (seen.get("px") or {}).get((hand.track_id, finger))
                ok = r is not None and r.ok and np.isfinite(r.height_mm)
                rows.append((clearance, point_height(pose_tip, plane) - level, r.height_mm if ok else np.nan))
    return np.array(rows).reshape(-1, 3)


def main() -> None:
    """Print the table."""
    cond, seed = sys.argv[1], int(sys.argv[2])
    for noise in ("structured_light", "active_stereo", "tof"):
        for height in (800.0, 1200.0):
            for pm in ("truth", "net9"):
                a = readings(cond, seed, noise, height, pm)
                has = np.isfinite(a[:, 2])
                d = a[has, 2] - a[has, 0]
                head = f"{noise:16s} {height:5.0f} {pm:5s}"
                print(f"{head} n {len(a):5d} with a reading {has.mean():.2f}  pixels - truth median {np.median(d):6.1f}"
                      f" sd {np.std(d):5.1f}  pose - truth median {np.median(a[:, 1] - a[:, 0]):6.1f}")  # fmt: skip
                for lo, hi in BANDS:
                    m = has & (a[:, 0] >= lo) & (a[:, 0] < hi)
                    if m.sum() > 3:
                        e = a[m, 2] - a[m, 0]
                        stats = f"median {np.median(e):6.1f}  sd {np.std(e):5.1f}"
                        print(f"    clearance [{lo}, {hi}) mm: n {m.sum():4d}  {stats}")


if __name__ == "__main__":
    main()
