"""Touch detection quality against ground truth: precision, recall, false touches per minute, position error.

A *contact* is a run of consecutive frames in which a (hand, finger) touches. A detected contact (``touch_down`` …
``touch_up``) matches a true contact of the same hand and finger when their frame intervals overlap; each true
contact matches at most one detection. Position error is measured on frames where both say "touching": the
distance between the detected fingertip's foot on the plane and the true contact point, mm.

Truth sources: :func:`depthhand.synth.scripted.scripted_frames` (scripted taps and hovers),
:func:`truth_frames_from_synthetic` (the synthetic live source with its true joints as pose output) and
:func:`truth_frames_from_pipeline` (the same source through the real pipeline). The benchmark wrappers are
``depthhand.bench.touch`` (``serve.touch_synthetic``, ``serve.touch_pipeline``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, project_to_plane
from depthhand.interact.engine import Interaction
from depthhand.interact.touch import EventType, TouchSettings
from depthhand.skeleton import Finger
from depthhand.synth.scripted import TruthFrame

if TYPE_CHECKING:
    from depthhand.structures import DepthFrame, FrameResult
    from depthhand.synth.live import SynthTruth

F64 = npt.NDArray[np.float64]
TouchKey = tuple[int, Finger]
"""``(hand_id, finger)``."""


class FramePipeline(Protocol):
    """What :func:`truth_frames_from_pipeline` needs of a pipeline (e.g. :class:`depthhand.pipeline.HandPipeline`)."""

    def process(self, frame: DepthFrame) -> FrameResult:
        """Detect, estimate and track the hands of one frame."""
        ...


@dataclass(frozen=True, slots=True)
class TouchReport:
    """Touch evaluation.

    Attributes:
        precision: Matched detections / detections.
        recall: Matched true contacts / true contacts.
        true_contacts: Number of true contacts.
        detected_contacts: Number of detected contacts.
        false_touches: Detected contacts overlapping no true contact.
        false_touches_per_min: ``false_touches`` per minute of frames without any true touch.
        position_error_mm: Mean / median / p95 / max distance on the plane while both touch, mm.
        down_delay_frames: Mean frames from the true contact start to ``touch_down``.
        frames: Frames evaluated.
        minutes_without_touch: Duration of frames without any true touch, min.
    """

    precision: float
    recall: float
    true_contacts: int
    detected_contacts: int
    false_touches: int
    false_touches_per_min: float
    position_error_mm: dict[str, float]
    down_delay_frames: float
    frames: int
    minutes_without_touch: float

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass
class _Run:
    """A contact: frames ``start`` … ``end`` (inclusive; −1 while open)."""

    start: int
    end: int = -1
    matched: bool = False


def _open_runs(runs: dict[TouchKey, list[_Run]], key: TouchKey, frame: int, active: bool) -> None:
    lst = runs.setdefault(key, [])
    if active and (not lst or lst[-1].end != -1):
        lst.append(_Run(frame))
    elif not active and lst and lst[-1].end == -1:
        lst[-1].end = frame - 1


def evaluate_touch(
    frames_with_truth: Iterable[TruthFrame], plane: Plane, settings: TouchSettings | None = None, fps: float = 30.0
) -> TouchReport:
    """Run the touch state machine over truth-labelled frames and score it.

    Args:
        frames_with_truth: Frames with true contacts (e.g. from :func:`depthhand.synth.scripted.scripted_frames`
            or the synthetic live source).
        plane: The table plane the detector uses (the calibrated one, or the true one for an upper bound).
        settings: Touch thresholds (default :class:`TouchSettings`).
        fps: Frame rate, for the per-minute rate.

    Returns:
        The scores.
    """
    engine = Interaction(touch=settings or TouchSettings(), plane=plane)
    truth_runs: dict[TouchKey, list[_Run]] = {}
    det_runs: dict[TouchKey, list[_Run]] = {}
    det_active: set[TouchKey] = set()
    n = 0
    frames_without = 0
    errors: list[float] = []
    for i, tf in enumerate(frames_with_truth):
        n += 1
        if not tf.touches:
            frames_without += 1
        frame = engine.process(tf.result)
        for ev in frame.events:
            key = (ev.hand_id, ev.finger)
            if ev.type is EventType.TOUCH_DOWN:
                det_active.add(key)
            elif ev.type is EventType.TOUCH_UP:
                det_active.discard(key)
        keys = set(truth_runs) | set(det_runs) | set(tf.touches) | det_active
        for key in keys:
            _open_runs(truth_runs, key, i, key in tf.touches)
            _open_runs(det_runs, key, i, key in det_active)
        tips = {th.track_id: th.pose for th in tf.result.hands}
        for key in det_active & set(tf.touches):
            pose = tips.get(key[0])
            if pose is None:
                continue
            tip = pose.joints_xyz_mm[pose.joint_set.tip(key[1])].astype(np.float64)
            foot = project_to_plane(tip, plane)
            errors.append(float(np.linalg.norm(foot - np.asarray(tf.touches[key]))))
    for runs in (truth_runs, det_runs):
        for lst in runs.values():
            if lst and lst[-1].end == -1:
                lst[-1].end = n - 1
    delays: list[int] = []
    for key, dets in det_runs.items():
        for d in dets:
            for t in truth_runs.get(key, []):
                if not t.matched and d.start <= t.end and t.start <= d.end:
                    t.matched = d.matched = True
                    delays.append(d.start - t.start)
                    break
    n_true = sum(len(v) for v in truth_runs.values())
    n_det = sum(len(v) for v in det_runs.values())
    tp_det = sum(d.matched for v in det_runs.values() for d in v)
    tp_true = sum(t.matched for v in truth_runs.values() for t in v)
    false = n_det - tp_det
    minutes = frames_without / fps / 60.0
    err = np.asarray(errors) if errors else np.full(1, np.nan)
    return TouchReport(
        precision=tp_det / n_det if n_det else 1.0,
        recall=tp_true / n_true if n_true else 1.0,
        true_contacts=n_true,
        detected_contacts=n_det,
        false_touches=false,
        false_touches_per_min=false / minutes if minutes > 0 else 0.0,
        position_error_mm={
            "mean": float(np.mean(err)),
            "median": float(np.median(err)),
            "p95": float(np.percentile(err, 95)),
            "max": float(np.max(err)),
        },
        down_delay_frames=float(np.mean(delays)) if delays else float("nan"),
        frames=n,
        minutes_without_touch=minutes,
    )


def truth_frames_from_synthetic(
    live: Iterable[tuple[DepthFrame, SynthTruth]], n_frames: int, noise_mm: float = 0.0, seed: int = 0
) -> Iterator[TruthFrame]:
    """Adapt ``depthhand.synth.live.SyntheticLive`` (``(DepthFrame, SynthTruth)`` pairs) to :class:`TruthFrame`.

    The "pipeline output" is the true canonical joints plus optional jitter (σ ``noise_mm``), so the score isolates
    the touch logic from the pose model; true contacts are the fingertips the renderer marks as touching, placed
    at the foot of the tip joint on the table. The rendered depth image is passed on (``depth_mm``).

    Args:
        live: The synthetic stream.
        n_frames: Frames to take.
        noise_mm: Joint jitter σ, mm.
        seed: Jitter seed.

    Yields:
        One :class:`TruthFrame` per frame, at most ``n_frames``.
    """
    rng = np.random.default_rng(seed)
    for i, (frame, truth) in enumerate(live):
        if i >= n_frames:
            break
        result = truth.to_result(frame, noise_mm, rng)
        touches, clean = _truth_touches(truth)
        yield TruthFrame(result, touches, clean, frame.depth_mm)


def truth_frames_from_pipeline(
    live: Iterable[tuple[DepthFrame, SynthTruth]], n_frames: int, pipeline: FramePipeline, match_mm: float = 60.0
) -> Iterator[TruthFrame]:
    """Like :func:`truth_frames_from_synthetic` with the real pipeline's output: the end-to-end touch measurement.

    The pose output is what the pipeline (detector + pose model + tracker) finds in the rendered depth image.

    Pipeline hands take the ids of the true hands matched to them by palm centre (mean of the wrist and the four
    MCPs; Hungarian assignment within ``match_mm``, as :class:`depthhand.evaluate.live.LiveAccuracy` matches);
    unmatched (false) hands get ids from 10,000 on so they never meet a true contact.

    Args:
        live: The synthetic stream (``(DepthFrame, SynthTruth)`` pairs).
        n_frames: Frames to take.
        pipeline: A :class:`depthhand.pipeline.HandPipeline` (its ``process(frame)`` is called once per frame).
        match_mm: Largest palm-centre distance for a pipeline hand to count as a true hand, mm.

    Yields:
        One :class:`TruthFrame` per frame, at most ``n_frames``.
    """
    import dataclasses

    from depthhand.evaluate.live import match_hands
    from depthhand.skeleton import CANONICAL21, joint_mapping
    from depthhand.synth.scenes import palm_center

    for i, (frame, truth) in enumerate(live):
        if i >= n_frames:
            break
        result = pipeline.process(frame)
        pred: list[F64] = []
        for th in result.hands:
            joints = np.asarray(th.pose.joints_xyz_mm, np.float64)
            if th.pose.joint_set.name != CANONICAL21.name:
                joints = joint_mapping(th.pose.joint_set.name, CANONICAL21.name).apply(joints)
            pred.append(palm_center(joints))
        true = [palm_center(np.asarray(j, np.float64)) for j in truth.joints_xyz_mm]
        matched = dict(match_hands(pred, true, match_mm))
        hands = [
            dataclasses.replace(th, track_id=truth.track_ids[matched[p]] if p in matched else 10_000 + th.track_id)
            for p, th in enumerate(result.hands)
        ]
        touches, clean = _truth_touches(truth)
        yield TruthFrame(dataclasses.replace(result, hands=tuple(hands)), touches, clean, frame.depth_mm)


def _truth_touches(truth: SynthTruth) -> tuple[dict[TouchKey, tuple[float, float, float]], dict[int, F64]]:
    """True contacts (foot of each touching tip on the table, camera mm) and (21, 3) clean joints per true hand id."""
    from depthhand.skeleton import CANONICAL21

    plane = Plane(np.asarray(truth.table_plane[:3], dtype=np.float64), -float(truth.table_plane[3]))
    touches: dict[TouchKey, tuple[float, float, float]] = {}
    clean: dict[int, F64] = {}
    for k, track_id in enumerate(truth.track_ids):
        joints = np.asarray(truth.joints_xyz_mm[k], dtype=np.float64)
        clean[track_id] = joints
        for finger, idx in CANONICAL21.tips:
            if truth.touch[k, int(finger)]:
                foot = project_to_plane(joints[idx], plane)
                touches[(track_id, finger)] = (float(foot[0]), float(foot[1]), float(foot[2]))
    return touches, clean
