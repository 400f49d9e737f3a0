"""Live sources the server can run by name.

* ``scripted``: two scripted hands over a tilted table (tapping, pinching), rendered depth, 2 mm joint jitter.
* ``scripted-calibration``: a scripted user who touches each calibration target the projector shows (the targets
  of the active calibration session), through a known "true" projector homography — an end-to-end check of the
  calibration walk-through without a person.
* ``synthetic-truth``: :class:`depthhand.synth.live.SyntheticLive` (rendered top-down table scene) with its
  ground-truth joints standing in for the pose model — the touch logic and viewer on realistic scenes.
* anything else: ``depthhand.pipeline.open_pipeline(source)`` from the live pipeline, when installed.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator

import numpy as np

from depthhand.geometry.projector import apply_homography, fit_homography, invert_homography
from depthhand.interact.scripted import (
    REST_TIP_HEIGHT_MM,
    HandScriptPose,
    TruthFrame,
    default_scene,
    demo_script,
    scripted_frames,
)
from depthhand.serve.publisher import PipelineHandle
from depthhand.serve.state import LiveState

PROJECTOR_SIZE = (1280, 800)
TABLE_CORNERS_AB_MM = np.array([[-180.0, -110.0], [180.0, -115.0], [190.0, 120.0], [-185.0, 110.0]])


def true_projector_homography() -> np.ndarray:
    """Plane-local (a, b) mm → projector px of the scripted installation (a slightly keystoned quad)."""
    w, h = PROJECTOR_SIZE
    return fit_homography(TABLE_CORNERS_AB_MM, np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]))


def calibration_user(state: LiveState, fps: float) -> Iterator[HandScriptPose]:
    """Postures of a user touching the session's targets one after another (hover → touch 0.5 s → lift)."""
    h_inv = invert_homography(true_projector_homography())
    current = -1
    t_since = 0.0
    while True:
        session = state.get("calibration_session") or {}
        targets = session.get("targets", [])
        done = len(session.get("points", []))
        if session.get("active") and done < len(targets):
            if done != current:
                current, t_since = done, 0.0
            ab = apply_homography(h_inv, np.asarray(targets[done], dtype=np.float64))
            # 0.5 s hover, 0.25 s down, 0.5 s touch, 0.25 s up, then wait hovering for the page to advance
            phase = t_since
            if phase < 0.5 or phase > 1.5:
                tip = 35.0
            elif phase < 0.75:
                tip = 35.0 * (0.75 - phase) / 0.25
            elif phase < 1.25:
                tip = 0.0
            else:
                tip = 35.0 * (phase - 1.25) / 0.25
            t_since += 1.0 / fps
        else:
            ab, tip = np.array([0.0, -60.0]), 40.0
        tips = (REST_TIP_HEIGHT_MM, tip, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM, REST_TIP_HEIGHT_MM)
        yield HandScriptPose((float(ab[0]), float(ab[1])), 75.0, tips)


def open_source(source: str, state: LiveState, fps: float = 30.0, realtime: bool = True) -> PipelineHandle:
    """A :class:`PipelineHandle` for ``source`` (see the module docstring).

    Raises:
        ValueError: For an unknown source when the live pipeline is not installed.
    """
    plane, intrinsics = default_scene()
    if source == "scripted":
        frames: Iterator[TruthFrame] = scripted_frames(
            demo_script(), plane, intrinsics, fps=fps, noise_mm=2.0, render=True, realtime=realtime
        )
        return PipelineHandle(frames, "scripted", intrinsics=intrinsics, fps=fps)
    if source == "scripted-calibration":
        user = calibration_user(state, fps)
        frames = scripted_frames(lambda t: [next(user)], plane, intrinsics, fps=fps, render=True, realtime=realtime)
        return PipelineHandle(frames, "scripted-calibration", intrinsics=intrinsics, fps=fps)
    if source == "synthetic-truth":
        return _synthetic_truth(fps, realtime)
    try:
        module = importlib.import_module("depthhand.pipeline")
    except ImportError as exc:
        raise ValueError(
            f"unknown source {source!r}: the built-in sources are 'scripted', 'scripted-calibration' and "
            "'synthetic-truth'; other sources need the live pipeline (depthhand.pipeline.open_pipeline)"
        ) from exc
    handle: PipelineHandle = module.open_pipeline(source)
    return handle


def _paced(items: Iterator[TruthFrame], fps: float) -> Iterator[TruthFrame]:
    """Yield at most ``fps`` items per second of wall-clock time."""
    t0 = time.perf_counter()
    for i, item in enumerate(items):
        lag = t0 + i / fps - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
        yield item


def _synthetic_truth(fps: float, realtime: bool) -> PipelineHandle:
    from depthhand.evaluate.touch import truth_frames_from_synthetic
    from depthhand.synth.live import SyntheticLive

    live = SyntheticLive(seed=1, fps=fps)
    frames: Iterator[TruthFrame] = truth_frames_from_synthetic(iter(live), n_frames=2**62)
    if realtime:
        frames = _paced(frames, fps)
    return PipelineHandle(frames, "synthetic-truth", intrinsics=live.intrinsics, fps=fps)
