"""Touch-engine variants on the cached live take, alternating frame by frame in one process: time per frame.

Usage::

    PYTHONPATH=src:scripts python scripts/touch_engine_ab.py ROUNDS VARIANT [VARIANT ...]

Needs ``python scripts/touch_pipeline_cache.py run`` first. Each ``VARIANT`` is ``default`` or a comma-separated list
of ``contact.NAME=V`` (:class:`~depthhand.interact.contact.ContactSettings`) and ``NAME=V``
(:class:`~depthhand.interact.touch.TouchSettings`) items, e.g. ``contact.near_table_mm=90``. Every variant gets a
fresh engine per round and processes each of the take's first 1,200 frames in turn with the others (the order
reversed every other round), so the machine's drift touches all alike; the first 100 frames (the surface model
learning) are not timed.
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np
import touch_pipeline_cache as cache

from depthhand.interact.contact import ContactSettings
from depthhand.interact.engine import Interaction
from depthhand.interact.touch import TouchSettings

FRAMES = 1200
WARM = 100


def engine(variant: str, plane: object) -> Interaction:
    """A fresh engine with ``variant``'s overrides."""
    items = [] if variant == "default" else [item.split("=", 1) for item in variant.split(",")]
    contact = {k.removeprefix("contact."): cache._value(v) for k, v in items if k.startswith("contact.")}
    touch = {k: cache._value(v) for k, v in items if not k.startswith("contact.")}
    return Interaction(touch=TouchSettings(**touch), plane=plane, contact=ContactSettings(**contact))  # type: ignore[arg-type]


def main() -> None:
    """Command line (module docstring)."""
    rounds, variants = int(sys.argv[1]), sys.argv[2:]
    results, _truths = pickle.loads((cache.CACHE / "meta.pkl").read_bytes())
    depth = np.load(cache.CACHE / "depth.npy", mmap_mode="r")
    frames = np.array(depth[:FRAMES])
    plane = cache.table_plane()
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(rounds):
        engines = {v: engine(v, plane) for v in variants}
        order = variants if r % 2 == 0 else variants[::-1]
        for i in range(FRAMES):
            for v in order:
                t0 = time.perf_counter()
                engines[v].process(results[i], frames[i])
                if i >= WARM:
                    times[v].append(time.perf_counter() - t0)
    for v, x in times.items():
        t = np.array(x) * 1e3
        print(f"{v:40s} mean {t.mean():.3f} median {np.median(t):.3f} p95 {np.percentile(t, 95):.3f} ms")


if __name__ == "__main__":
    main()
