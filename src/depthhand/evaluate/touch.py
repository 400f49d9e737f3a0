"""Touch detection quality against ground truth: precision, recall, false touches per minute, position error.

A *contact* is a run of consecutive frames in which a (hand, finger) touches. A detected contact (``touch_down`` …
``touch_up``) matches a true contact of the same hand and finger when their frame intervals overlap; each true
contact matches at most one detection. Position error is measured on frames where both say "touching": the
distance between the detected touch position's foot on the plane (the pose rule: the fingertip joint; the pixel
rule: the contact blob's centroid) and the true contact point, mm.

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
    from depthhand.synth.touch_scenes import StressFrame

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
        down_delay_median_frames: Their median.
        rules: Frames decided by each rule (``pose`` / ``pixels``) over the touching-capable fingers.
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
    down_delay_median_frames: float = float("nan")
    rules: dict[str, int] | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass
class _Run:
    """A contact: frames ``start`` … ``end`` (inclusive; −1 while open)."""

    start: int
    end: int = -1
    matched: bool = False


def _closed(runs: dict[TouchKey, list[_Run]], n: int) -> dict[TouchKey, list[_Run]]:
    """Unmatched copies of the runs, those still open ending at frame ``n − 1``."""
    return {k: [_Run(r.start, r.end if r.end != -1 else n - 1) for r in v] for k, v in runs.items()}


def _open_runs(runs: dict[TouchKey, list[_Run]], key: TouchKey, frame: int, active: bool) -> None:
    lst = runs.setdefault(key, [])
    if active and (not lst or lst[-1].end != -1):
        lst.append(_Run(frame))
    elif not active and lst and lst[-1].end == -1:
        lst[-1].end = frame - 1


class TouchScorer:
    """Streaming form of :func:`evaluate_touch`: feed frames one at a time (a live loop), read the scores any time.

    Args:
        plane: The table plane the detector uses.
        settings: Touch thresholds and rule (default :class:`TouchSettings`).
        fps: Frame rate, for the per-minute rate.
        engine: The engine to run (default: a new one with ``settings`` and ``plane``).
    """

    def __init__(
        self, plane: Plane, settings: TouchSettings | None = None, fps: float = 30.0, engine: Interaction | None = None
    ) -> None:
        self.plane, self.fps = plane, fps
        self.settings = settings or TouchSettings()
        self.engine = engine or Interaction(touch=self.settings, plane=plane)
        self._rules: dict[str, int] = {}
        self._truth_runs: dict[TouchKey, list[_Run]] = {}
        self._det_runs: dict[TouchKey, list[_Run]] = {}
        self._det_active: set[TouchKey] = set()
        self._n = 0
        self._frames_without = 0
        self._errors: list[float] = []

    def add(self, tf: TruthFrame, score: bool = True) -> None:
        """Run the engine on one frame and, when ``score``, score it (``False``: a calibration frame)."""
        frame = self.engine.process(tf.result, tf.depth_mm)
        if not score:
            return
        i = self._n
        self._n += 1
        if not tf.touches:
            self._frames_without += 1
        for hand in frame.hands.values():
            for f in hand.fingers:
                self._rules[f.rule] = self._rules.get(f.rule, 0) + 1
        for ev in frame.events:
            key = (ev.hand_id, ev.finger)
            if ev.type is EventType.TOUCH_DOWN:
                self._det_active.add(key)
            elif ev.type is EventType.TOUCH_UP:
                self._det_active.discard(key)
        truth_runs, det_runs = self._truth_runs, self._det_runs
        keys = set(truth_runs) | set(det_runs) | set(tf.touches) | self._det_active
        for key in keys:
            _open_runs(truth_runs, key, i, key in tf.touches)
            _open_runs(det_runs, key, i, key in self._det_active)
        readings = {(h, f.finger): f for h, hand in frame.hands.items() for f in hand.fingers}
        for key in self._det_active & set(tf.touches):
            reading = readings.get(key)
            if reading is None or reading.touch_xyz_mm is None:
                continue
            foot = project_to_plane(np.asarray(reading.touch_xyz_mm, dtype=np.float64), self.plane)
            self._errors.append(float(np.linalg.norm(foot - np.asarray(tf.touches[key]))))

    def report(self) -> TouchReport:
        """The scores of the frames so far (contacts still open end at the last frame)."""
        n = self._n
        truth_runs = {
            k: [_Run(r.start, r.end if r.end != -1 else n - 1) for r in v] for k, v in self._truth_runs.items()
        }
        det_runs = {k: [_Run(r.start, r.end if r.end != -1 else n - 1) for r in v] for k, v in self._det_runs.items()}
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
        minutes = self._frames_without / self.fps / 60.0
        err = np.asarray(self._errors) if self._errors else np.full(1, np.nan)
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
            down_delay_median_frames=float(np.median(delays)) if delays else float("nan"),
            rules=dict(self._rules),
        )


def evaluate_touch(
    frames_with_truth: Iterable[TruthFrame],
    plane: Plane,
    settings: TouchSettings | None = None,
    fps: float = 30.0,
    warmup_frames: int = 0,
    engine: Interaction | None = None,
) -> TouchReport:
    """Run the touch state machine over truth-labelled frames and score it (:class:`TouchScorer` over a sequence).

    Args:
        frames_with_truth: Frames with true contacts (e.g. from :func:`depthhand.synth.scripted.scripted_frames`
            or the synthetic live source). Their ``depth_mm`` goes to the engine (the pixel rule uses it).
        plane: The table plane the detector uses (the calibrated one, or the true one for an upper bound).
        settings: Touch thresholds and rule (default :class:`TouchSettings`).
        fps: Frame rate, for the per-minute rate.
        warmup_frames: The first frames only feed the engine (an empty-table calibration); they are not scored.
        engine: The engine to run (default: a new one with ``settings`` and ``plane``).

    Returns:
        The scores.
    """
    scorer = TouchScorer(plane, settings, fps, engine)
    for k, tf in enumerate(frames_with_truth):
        scorer.add(tf, score=k >= warmup_frames)
    return scorer.report()


def truth_frames_from_synthetic(
    live: Iterable[tuple[DepthFrame, SynthTruth]], n_frames: int, noise_mm: float = 0.0, seed: int = 0
) -> Iterator[TruthFrame]:
    """Adapt ``depthhand.synth.live.SyntheticLive`` (``(DepthFrame, SynthTruth)`` pairs) to :class:`TruthFrame`.

    The "pipeline output" is the true canonical joints plus optional jitter (σ ``noise_mm``), so the score isolates
    the touch logic from the pose model; true contacts are the fingertips the renderer marks as touching, placed
    at the foot on the table of the tip sphere's centre (of the tip joint for sources without hand geometry;
    ``_truth_touches``). The rendered depth image is passed on (``depth_mm``).

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
    for i, (frame, truth) in enumerate(live):
        if i >= n_frames:
            break
        result = relabel_to_truth(pipeline.process(frame), truth, match_mm)
        yield synthetic_truth_frame(result, truth, frame.depth_mm)


