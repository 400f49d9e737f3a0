"""One hand or two, back to back: detect_overlap off/after × verification on/off, alternating in rounds (BENCHMARKS.md).

Usage::

    PYTHONPATH=src python scripts/pipeline_variants_ab.py 1   # or 2 (hands)

Prints per variant the median and 95th percentile of the frame time (ms) and the process's CPU time per frame (ms,
worker threads included) over 200 live frames × 4 rounds: :mod:`pipeline_ab` with these four variants.
"""

from __future__ import annotations

import sys

from pipeline_ab import main as ab_main

VARIANTS = [
    f"detect_overlap={overlap},verify={str(verify).lower()}" for verify in (True, False) for overlap in ("off", "after")
]


if __name__ == "__main__":
    sys.argv = [sys.argv[0], sys.argv[1], "--rounds", "4", *VARIANTS]
    ab_main()
