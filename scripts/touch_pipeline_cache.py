"""`serve.touch_pipeline` with the pipeline's output cached, so touch variants are scored without re-running it.

Usage:
    python scripts/touch_pipeline_cache.py run             # pipeline once over SyntheticLive(seed=1), 1,800 frames
    python scripts/touch_pipeline_cache.py eval [K=V ...]   # score the fused and pose rules (TouchSettings overrides)

``eval`` scores against both truths: the foot of the tip-sphere centre (``centre``, the benchmark's truth now) and
the foot of the tip joint (``joint``, the truth before). Same figures as ``depthhand bench serve.touch_pipeline``.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path("/tmp/touch_pipeline_cache")
N = 1800


def run() -> None:
    """Run the shipped pipeline once and cache results, truths and depth."""
    from depthhand.pipeline import HandPipeline
    from depthhand.synth.live import SyntheticLive

    CACHE.mkdir(exist_ok=True)
    live = SyntheticLive(seed=1)
    results, truths = [], []
    depth = np.lib.format.open_memmap(CACHE / "depth.npy", "w+", np.float32, (N, 480, 640))
    t0 = time.perf_counter()
    with HandPipeline() as pipe:
        for i, (frame, truth) in zip(range(N), live, strict=False):
            results.append(pipe.process(frame))
            truths.append(truth)
            depth[i] = frame.depth_mm
            if i % 200 == 0:
                print(i, round(time.perf_counter() - t0, 1), flush=True)
    depth.flush()
    (CACHE / "meta.pkl").write_bytes(pickle.dumps((results, truths)))


def frames(joint_truth: bool) -> list:
    """The cached TruthFrames (``joint_truth``: the tip joint's foot as the contact, the truth before)."""
    from depthhand.evaluate.touch import relabel_to_truth, synthetic_truth_frame

    results, truths = pickle.loads((CACHE / "meta.pkl").read_bytes())
    depth = np.load(CACHE / "depth.npy", mmap_mode="r")
    out = []
    for i, (r, t) in enumerate(zip(results, truths, strict=True)):
        if joint_truth:
            t = dataclasses.replace(t, tip_centres_xyz_mm=None)
        out.append(synthetic_truth_frame(relabel_to_truth(r, t), t, depth[i]))
    return out


def table_plane() -> Any:
    """The cached run's true table plane (:func:`depthhand.evaluate.touch.truth_table_plane` of its first truth)."""
    from depthhand.evaluate.touch import truth_table_plane

    _results, truths = pickle.loads((CACHE / "meta.pkl").read_bytes())
    return truth_table_plane(truths[0])


def _value(v: str) -> object:
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def evaluate(overrides: dict[str, object]) -> dict[str, dict[str, float]]:
    """Score the fused and pose rules with ``overrides`` against both truths.

    Keys ``surface.NAME`` set :class:`~depthhand.interact.surface.SurfaceSettings` fields, ``fused.NAME``
    :class:`~depthhand.interact.fused.FusedSettings` fields, ``contact.NAME``
    :class:`~depthhand.interact.contact.ContactSettings` fields, the others
    :class:`~depthhand.interact.touch.TouchSettings` fields.
    """
    from depthhand.evaluate.touch import evaluate_touch
    from depthhand.interact.engine import Interaction
    from depthhand.interact.surface import SurfaceSettings
    from depthhand.interact.touch import TouchSettings

    plane = table_plane()
    from depthhand.interact.contact import ContactSettings
    from depthhand.interact.fused import FusedSettings

    surface = {k.removeprefix("surface."): v for k, v in overrides.items() if k.startswith("surface.")}
    fused = {k.removeprefix("fused."): v for k, v in overrides.items() if k.startswith("fused.")}
    contact = {k.removeprefix("contact."): v for k, v in overrides.items() if k.startswith("contact.")}
    touch = {k: v for k, v in overrides.items() if not k.startswith(("surface.", "fused.", "contact."))}
    if fused:
        touch["fused"] = FusedSettings(**fused)  # type: ignore[arg-type]
    out = {}
    for truth in ("centre", "joint"):
        fr = frames(truth == "joint")
        for rule in ("fused", "pose"):
            settings = TouchSettings(rule=rule, **touch)  # type: ignore[arg-type]
            engine = Interaction(
                touch=settings, plane=plane, surface_settings=SurfaceSettings(**surface),  # type: ignore[arg-type]
                contact=ContactSettings(**contact),  # type: ignore[arg-type]
            )  # fmt: skip
            rep = evaluate_touch(fr, plane, settings, engine=engine)
            e = rep.position_error_mm
            row = {
                "precision": round(rep.precision, 3), "recall": round(rep.recall, 3),
                "false_per_min": round(rep.false_touches_per_min, 2), "median": round(e["median"], 2),
                "mean": round(e["mean"], 2), "p95": round(e["p95"], 2), "delay": round(rep.down_delay_frames, 2),
            }  # fmt: skip
            out[f"{truth}:{rule}"] = row
            print(f"{truth:6s} {rule:5s}", row, flush=True)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run()
    else:
        evaluate({k: _value(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])})
