"""Render touch-stress sequences once to /tmp (raw .npy depth stacks) so diagnosis sub-runs do not re-render.

Usage: python scripts/touch_stress_cache.py COND[,COND...] SEED [DURATION_S]
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path("/tmp/touch_cache")


def path(cond: str, noise: str, height: float, seed: int, dur: float) -> Path:
    """The cache stem of one sequence."""
    return CACHE / f"{cond}_{noise}_{int(height)}_{seed}_{dur:g}"


def load(cond: str, noise: str, height: float, seed: int, dur: float) -> list:
    """The cached frames (depth memory-mapped) as StressFrame objects."""
    from dataclasses import replace

    p = path(cond, noise, height, seed, dur)
    depth = np.load(p.with_suffix(".npy"), mmap_mode="r")
    meta = pickle.loads(p.with_suffix(".pkl").read_bytes())
    return [replace(m, depth_mm=depth[i]) for i, m in enumerate(meta)]


def render(cond: str, noise: str, height: float, seed: int, dur: float) -> None:
    """Render one sequence into the cache (nothing when it is there)."""
    from dataclasses import replace

    from depthhand.synth.touch_scenes import stress_sequence

    p = path(cond, noise, height, seed, dur)
    if p.with_suffix(".pkl").exists():
        return
    frames = list(stress_sequence(cond, seed, noise, height, duration_s=dur))
    np.save(p.with_suffix(".npy"), np.stack([f.depth_mm for f in frames]))
    meta = [replace(f, depth_mm=np.zeros((1, 1), np.float32)) for f in frames]
    p.with_suffix(".pkl").write_bytes(pickle.dumps(meta))


def main() -> None:
    """Render the sequences named on the command line."""
    from depthhand.synth.touch_scenes import CONDITIONS, NOISE_MODELS

    conds = CONDITIONS if sys.argv[1] == "all" else tuple(sys.argv[1].split(","))
    seed = int(sys.argv[2])
    dur = float(sys.argv[3]) if len(sys.argv) > 3 else 6.0
    CACHE.mkdir(exist_ok=True)
    for cond in conds:
        for noise in NOISE_MODELS:
            for h in (800.0, 1200.0):
                t0 = time.perf_counter()
                render(cond, noise, h, seed, dur)
                print(cond, noise, h, f"{time.perf_counter() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
