"""Per-frame dump of the fused rule on cached stress sequences (palm / hover diagnosis, issue 19).

Usage: python scripts/touch_palm_diag.py COND SEED POSE_MODEL [noise,height ...]
Prints, for each touch_down: frame, phase, palm pose / pixel heights, rest flag, the finger's pose / pixel / fused
heights and the true fingertip-joint height; then a summary per sequence.
"""

from __future__ import annotations

import sys

import numpy as np
import touch_stress_cache as cache

from depthhand.bench.touch_stress import POSE_MODELS
from depthhand.evaluate.touch import truth_frames_from_stress
from depthhand.interact.contact import palm_pixel_height
from depthhand.interact.engine import Interaction
from depthhand.interact.fused import palm_joint_height
from depthhand.interact.touch import EventType, TouchSettings, point_height
from depthhand.skeleton import CANONICAL21


def run(cond: str, seed: int, pm: str, noise: str, height: float, verbose: bool = True) -> dict:
    """Run the default engine on one cached sequence; its touch-downs and per-frame palm heights."""
    stress = cache.load(cond, noise, height, seed, 6.0)
    plane = stress[0].plane
    bias, jitter = POSE_MODELS[pm]
    frames = list(truth_frames_from_stress(stress, bias, jitter, seed=seed))
    eng = Interaction(touch=TouchSettings(), plane=plane)
    captured = {}
    orig = eng._pixel_readings

    def grab(result, depth):  # type: ignore[no-untyped-def]
        captured["px"] = orig(result, depth)
        return captured["px"]

    eng._pixel_readings = grab  # type: ignore[method-assign]
    downs = []
    rows = []
    for k, (tf, sf) in enumerate(zip(frames, stress, strict=True)):
        out = eng.process(tf.result, tf.depth_mm)
        if sf.warmup or not tf.result.hands:
            continue
        th = tf.result.hands[0]
        ppose = palm_joint_height(th.pose.joints_xyz_mm, th.pose.joint_set, plane)
        s = eng.surface
        ppix = palm_pixel_height(tf.depth_mm, s, th.pose.joints_xyz_mm, th.pose.joint_set) if s and s.ready else None
        ptrue = palm_joint_height(sf.joints_xyz_mm[1], CANONICAL21, plane)
        rest = eng._rest.resting.get(th.track_id, False)
        rows.append((k, ppose, ppix if ppix is not None else np.nan, ptrue, rest))
        for ev in out.events:
            if ev.type is EventType.TOUCH_DOWN:
                key = (ev.hand_id, ev.finger)
                r = (captured.get("px") or {}).get(key)
                tip_idx = dict(CANONICAL21.tips)[ev.finger]
                ttrue = point_height(sf.joints_xyz_mm[1][tip_idx], plane)
                tpose = point_height(np.asarray(th.pose.joints_xyz_mm[tip_idx], np.float64), plane)
                downs.append((k, ev.finger.name, ppose, ppix, ptrue, rest, tpose, r, ev.height_mm, ttrue))
    if verbose:
        print(f"== {cond} {noise} {height:g} seed {seed} {pm}: {len(downs)} touch_down")
        for k, f, pp, px, pt, rest, tp, r, h, tt in downs:
            rs = "none" if r is None else (f"ok={r.ok} h={r.height_mm:.1f} n={r.pixels} rest={r.resting}")
            pxs = "None" if px is None else f"{px:.1f}"
            print(
                f"  f{k:3d} {f:6s} palm pose {pp:5.1f} pix {pxs:>5s} true {pt:5.1f} rest={rest} | "
                f"tip pose {tp:5.1f} true {tt:5.1f} fused {h:5.1f} pixels[{rs}]"
            )
    return {"downs": downs, "rows": rows}


if __name__ == "__main__":
    cond, seed, pm = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    combos = [a.split(",") for a in sys.argv[4:]] or [
        (n, h) for n in ("structured_light", "active_stereo", "tof") for h in ("800", "1200")
    ]
    for n, h in combos:
        run(cond, seed, pm, n, float(h))
