"""Run benchmarks with ``PipelineOptions.recenter`` 0 and 1, same code and session (BENCHMARKS.md figures).

As ``scripts/verify_before_after.py``: every benchmark runs with re-centring off, then every one with it on (the
hard-set and real figures are computed once per state); the benchmarks build their options inside, so the class is
swapped for that run only, with ``recenter`` defaulting to the state's value.

Usage::

    PYTHONPATH=src python scripts/recenter_before_after.py OUT.json detect.hard.all pipeline.accuracy_live ...
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any


@contextmanager
def recentring(passes: int) -> Any:
    """While active, every new ``PipelineOptions`` defaults to ``recenter=passes``."""
    import depthhand.pipeline as pl

    original = pl.PipelineOptions

    def options(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("recenter", passes)
        return original(*args, **kwargs)

    pl.PipelineOptions = options  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        pl.PipelineOptions = original  # type: ignore[misc]


def main() -> None:
    """Command line (module docstring)."""
    import dataclasses

    import depthhand.bench  # noqa: F401  (registers every benchmark)
    from depthhand.bench import hard, real
    from depthhand.bench.core import run_benchmarks

    out, names = sys.argv[1], sys.argv[2:]
    results: dict[str, dict[str, Any]] = {}
    for passes in (0, 1):
        hard.hard_figures.cache_clear()
        real.sequence_figures.cache_clear()
        for name in names:
            with recentring(passes):
                (r,) = run_benchmarks([name])
            results.setdefault(name, {})[f"recenter{passes}"] = dataclasses.asdict(r)
            print(name, "recenter", passes, f"{r.value:.4f} {r.unit}", flush=True)
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
