"""run_stress on cached renders (scripts/touch_stress_cache.py); same figures as `run_stress`, no re-rendering.

Usage: python scripts/touch_stress_cached.py SEED CONDS|all RULES OUT.json
"""

from __future__ import annotations

import json
import sys
import time

import touch_stress_cache as cache

import depthhand.synth.touch_scenes as ts
from depthhand.bench.touch_stress import run_stress

_orig = ts.stress_sequence


def _cached(condition, seed=0, noise="structured_light", camera_height_mm=1000.0, duration_s=6.0, **kw):  # type: ignore[no-untyped-def]
    p = cache.path(condition, noise, camera_height_mm, seed, duration_s)
    if p.with_suffix(".pkl").exists() and not kw:
        return iter(cache.load(condition, noise, camera_height_mm, seed, duration_s))
    return _orig(condition, seed, noise, camera_height_mm, duration_s, **kw)


ts.stress_sequence = _cached  # type: ignore[assignment]

if __name__ == "__main__":
    seed = int(sys.argv[1])
    conds = None if sys.argv[2] == "all" else tuple(sys.argv[2].split(","))
    rules = tuple(sys.argv[3].split(","))
    t0 = time.perf_counter()
    out = run_stress((seed,), 6.0, conds, rules)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    with open(sys.argv[4], "w") as f:
        json.dump(out, f, indent=1)
    keys = [k for k in out if ":" in k]
    for k in sorted(keys):
        v = out[k]
        print(
            f"{k:40s} P {v['precision']:.2f} R {v['recall']:.2f} F/min {v['false_per_min']:6.1f} "
            f"lat {v['down_latency_median_frames']} err {v['pos_err_median_mm']} n {v['true_contacts']}"
        )
    print("cost", out["cost_ms"], out["cost_steady_ms"], "wall", out["wall_s"])
