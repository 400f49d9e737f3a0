"""End-to-end pipeline benchmarks: detect + crop + pose + track on 640×480 synthetic frames, and accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark


def _frames(scene: str, n_hands: int, count: int, seed: int) -> list[Any]:
    from depthhand.structures import DepthFrame
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        sample = render_scene(sample_scene(scene, rng, n_hands=n_hands), rng)
        frame = DepthFrame(sample.depth_mm, sample.intrinsics, i * 33_333, f"bench:{scene}", i)
        out.append((frame, sample))
    return out


def _live_frames(n_hands: int, count: int, seed: int) -> list[Any]:
    """Consecutive frames of the animated synthetic source in which exactly ``n_hands`` hands are in view."""
    from depthhand.runner import joints_in_view
    from depthhand.synth.live import SyntheticLive

    live = SyntheticLive(seed=seed, max_hands=n_hands)
    out: list[Any] = []
    for _ in range(50 * count):
        frame, truth = live.next_frame()
        in_view = joints_in_view(truth.joints_uvd, frame).mean(axis=1) >= 0.8 if len(truth.joints_uvd) else []
        if int(np.sum(in_view)) == n_hands:
            out.append((frame, truth))
            if len(out) == count:
                break
    if not out:
        raise RuntimeError(f"no synthetic frame with {n_hands} hands in view")
    return out


def _latency(n_hands: int, quick: bool) -> BenchResult:
    from depthhand.pipeline import HandPipeline, PipelineOptions

    frames = _live_frames(n_hands, 20 if quick else 200, seed=100 + n_hands)
    reps = len(frames)
    stages: dict[str, list[float]] = {}
    hands = []
    with HandPipeline(PipelineOptions(max_hands=n_hands, num_threads=2)) as pipe:
        for i in range(5):
            pipe.process(frames[i % len(frames)][0])
        for i in range(reps):
            result = pipe.process(frames[i % len(frames)][0])
            hands.append(len([h for h in result.hands if h.lost_frames == 0]))
            for k, v in result.timings_ms.items():
                stages.setdefault(k, []).append(v)
    med = {f"{k}_ms": float(np.median(v)) for k, v in stages.items()}
    return BenchResult(
        f"pipeline.{n_hands}hand",
        med["total_ms"],
        "ms",
        reps,
        {**med, "p95_ms": float(np.percentile(stages["total"], 95)), "hands_per_frame": float(np.mean(hands))},
    )


@benchmark("pipeline.1hand", "640×480 live synthetic frames, one hand: detect + crop + pose + track (median ms)")
def one_hand(quick: bool) -> BenchResult:
    """One hand per frame."""
    return _latency(1, quick)


@benchmark("pipeline.2hand", "640×480 live synthetic frames, two hands: detect + crop + pose + track (median ms)")
def two_hands(quick: bool) -> BenchResult:
    """Two hands per frame."""
    return _latency(2, quick)


def _accuracy(scene: str, quick: bool, refine: bool | None = None, suffix: str | None = None) -> BenchResult:
    from depthhand.evaluate.live import LiveAccuracy
    from depthhand.pipeline import DEFAULT_REFINE, HandPipeline, PipelineOptions
    from depthhand.runner import joints_in_view
    from depthhand.track.tracker import TrackerConfig

    refine = DEFAULT_REFINE if refine is None else refine
    frames = _frames(scene, 1, 20 if quick else 300, seed=2024)
    summaries = {}
    for min_score in (0.5, 0.3):  # the default birth threshold, and the detector's own threshold
        tracker = TrackerConfig(birth_score=min_score)
        options = PipelineOptions(max_hands=2, num_threads=2, tracker=tracker, refine=refine)
        with HandPipeline(options) as pipe:
            acc = LiveAccuracy(pipe.joint_set)
            for frame, sample in frames:
                pipe.tracker.reset()  # independent frames: no smoothing across them, every hand must be born
                result = pipe.process(frame)
                pred = np.array([h.pose.joints_xyz_mm for h in result.hands]).reshape(-1, pipe.joint_set.num_joints, 3)
                acc.add(
                    pred,
                    sample.joints_xyz_mm,
                    joints_in_view(sample.joints_uvd, frame),
                    pred_handedness=[h.pose.handedness for h in result.hands],
                    true_handedness=sample.handedness,
                )
        summaries[min_score] = acc.summary()
    s = summaries[0.5] | {f"min_score_0.3_{k}": v for k, v in summaries[0.3].items() if k != "frames"}
    name = f"pipeline.accuracy_{scene}" + ("" if suffix is None else suffix)
    return BenchResult(name, s["mean_error_mm"], "mm", int(s["frames"]), s | {"refine": refine})


def _accuracy_live(quick: bool, refine: bool | None = None, suffix: str | None = None) -> BenchResult:
    from depthhand.evaluate.live import LiveAccuracy
    from depthhand.pipeline import DEFAULT_REFINE, HandPipeline, PipelineOptions
    from depthhand.runner import joints_in_view
    from depthhand.synth.live import SyntheticLive

    refine = DEFAULT_REFINE if refine is None else refine
    live = SyntheticLive(seed=5, max_hands=2)
    n = 60 if quick else 900
    with HandPipeline(PipelineOptions(max_hands=2, num_threads=2, refine=refine)) as pipe:
        acc = LiveAccuracy(pipe.joint_set)
        for _ in range(n):
            frame, truth = live.next_frame()
            acc.add_tracked(pipe.process(frame).hands, truth, joints_in_view(truth.joints_uvd, frame))
    s = acc.summary()
    name = "pipeline.accuracy_live" + ("" if suffix is None else suffix)
    return BenchResult(name, s["mean_error_mm"], "mm", int(s["frames"]), s | {"refine": refine})


@benchmark("pipeline.accuracy_live", "whole pipeline on the animated top-down source (tracking on): 3D error, recall")
def accuracy_live(quick: bool) -> BenchResult:
    """Consecutive frames of ``SyntheticLive`` (seed 5, up to 2 hands), as ``depthhand run`` sees them."""
    return _accuracy_live(quick)


@benchmark("pipeline.accuracy_live_norefine", "pipeline.accuracy_live with the model-based refinement off")
def accuracy_live_norefine(quick: bool) -> BenchResult:
    """As ``pipeline.accuracy_live``, ``refine=False``."""
    return _accuracy_live(quick, refine=False, suffix="_norefine")


@benchmark("pipeline.accuracy_live_refine", "pipeline.accuracy_live with the model-based refinement on")
def accuracy_live_refine(quick: bool) -> BenchResult:
    """As ``pipeline.accuracy_live``, ``refine=True``."""
    return _accuracy_live(quick, refine=True, suffix="_refine")


@benchmark("pipeline.accuracy_topdown", "whole pipeline (detected centres) on held-out topdown frames: mean 3D error")
def accuracy_topdown(quick: bool) -> BenchResult:
    """Top-down scenes."""
    return _accuracy("topdown", quick)


@benchmark("pipeline.accuracy_frontal", "whole pipeline (detected centres) on held-out frontal frames: mean 3D error")
def accuracy_frontal(quick: bool) -> BenchResult:
    """Frontal scenes."""
    return _accuracy("frontal", quick)


def _register_variants() -> None:
    for scene in ("topdown", "frontal"):
        for refine, suffix in ((False, "_norefine"), (True, "_refine")):

            def run(quick: bool, scene: str = scene, refine: bool = refine, suffix: str = suffix) -> BenchResult:
                return _accuracy(scene, quick, refine=refine, suffix=suffix)

            state = "on" if refine else "off"
            benchmark(f"pipeline.accuracy_{scene}{suffix}", f"pipeline.accuracy_{scene} with the refinement {state}")(
                run
            )


_register_variants()
