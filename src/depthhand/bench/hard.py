"""The held-out synthetic hard set (``depthhand bench detect.hard``): per case, the pipeline as ``predict`` runs it.

``detect.hard.<case>`` headlines the recall of case ``<case>`` (:data:`depthhand.synth.hard_scenes.HARD_CASES`;
``no_hand`` headlines false hands per frame) with false hands per frame, centre error, handedness accuracy and the
whole-pipeline joint error in the details; ``detect.hard.all`` the whole set, with every sensor family's figures.
``detect.hard_geo.*`` is the same with the geometric-proposal detector (``--detector geo``). The set is regenerated
from :data:`~depthhand.evaluate.hard_set.HARD_SEED` (48 frames per case, 12 with ``quick``) and the pipeline runs
once per detector and process.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from depthhand.bench.core import BenchResult, benchmark

_DETECTORS = {"hard": "auto", "hard_geo": "geo"}


@cache
def _frames(quick: bool) -> list[Any]:
    from depthhand.evaluate.hard_set import DEFAULT_PER_CASE, generate_hard_set

    return generate_hard_set(12 if quick else DEFAULT_PER_CASE)


@cache
def hard_figures(detector: str, quick: bool) -> dict[str, Any]:
    """:func:`~depthhand.evaluate.hard_set.evaluate_hard_set` with ``--detector detector`` (cached)."""
    from depthhand.evaluate.hard_set import evaluate_hard_set
    from depthhand.pipeline import PipelineOptions

    return evaluate_hard_set(_frames(quick), PipelineOptions(detector=detector))


def _register(group: str, detector: str) -> None:
    from depthhand.synth.hard_scenes import HARD_CASES

    def make(case: str) -> None:
        @benchmark(f"detect.{group}.{case}", f"hard set, case {case}: recall (--detector {detector}, as predict)")
        def run(quick: bool) -> BenchResult:
            s = hard_figures(detector, quick)["per_case"][case]
            head, unit = ("false_hands_per_frame", "false hands/frame") if case == "no_hand" else ("recall", "recall")
            return BenchResult(f"detect.{group}.{case}", s[head], unit, int(s["frames"]), dict(s))

    for c in HARD_CASES:
        make(c)

    @benchmark(f"detect.{group}.all", f"hard set, all cases: recall (--detector {detector}), per sensor family")
    def run_all(quick: bool) -> BenchResult:
        r = hard_figures(detector, quick)
        s = r["all"]
        details = dict(s) | {
            f"{fam}_{k}": v[k] for fam, v in r["per_family"].items() for k in ("recall", "false_hands_per_frame")
        }
        return BenchResult(f"detect.{group}.all", s["recall"], "recall", int(s["frames"]), details)


for _group, _det in _DETECTORS.items():
    _register(_group, _det)
