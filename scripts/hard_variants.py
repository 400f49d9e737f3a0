"""Pipeline variants on the *training* hard scenes (seed 5150, never the held-out 170017): per-case figures.

Each variant is a set of :class:`~depthhand.pipeline.PipelineOptions` fields given as ``name=field:value,...``
(values parsed as Python literals); ``base`` is today's defaults. Usage::

    PYTHONPATH=src python scripts/hard_variants.py [--per-case 48] [--seed 5150] base rc1=recenter:1
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import time

TRAIN_SEED = 5150


def main() -> None:
    """Command line (module docstring)."""
    from depthhand.evaluate.hard_set import HARD_SEED, evaluate_hard_set, format_cases, generate_hard_set
    from depthhand.pipeline import PipelineOptions

    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--per-case", type=int, default=48)
    ap.add_argument("--seed", type=int, default=TRAIN_SEED)
    a = ap.parse_args()
    if a.seed == HARD_SEED:
        raise SystemExit("the held-out hard set is measured with `depthhand bench detect.hard.*`, not tuned on here")
    frames = generate_hard_set(a.per_case, a.seed)
    for spec in a.variants:
        name, _, fields = spec.partition("=")
        changes = {}
        for item in filter(None, fields.split(",")):
            key, _, value = item.partition(":")
            changes[key] = ast.literal_eval(value)
        t0 = time.perf_counter()
        result = evaluate_hard_set(frames, dataclasses.replace(PipelineOptions(), **changes))
        print(f"### {name} {changes} ({time.perf_counter() - t0:.0f} s)")
        print(format_cases(result), flush=True)


if __name__ == "__main__":
    main()
