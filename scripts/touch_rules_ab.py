"""Engine time per frame with the palm / veto rules on and off, alternating (cached stress renders).

Usage: python scripts/touch_rules_ab.py ROUNDS k=v ...   (k=v: the settings that switch the rules off)
Prints the steady-state mean ms per frame (frames after the surface model learned) per round and variant.
"""

from __future__ import annotations

import sys
import time

import touch_stress_cache as cache

from depthhand.bench.touch_stress import POSE_MODELS
from depthhand.evaluate.touch import truth_frames_from_stress
from depthhand.interact.engine import Interaction
from depthhand.interact.touch import TouchSettings

SEQS = [("palm", "structured_light", 800.0), ("tap80_low", "tof", 1200.0), ("hover", "active_stereo", 800.0)]


def run(settings: TouchSettings, seqs: list) -> float:
    """Mean ms per steady frame over the sequences."""
    total, n = 0.0, 0
    for stress, frames in seqs:
        eng = Interaction(touch=settings, plane=stress[0].plane)
        for k, tf in enumerate(frames):
            t0 = time.perf_counter()
            eng.process(tf.result, tf.depth_mm)
            if k > 35:
                total += time.perf_counter() - t0
                n += 1
    return total / n * 1e3


def main() -> None:
    """Alternate the two variants."""
    rounds = int(sys.argv[1])
    off = {k: float(v) if "." in v else int(v) for k, v in (a.split("=") for a in sys.argv[2:])}
    seqs = []
    for cond, noise, h in SEQS:
        stress = cache.load(cond, noise, h, 0, 6.0)
        seqs.append((stress, list(truth_frames_from_stress(stress, *POSE_MODELS["net9"], seed=0))))
    for r in range(rounds):
        a = run(TouchSettings(), seqs)
        b = run(TouchSettings(**off), seqs)
        print(f"round {r}: rules on {a:.3f} ms, off {b:.3f} ms, on - off {a - b:+.3f} ms", flush=True)


if __name__ == "__main__":
    main()
