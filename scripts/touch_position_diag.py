"""Touch position diagnosis: the pixel reading, pose tip and true contact wherever fused rule and truth both touch.

One row per such frame and finger, so trust rules and tip radii can be compared offline.

Usage:
    python scripts/touch_position_diag.py pipeline OUT.pkl            # cached serve.touch_pipeline frames
    python scripts/touch_position_diag.py stress SEED truth|net9 OUT.pkl   # cached stress renders (seed 0: tuning)
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import numpy as np


def collect(frames: Any, plane: Any, warm: int = 0, tag: str = "") -> list[dict[str, Any]]:
    """One row per (frame, hand, finger) where the fused rule (defaults) and the truth both touch."""
    from depthhand.evaluate.touch import TouchScorer
    from depthhand.interact.engine import Interaction
    from depthhand.interact.position import distal_directions
    from depthhand.interact.touch import TouchSettings

    settings = TouchSettings(rule="fused")
    engine = Interaction(touch=settings, plane=plane)
    stash: dict[str, Any] = {}
    orig = engine._pixel_readings

    def spy(result: Any, depth: Any) -> Any:
        stash["r"] = orig(result, depth)
        return stash["r"]

    engine._pixel_readings = spy  # type: ignore[method-assign]
    scorer = TouchScorer(plane, settings, engine=engine)
    rows = []
    for i, tf in enumerate(frames):
        scorer.add(tf, score=i >= warm)
        if i < warm:
            continue
        pix = stash.get("r") or {}
        hands = {th.track_id: th for th in tf.result.hands}
        for key in scorer._det_active & set(tf.touches):
            th = hands.get(key[0])
            if th is None:
                continue
            j = np.asarray(th.pose.joints_xyz_mm, np.float64)
            tip = dict(th.pose.joint_set.tips)[key[1]]
            r = pix.get(key)
            rows.append({
                "tag": tag, "frame": i, "hand": key[0], "finger": int(key[1]), "tip": j[tip],
                "dir": distal_directions(j, th.pose.joint_set)[int(key[1])], "truth": np.asarray(tf.touches[key]),
                "ok": r is not None and r.ok, "height": np.nan if r is None else r.height_mm,
                "xyz": None if r is None or r.xyz_mm is None else np.asarray(r.xyz_mm),
                "n": 0 if r is None else r.pixels,
                "resting": r is not None and r.resting, "noise": np.nan if r is None else r.noise_mm,
                "sigma": np.nan if r is None else r.sigma_mm,
                "true_tip": tf.true_joints_xyz_mm[key[0]][tip] if key[0] in tf.true_joints_xyz_mm else None,
            })  # fmt: skip
    return rows


if __name__ == "__main__":
    if sys.argv[1] == "pipeline":
        import touch_pipeline_cache as tpc

        rows = collect(tpc.frames(False), tpc.table_plane(), tag="pipeline")
        out = sys.argv[2]
    else:
        import touch_stress_cache as cache

        from depthhand.bench.touch_stress import POSE_MODELS
        from depthhand.evaluate.touch import truth_frames_from_stress
        from depthhand.synth.touch_scenes import CONDITIONS, NOISE_MODELS

        seed, pm, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        rows = []
        for cond in CONDITIONS:
            for noise in NOISE_MODELS:
                for h in (800.0, 1200.0):
                    stress = cache.load(cond, noise, h, seed, 6.0)
                    warm = sum(f.warmup for f in stress)
                    fr = list(truth_frames_from_stress(stress, *POSE_MODELS[pm], seed=seed))
                    rows += collect(fr, stress[0].plane, warm, f"{cond}|{noise}@{h / 1000:g}")
            print(cond, len(rows), flush=True)
    with open(out, "wb") as f:
        pickle.dump(rows, f)
    print(len(rows), "rows")
