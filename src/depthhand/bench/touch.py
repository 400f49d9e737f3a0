"""Touch quality on the synthetic live source (``serve.touch_synthetic``, ``serve.touch_pipeline``).

Both score :func:`depthhand.evaluate.touch.evaluate_touch` on the animated top-down scene of
:class:`depthhand.synth.live.SyntheticLive` (seed 1), whose renderer marks each fingertip within 3 mm of the table as
touching, against the true table plane. ``touch_synthetic`` feeds the true joints (+ 0 / 2 mm jitter), isolating the
touch logic; ``touch_pipeline`` feeds what the shipped detector + pose model + tracker find in the rendered depth.

Settings: ``default`` = :class:`TouchSettings` defaults (10 / 18 mm, meant for pose-model noise on an Astra at 1 m);
``tuned`` = 6 / 10 mm with height smoothing 0.5 (fits this renderer's 3 mm touch definition); ``serve.touch_pipeline``
also scores the depth-pixel rule (``pixels``: DIRECT's tip statistic against the learned surface, the pose only says
where to look) and the ``fused`` rule on the same pipeline output.
"""

from __future__ import annotations

from typing import Any

from depthhand.bench.core import BenchResult, benchmark


def _setup(n: int) -> tuple[list[Any], Any, dict[str, Any]]:
    import numpy as np

    from depthhand.geometry.plane import Plane
    from depthhand.interact.touch import TouchSettings
    from depthhand.synth.live import SyntheticLive

    live = SyntheticLive(seed=1)
    pairs = [p for _, p in zip(range(n), live, strict=False)]
    tp = live.rig.plane
    plane = Plane(np.asarray(tp[:3], dtype=np.float64), -float(tp[3]))
    tuned = TouchSettings(touch_enter_mm=6.0, touch_exit_mm=10.0, height_smoothing=0.5)
    return pairs, plane, {"default": TouchSettings(), "tuned": tuned}


def _record(details: dict[str, Any], tag: str, rep: Any) -> None:
    details[f"{tag}_precision"] = rep.precision
    details[f"{tag}_recall"] = rep.recall
    details[f"{tag}_false_per_min"] = rep.false_touches_per_min
    details[f"{tag}_pos_err_mean_mm"] = rep.position_error_mm["mean"]
    details[f"{tag}_true_contacts"] = rep.true_contacts


@benchmark("serve.touch_synthetic", "touch precision/recall/false touches per minute, true joints + jitter as pose")
def touch_synthetic(quick: bool) -> BenchResult:
    """Touch logic on ``SyntheticLive`` with true joints (+ 0 / 2 mm jitter) as pose output."""
    from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_synthetic

    n = 300 if quick else 1800
    pairs, plane, settings = _setup(n)
    details: dict[str, Any] = {"frames": n}
    for name, setting in settings.items():
        for noise in (0.0, 2.0):
            rep = evaluate_touch(truth_frames_from_synthetic(pairs, n, noise_mm=noise, seed=3), plane, setting)
            _record(details, f"{name}_noise{noise:g}mm", rep)
    return BenchResult("serve.touch_synthetic", details["default_noise2mm_precision"], "precision @2 mm", n, details)


@benchmark("serve.touch_pipeline", "touch precision/recall/false touches per minute, end to end (detector + pose)")
def touch_pipeline(quick: bool) -> BenchResult:
    """Touch quality with the shipped detector and pose model on the rendered depth (the end-to-end figure)."""
    from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_pipeline
    from depthhand.interact.touch import TouchSettings
    from depthhand.pipeline import HandPipeline

    n = 300 if quick else 1800
    pairs, plane, settings = _setup(n)
    details: dict[str, Any] = {"frames": n}
    with HandPipeline() as pipe:  # one pass of the pipeline; both settings score the same output
        frames = list(truth_frames_from_pipeline(pairs, n, pipe))
    rules = {"pixels": TouchSettings(rule="pixels"), "fused": TouchSettings(rule="fused")}
    for name, setting in (settings | rules).items():
        rep = evaluate_touch(frames, plane, setting)
        _record(details, name, rep)
        details[f"{name}_pos_err_median_mm"] = rep.position_error_mm["median"]
        details[f"{name}_down_delay_frames"] = rep.down_delay_frames
        details[f"{name}_down_delay_median_frames"] = rep.down_delay_median_frames  # the target is the median
    return BenchResult("serve.touch_pipeline", details["default_precision"], "precision", n, details)
