"""End-to-end pipeline benchmarks: detect + crop + pose + track on 640×480 synthetic frames, and accuracy."""

from __future__ import annotations

import time
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


def _run_block(pipe: Any, frames: list[Any], stages: dict[str, list[float]], cpu: list[float], fps: float = 0.0) -> int:
    """Process ``frames`` in order from a fresh state; per-frame stage times and CPU time; detector runs.

    ``fps`` > 0 hands the frames over at a camera's pace: each waits for its slot, ``1/fps`` after the last.
    """
    pipe.reset()
    detections = pipe.detections
    slot = time.perf_counter()
    for frame, _truth in frames:
        if fps > 0:
            slot += 1.0 / fps
            time.sleep(max(slot - time.perf_counter(), 0.0))
        c0 = time.process_time()
        result = pipe.process(frame)
        cpu.append((time.process_time() - c0) * 1e3)
        for k, v in result.timings_ms.items():
            stages.setdefault(k, []).append(v)
    return int(pipe.detections - detections)


def _latency(n_hands: int, quick: bool) -> BenchResult:
    """Wall (p50, p95) and CPU time per frame with ``detect_every`` 1 and the default, alternating in rounds."""
    from depthhand.pipeline import DEFAULT_DETECT_EVERY, HandPipeline, PipelineOptions

    frames = _live_frames(n_hands, 20 if quick else 200, seed=100 + n_hands)
    periods = (1, DEFAULT_DETECT_EVERY)
    pipes = {n: HandPipeline(PipelineOptions(max_hands=n_hands, num_threads=2, detect_every=n)) for n in periods}
    stages: dict[int, dict[str, list[float]]] = {n: {} for n in periods}
    cpu: dict[int, list[float]] = {n: [] for n in periods}
    detected = dict.fromkeys(periods, 0)
    try:
        for pipe in pipes.values():  # warm-up, not counted
            _run_block(pipe, frames[:5], {}, [])
        for _ in range(2 if quick else 6):
            for n, pipe in pipes.items():
                detected[n] += _run_block(pipe, frames, stages[n], cpu[n])
    finally:
        for pipe in pipes.values():
            pipe.close()
    details: dict[str, Any] = {"frames": len(frames), "detect_every": DEFAULT_DETECT_EVERY}
    for n in periods:
        tag = f"every{n}"
        details |= {f"{tag}_{k}_ms": float(np.median(v)) for k, v in stages[n].items()}
        details[f"{tag}_p95_ms"] = float(np.percentile(stages[n]["total"], 95))
        details[f"{tag}_cpu_ms"] = float(np.median(cpu[n]))
        details[f"{tag}_detected_fraction"] = detected[n] / len(stages[n]["total"])
    details["speedup_p50"] = details["every1_total_ms"] / details[f"every{DEFAULT_DETECT_EVERY}_total_ms"]
    best = details[f"every{DEFAULT_DETECT_EVERY}_total_ms"]
    return BenchResult(f"pipeline.{n_hands}hand", best, "ms", len(stages[DEFAULT_DETECT_EVERY]["total"]), details)


@benchmark(
    "pipeline.1hand",
    "640×480 live synthetic frames, one hand: whole pipeline, detect_every 1 vs default (median ms, p95, CPU)",
)
def one_hand(quick: bool) -> BenchResult:
    """One hand per frame."""
    return _latency(1, quick)


@benchmark(
    "pipeline.2hand",
    "640×480 live synthetic frames, two hands: whole pipeline, detect_every 1 vs default (median ms, p95, CPU)",
)
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


def _entering_hands(
    seed: int, frames: int, detect_every: int, max_hands: int = 2, **options: Any
) -> tuple[dict[str, float], dict[int, int], int]:
    """Accuracy on one live take, each entering hand's delay (frames from countable to found), detector runs.

    ``options`` are further :class:`~depthhand.pipeline.PipelineOptions` fields.
    """
    from depthhand.evaluate.live import LiveAccuracy, match_hands
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.runner import joints_in_view
    from depthhand.synth.live import SyntheticLive

    live = SyntheticLive(seed=seed, max_hands=2)
    countable: dict[int, int] = {}
    found: dict[int, int] = {}
    opts = PipelineOptions(max_hands=max_hands, num_threads=2, detect_every=detect_every, **options)
    with HandPipeline(opts) as pipe:
        acc = LiveAccuracy(pipe.joint_set)
        for f in range(frames):
            frame, truth = live.next_frame()
            hands = pipe.process(frame).hands
            in_view = joints_in_view(truth.joints_uvd, frame)
            acc.add_tracked(hands, truth, in_view)
            keep = in_view.reshape(-1, 21).mean(axis=1) >= 0.5  # LiveAccuracy's rule for a hand that counts
            for k, track_id in enumerate(truth.track_ids):
                if keep[k]:
                    countable.setdefault(track_id, f)
            fresh = np.array([h.pose.joints_xyz_mm.mean(axis=0) for h in hands if h.lost_frames == 0]).reshape(-1, 3)
            for _, t in match_hands(fresh, truth.joints_xyz_mm.mean(axis=1).reshape(-1, 3), acc.gate_mm):
                if keep[t]:
                    found.setdefault(truth.track_ids[t], f)
        detections = pipe.detections
    # hands in view from the first frame never "enter"; a hand never found counts until the end of the take
    delays = {t: found.get(t, frames) - f0 for t, f0 in countable.items() if f0 > 0}
    return acc.summary(), delays, detections


@benchmark(
    "pipeline.new_hands", "live takes (seeds 5-8): delay of entering hands and accuracy, detect_every 1 vs default"
)
def new_hands(quick: bool) -> BenchResult:
    """Frames from a hand's first countable frame (half its joints in view) to its first tracked pose.

    The takes are the same for both settings (the source does not depend on the pipeline), so the per-hand
    difference is the delay that following instead of detecting adds.
    """
    from depthhand.pipeline import DEFAULT_DETECT_EVERY

    seeds, frames = ((5,), 90) if quick else ((5, 6, 7, 8), 900)
    details: dict[str, Any] = {"detect_every": DEFAULT_DETECT_EVERY, "takes": len(seeds), "frames_per_take": frames}
    delays: dict[int, list[int]] = {}
    for n in (1, DEFAULT_DETECT_EVERY):
        acc: dict[str, list[float]] = {}
        runs, hand_delays = 0, []
        for seed in seeds:
            summary, d, detections = _entering_hands(seed, frames, n)
            runs += detections
            hand_delays += [d[t] for t in sorted(d)]
            for k in ("mean_error_mm", "hand_recall", "false_hands_per_frame"):
                acc.setdefault(k, []).append(summary[k])
        delays[n] = hand_delays
        tag = f"every{n}"
        details |= {f"{tag}_{k}": float(np.mean(v)) for k, v in acc.items()}
        details[f"{tag}_detected_fraction"] = runs / (frames * len(seeds))
        details[f"{tag}_delay_mean_frames"] = float(np.mean(hand_delays)) if hand_delays else float("nan")
    extra = np.array(delays[DEFAULT_DETECT_EVERY]) - np.array(delays[1]) if delays[1] else np.zeros(0)
    details["entering_hands"] = len(delays[1])
    details["extra_delay_mean_frames"] = float(extra.mean()) if len(extra) else float("nan")
    details["extra_delay_max_frames"] = float(extra.max()) if len(extra) else float("nan")
    value = details["extra_delay_mean_frames"]
    return BenchResult("pipeline.new_hands", value, "frames", len(extra), details)


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