def relabel_to_truth(result: FrameResult, truth: SynthTruth, match_mm: float = 60.0) -> FrameResult:
    """The result with its hands renamed to the true hands' ids.

    Palm-centre matching as in :func:`truth_frames_from_pipeline`; unmatched hands get ``10_000 + track_id``.
    """
    import dataclasses

    from depthhand.evaluate.live import match_hands
    from depthhand.skeleton import CANONICAL21, joint_mapping
    from depthhand.synth.scenes import palm_center

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
    return dataclasses.replace(result, hands=tuple(hands))


def synthetic_truth_frame(
    result: FrameResult, truth: SynthTruth, depth_mm: npt.NDArray[np.floating] | None = None
) -> TruthFrame:
    """One :class:`TruthFrame` of the synthetic live source: ``result`` (true hand ids) and its true contacts."""
    touches, clean = _truth_touches(truth)
    return TruthFrame(result, touches, clean, depth_mm)


def truth_table_plane(truth: SynthTruth) -> Plane:
    """The true table plane of a synthetic frame (``n · p = d`` → :class:`Plane`)."""
    return Plane(np.asarray(truth.table_plane[:3], dtype=np.float64), -float(truth.table_plane[3]))


def _truth_touches(truth: SynthTruth) -> tuple[dict[TouchKey, tuple[float, float, float]], dict[int, F64]]:
    """True contacts and (21, 3) clean joints per true hand id.

    A true contact is the foot on the table of the touching fingertip's sphere centre
    (``truth.tip_centres_xyz_mm``, as the stress scenes of :mod:`depthhand.synth.touch_scenes` define it), or of
    the tip joint for sources without hand geometry (``tip_centres_xyz_mm`` is ``None``), camera mm.
    """
    from depthhand.skeleton import CANONICAL21

    plane = truth_table_plane(truth)
    touches: dict[TouchKey, tuple[float, float, float]] = {}
    clean: dict[int, F64] = {}
    centres = truth.tip_centres_xyz_mm
    for k, track_id in enumerate(truth.track_ids):
        joints = np.asarray(truth.joints_xyz_mm[k], dtype=np.float64)
        clean[track_id] = joints
        for finger, idx in CANONICAL21.tips:
            if truth.touch[k, int(finger)]:
                at = joints[idx] if centres is None else np.asarray(centres[k, int(finger)], dtype=np.float64)
                foot = project_to_plane(at, plane)
                touches[(track_id, finger)] = (float(foot[0]), float(foot[1]), float(foot[2]))
    return touches, clean


