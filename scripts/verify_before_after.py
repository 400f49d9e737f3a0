"""Run benchmarks with the pose-stage verification off and on, same code and session (BENCHMARKS.md figures).

Every benchmark runs with the verification off, then every one with it on (the hard-set and real figures are
computed once per state and shared by their benchmarks); "off" builds every
:class:`~depthhand.pipeline.PipelineOptions` with
``verify=False`` (the benchmarks construct their options inside, so the class is swapped for that run only).

Usage::

    PYTHONPATH=src python scripts/verify_before_after.py OUT.json detect.hard.all pipeline.accuracy_live ...
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any


@contextmanager
def option_default(name: str, value: Any) -> Any:
    """While active, every new ``PipelineOptions`` defaults to ``name=value``."""
    import depthhand.pipeline as pl

    original = pl.PipelineOptions

    def options(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault(name, value)
        return original(*args, **kwargs)

    pl.PipelineOptions = options  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        pl.PipelineOptions = original  # type: ignore[misc]


def verification(on: bool) -> Any:
    """While active, every new ``PipelineOptions`` defaults to ``verify=on``."""
    return option_default("verify", on)


def compare(option: str, states: dict[str, Any], out: str, names: list[str]) -> None:
    """Run every benchmark of ``names`` with ``option`` at each state's value in turn; JSON ``{name: {state: ...}}``.

    The hard-set and real figures are computed once per state and shared by their benchmarks.
    """
    import dataclasses

    import depthhand.bench  # noqa: F401  (registers every benchmark)
    from depthhand.bench import hard, real
    from depthhand.bench.core import run_benchmarks

    results: dict[str, dict[str, Any]] = {}
    for state, value in states.items():
        hard.hard_figures.cache_clear()
        real.sequence_figures.cache_clear()
        for name in names:
            with option_default(option, value):
                (r,) = run_benchmarks([name])
            results.setdefault(name, {})[state] = dataclasses.asdict(r)
            print(name, option, state, f"{r.value:.4f} {r.unit}", flush=True)
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1, default=str)


def main() -> None:
    """Command line (module docstring)."""
    compare("verify", {"off": False, "on": True}, sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
