"""Run benchmarks with ``PipelineOptions.recenter`` 0 and 1, same code and session (BENCHMARKS.md figures).

As ``scripts/verify_before_after.py``: every benchmark runs with re-centring off, then every one with it on (the
hard-set and real figures are computed once per state); the benchmarks build their options inside, so the class is
swapped for that run only, with ``recenter`` defaulting to the state's value.

Usage::

    PYTHONPATH=src python scripts/recenter_before_after.py OUT.json detect.hard.all pipeline.accuracy_live ...
"""

from __future__ import annotations

import sys

from verify_before_after import compare  # (scripts/ is on sys.path when a script runs)


def main() -> None:
    """Command line (module docstring)."""
    compare("recenter", {"recenter0": 0, "recenter1": 1}, sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