def stress_sequence_key(sf: StressFrame, seed: int) -> list[int]:
    """The seed sequence of a stress sequence's pose error: ``seed``, condition, noise model and camera height.

    Every sequence of one seed gets its own offset; the same sequence always gets the same one.
    """
    from depthhand.synth.touch_scenes import CONDITIONS, NOISE_MODELS

    cond = CONDITIONS.index(sf.condition) if sf.condition in CONDITIONS else len(CONDITIONS)
    noise = NOISE_MODELS.index(sf.noise) if sf.noise in NOISE_MODELS else len(NOISE_MODELS)
    return [int(seed), cond, noise, round(sf.camera_height_mm)]


def truth_frames_from_stress(
    frames: Iterable[StressFrame], bias_mm: float = 4.0, jitter_mm: float = 2.0, seed: int = 0
) -> Iterator[TruthFrame]:
    """Adapt a :func:`depthhand.synth.touch_scenes.stress_sequence` to :class:`TruthFrame` (poses = truth + noise).

    The "pose output" is the true canonical joints plus a per-joint offset drawn once per sequence (σ ``bias_mm``,
    the lasting error of a pose model) and per-frame jitter (σ ``jitter_mm``), so only rendering and the touch
    logic run; the depth image is passed on for the pixel rule. The random stream is seeded by ``seed`` and the
    sequence's condition, noise model and camera height (:func:`stress_sequence_key`): sequences of one seed get
    different offsets, and the same sequence the same offset and jitter every time.
    """
    from depthhand.geometry.camera import xyz_to_uvd
    from depthhand.skeleton import CANONICAL21
    from depthhand.structures import FrameResult, HandPose, TrackedHand

    rng: np.random.Generator | None = None
    bias = np.zeros((21, 3))
    for sf in frames:
        if rng is None:
            rng = np.random.default_rng(stress_sequence_key(sf, seed))
            if bias_mm > 0:
                bias = rng.normal(0.0, bias_mm, (21, 3))
        hands = []
        for hand_id, joints in sf.joints_xyz_mm.items():
            noisy = joints + bias + (rng.normal(0.0, jitter_mm, joints.shape) if jitter_mm > 0 else 0.0)
            j32 = noisy.astype(np.float32)
            uvd = xyz_to_uvd(j32, sf.intrinsics).astype(np.float32)
            pose = HandPose(j32, uvd, CANONICAL21, handedness=sf.handedness[hand_id], score=0.95)
            hands.append(TrackedHand(hand_id, pose, age_frames=sf.index))
        result = FrameResult(sf.index, sf.timestamp_us, tuple(hands), {}, f"stress:{sf.condition}", sf.intrinsics)
        yield TruthFrame(result, dict(sf.touches), dict(sf.joints_xyz_mm), sf.depth_mm)
