"""Label-free checks on real depth frames (``depthhand bench real``): the default pipeline on real sensors.

For each real sequence of :data:`depthhand.evaluate.real_sequence.REAL_SEQUENCES` (today ``sr305_desk``), six
benchmarks, each headlining one figure (definitions in :mod:`depthhand.evaluate.real_checks`):

* ``real.<seq>.found``: fraction of frames with a hand (details: labelled hand found, false hands per frame);
* ``real.<seq>.on_hand``: fraction of projected joints on hand pixels;
* ``real.<seq>.surface``: fraction of joints more than 10 mm in front of the observed surface (implausible), with
  the offset distribution per joint group;
* ``real.<seq>.bones``: fraction of bone lengths within the human range, with each bone's CV along the track;
* ``real.<seq>.jitter``: median frame-to-frame joint displacement, mm (p95, and without the palm's rigid motion);
* ``real.<seq>.residual``: mean point-to-skeleton-capsule distance of the observed hand points, mm.

The pipeline runs once per sequence and process (the figures are cached); ``quick`` changes nothing (11 frames).
The contact sheet of the same run is written by ``scripts/real_contact_sheet.py``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from depthhand.bench.core import BenchResult, benchmark
from depthhand.evaluate.real_sequence import REAL_SEQUENCES


@cache
def sequence_figures(name: str) -> dict[str, Any]:
    """:func:`~depthhand.evaluate.real_sequence.summarise` of one run of the sequence ``name`` (cached).

    Raises:
        FileNotFoundError: The sequence's frames are not in the shared folder (naming it and ``$DEPTHHAND_SHARED``).
    """
    from depthhand.evaluate.real_sequence import run_sequence, summarise

    return summarise(run_sequence(REAL_SEQUENCES[name]))


def _nan() -> float:
    return float("nan")


def _register(seq: str) -> None:
    def result(metric: str, value: float, unit: str, samples: int, details: dict[str, Any]) -> BenchResult:
        return BenchResult(f"real.{seq}.{metric}", float(value), unit, int(samples), details)

    @benchmark(f"real.{seq}.found", f"{seq}: fraction of real frames with a hand (default pipeline, as predict)")
    def found(quick: bool) -> BenchResult:
        s = sequence_figures(seq)
        keys = ("frames", "frames_with_hand", "hands_per_frame", "labelled_frames", "labelled_found", "false_hands",
                "false_hands_per_frame")  # fmt: skip
        return result("found", s["found_fraction"], "fraction", s["frames"], {k: s[k] for k in keys if k in s})

    @benchmark(f"real.{seq}.on_hand", f"{seq}: fraction of projected joints on hand pixels")
    def on_hand(quick: bool) -> BenchResult:
        s = sequence_figures(seq)
        details = {"on_hand_strict_fraction": s.get("on_hand_strict_fraction", _nan())}
        details |= {f"group_{k}": v for k, v in s.get("on_hand_per_group", {}).items()}
        details["per_frame"] = s.get("on_hand_per_frame", {})
        n = s["frames_with_hand"] * s.get("joints", 0)
        return result("on_hand", s.get("on_hand_fraction", _nan()), "fraction", n, details)

    @benchmark(f"real.{seq}.surface", f"{seq}: joints > 10 mm in front of the observed surface (fraction)")
    def surface(quick: bool) -> BenchResult:
        s = sequence_figures(seq).get("surface", {})
        allj = s.get("all", {})
        details = {f"{g}_{k}": v for g, d in s.items() for k, v in d.items()}
        return result("surface", allj.get("front_10mm", _nan()), "fraction", allj.get("n", 0), details)

    @benchmark(f"real.{seq}.bones", f"{seq}: bone lengths within the human range (fraction), CV along the track")
    def bones(quick: bool) -> BenchResult:
        s = sequence_figures(seq)
        b = s.get("bones", {})
        details = {k: v for k, v in b.items() if k != "per_bone"}
        details |= {f"cv_{k}": v["cv"] for k, v in b.get("per_bone", {}).items()}
        n = s["frames_with_hand"] * len(b.get("per_bone", {}))
        return result("bones", b.get("in_range_fraction", _nan()), "fraction", n, details)

    @benchmark(f"real.{seq}.jitter", f"{seq}: median frame-to-frame joint displacement along the sequence (mm)")
    def jitter(quick: bool) -> BenchResult:
        j = sequence_figures(seq)["jitter"]
        return result("jitter", j["median_mm"], "mm", j["pairs"], {k: v for k, v in j.items() if k != "median_mm"})

    @benchmark(f"real.{seq}.residual", f"{seq}: mean distance of the hand's depth points to the skeleton capsules")
    def residual(quick: bool) -> BenchResult:
        s = sequence_figures(seq)
        r = s.get("residual", {})
        details = {k: v for k, v in r.items() if k != "frame_mean_mm"}
        return result("residual", r.get("mean_mm", _nan()), "mm", s["frames_with_hand"], details)


for _name in REAL_SEQUENCES:
    _register(_name)
