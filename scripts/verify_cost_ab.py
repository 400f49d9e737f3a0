"""Cost of ``verify_signals`` + ``plausibility``: an older ``verify.py`` against the tree's, alternating in one process.

Alone: the candidates of the ``pose.verify`` benchmark (training scenes), rounds alternating old → new and new → old
(the first a warm-up). In the pipeline: the live synthetic source, old and new verifier on alternate frames (the
``verify`` timing per hand). Prints the median (and mean) microseconds per hand of each.

Usage::

    git show main:src/depthhand/pose/verify.py > /tmp/old_verify.py
    PYTHONPATH=src python scripts/verify_cost_ab.py /tmp/old_verify.py
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from typing import Any


def main() -> None:
    """Command line (module docstring)."""
    from depthhand.bench.verify import _candidates
    from depthhand.pose import verify as new

    spec = importlib.util.spec_from_file_location("old_verify", sys.argv[1])
    assert spec is not None and spec.loader is not None, sys.argv[1]
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_verify"] = old  # dataclasses look their module up
    spec.loader.exec_module(old)
    cube, cands = _candidates(False)
    res: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(12):
        for name, mod in (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old)):
            for patch, pose, c, k in cands:
                t0 = time.perf_counter()
                mod.plausibility(mod.verify_signals(patch, pose, c, cube, k))
                if r > 0:
                    res[name].append((time.perf_counter() - t0) * 1e6)
    _report(f"alone, {len(cands)} candidates", res)
    _report("in the pipeline (timing key verify)", _in_pipeline(old))


def _in_pipeline(old: Any) -> dict[str, list[float]]:
    """The pipeline's ``verify`` time per hand on the live synthetic source, old and new verifier on alternate frames.

    Here the verification runs right after the networks, as in ``depthhand run`` (caches cold).
    """
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.synth.live import SyntheticLive

    live = SyntheticLive(seed=3, max_hands=1)
    res: dict[str, list[float]] = {"old": [], "new": []}
    with HandPipeline(PipelineOptions(max_hands=2, num_threads=2, verify=True, detect_every=1)) as pipe:
        verifiers = {"new": pipe.verifier, "old": old.HandVerifier(pipe.estimator.cube_mm)}
        for i in range(400):
            name = "old" if i % 2 else "new"
            pipe.verifier = verifiers[name]
            frame, _ = live.next_frame()
            result = pipe.process(frame)
            n = len(result.hands)
            if i >= 10 and n and "verify" in result.timings_ms:
                res[name].append(result.timings_ms["verify"] * 1e3 / n)
    return res


def _report(what: str, res: dict[str, list[float]]) -> None:
    o, n = statistics.median(res["old"]), statistics.median(res["new"])
    print(
        f"{what}: {len(res['new'])} timings each: old median {o:.0f} us, new median {n:.0f} us, "
        f"ratio old/new {o / n:.2f}; means {statistics.fmean(res['old']):.0f} / {statistics.fmean(res['new']):.0f} us"
    )


if __name__ == "__main__":
    main()
