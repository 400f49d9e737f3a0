"""The live pipeline: where a frame goes next.

``capture`` (a :class:`~depthhand.capture.base.DepthSource`) → ``detect`` (hand boxes and centres) → ``pose``
(crop each hand, ONNX network, uncrop to camera mm) → ``track`` (ids, One Euro smoothing) →
:class:`~depthhand.structures.FrameResult` (→ ``interact`` and ``serve``). A live loop carries each result with its
frame and truth as a :class:`LiveFrame`.

:class:`HandPipeline` processes one frame at a time and never raises on a bad frame: a frame that cannot be used
(wrong shape or dtype, NaNs everywhere, no valid depth) gives an empty result whose ``error`` says why. Stage
timings (ms) are in every result.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from depthhand.detect.base import HandDetector
from depthhand.pipeline_options import (
    DEFAULT_DETECT_EVERY,
    DEFAULT_DETECT_EVERY_FULL,
    DEFAULT_DETECTOR_MODEL,
    DEFAULT_POSE_MODEL,
    DEFAULT_REFINE,
    DEFAULT_VERIFY,
    DEFAULT_VERIFY_FULL,
    DETECTORS,
    RUNNING_MODES,
    PipelineOptions,
    shipped_weights,
)
from depthhand.structures import DepthFrame, FrameResult, HandBox, Handedness, HandPose
from depthhand.track.finder import HandFinder
from depthhand.track.follow import HandFollower
from depthhand.track.tracker import HandTracker

if TYPE_CHECKING:
    from depthhand.capture.stream import CapturedFrame
    from depthhand.capture.synthetic import SceneTruth
    from depthhand.pose.refine import HandRefiner
    from depthhand.pose.verify import HandVerifier


__all__ = [
    "DEFAULT_DETECTOR_MODEL",
    "DEFAULT_DETECT_EVERY",
    "DEFAULT_DETECT_EVERY_FULL",
    "DEFAULT_POSE_MODEL",
    "DEFAULT_REFINE",
    "DEFAULT_VERIFY",
    "DEFAULT_VERIFY_FULL",
    "DETECTORS",
    "RUNNING_MODES",
    "HandPipeline",
    "LiveFrame",
    "PipelineOptions",
    "build_detector",
    "check_frame",
    "shipped_weights",
    "truth_result",
]


def build_detector(options: PipelineOptions) -> HandDetector:
    """The detector ``options`` ask for."""
    kind = options.detector
    if kind == "geo":
        from depthhand.detect.proposals import make_geo_detector

        return make_geo_detector(options.detector_model, options.max_hands, options.num_threads)
    if kind in ("auto", "cnn"):
        try:
            path = Path(options.detector_model) if options.detector_model else shipped_weights(DEFAULT_DETECTOR_MODEL)
        except FileNotFoundError:
            if kind == "cnn":
                raise
        else:
            from depthhand.detect.cnn import CnnHandDetector

            detector: HandDetector = CnnHandDetector(path, max_hands=options.max_hands, threads=options.num_threads)
            return detector
    from depthhand.detect.classical import ClassicalDetector, ClassicalDetectorConfig

    return ClassicalDetector(ClassicalDetectorConfig(max_hands=options.max_hands))


def check_frame(frame: Any) -> str:
    """Why ``frame`` cannot be processed, or ``""`` when it can."""
    if not isinstance(frame, DepthFrame):
        return f"expected a DepthFrame, got {type(frame).__name__}"
    depth = frame.depth_mm
    if depth.size == 0:
        return "no valid depth pixels"
    # two reductions and no temporary arrays: max() propagates NaN and +inf, min() shows -inf
    hi = depth.max()
    if not np.isfinite(hi) or not np.isfinite(depth.min()):
        return "depth contains NaN or infinite values"
    if not hi > 0:
        return "no valid depth pixels"
    return ""


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """One item of a live stream: what the pipeline made of a frame, the frame, and its truth where known.

    Attributes:
        result: Tracked hands, timings and any error of this frame.
        frame: The depth frame the result came from.
        truth: Its ground truth (synthetic and scripted sources), else ``None``.
    """

    result: FrameResult
    frame: DepthFrame
    truth: SceneTruth | None = None


def truth_result(item: CapturedFrame) -> FrameResult:
    """The pose "result" of a scene frame whose poses come from its truth (``scripted://…``, ``?poses=truth``).

    Raises:
        ValueError: The frame has no truth.
    """
    from depthhand.synth.live import SynthTruth
    from depthhand.synth.scripted import TruthFrame

    truth = item.truth
    if isinstance(truth, TruthFrame):
        return truth.result
    if isinstance(truth, SynthTruth):
        return truth.to_result(item.frame)
    raise ValueError(f"frame {item.frame.index} of {item.frame.source_id} has no ground truth to take poses from")


class HandPipeline:
    """Detect → crop → pose → track for one frame at a time (see the module docstring).

    Example:
        >>> with HandPipeline(PipelineOptions()) as pipe:  # doctest: +SKIP
        ...     result = pipe.process(frame)
    """

    def __init__(self, options: PipelineOptions | None = None) -> None:
        from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

        self.options = options or PipelineOptions()
        if self.options.shared_thread_pool:
            from depthhand.runtime import enable_shared_pool

            enable_shared_pool(self.options.num_threads)
        model = Path(self.options.pose_model) if self.options.pose_model else shipped_weights(DEFAULT_POSE_MODEL)
        self.estimator = PoseEstimator(
            PoseEstimatorOptions(
                model,
                backend=self.options.pose_backend,
                num_threads=self.options.num_threads,
                tta_deg=self.options.pose_tta_deg,
                tta_mirror=self.options.pose_tta_mirror,
            )
        )
        if self.options.mode == "video":  # a stream's second hand must not cost a session load on its frame
            self.estimator.prepare(self.options.max_hands)
        self.detector = build_detector(self.options)
        tracker_cfg = dataclasses.replace(self.options.tracker, max_hands=self.options.max_hands)
        self.tracker = HandTracker(tracker_cfg)
        self.follower = HandFollower(self.joint_set, self.estimator.cube_mm, self.options.follow)
        self.finder = HandFinder(
            self.detector,
            self._estimate,
            self.follower,
            self.tracker,
            video=self.options.mode == "video",
            detect_every=self.options.detect_every,
            max_hands=self.options.max_hands,
            overlap=self.options.detect_overlap,
            confirm_gate_mm=self.options.follow.confirm_gate_mm,
            recenter=self.options.recenter,
            detect_every_full=self.options.full_period,
            verify_full=self.options.verify_full and self.options.verify,
        )

        self.refiner: HandRefiner | None = None
        if self.options.refine:  # numba and the hand model are imported only when refinement is on
            from depthhand.pose.refine import build_refiner

            self.refiner = build_refiner(True, self.estimator.info.joint_set)
        self.verifier: HandVerifier | None = None
        if self.options.verify:
            from depthhand.pose.verify import HandVerifier

            self.verifier = HandVerifier(self.estimator.cube_mm)

    @property
    def joint_set(self) -> Any:
        """Skeleton of the poses (from the pose model's metadata)."""
        return self.estimator.info.joint_set

    def process(self, frame: DepthFrame) -> FrameResult:
        """Run every stage on ``frame``; never raises on bad input (see :attr:`FrameResult.error`)."""
        t0 = time.perf_counter()
        index = getattr(frame, "index", -1)
        stamp = getattr(frame, "timestamp_us", 0)
        problem = check_frame(frame)
        if problem:
            return FrameResult(index, stamp, (), {"total": _ms(t0)}, getattr(frame, "source_id", ""), None, problem)
        if self.options.mode == "image":
            self.tracker.reset(ids=True)  # each frame on its own: nothing carried over, ids from 1
        timings: dict[str, float] = {"detect": 0.0, "crop": 0.0, "pose": 0.0}
        boxes, poses, patches = self.finder.find(frame, timings, t0)
        if self.refiner is not None:  # fit the hand model to each hand's depth (timing key "refine")
            poses = self.refiner.refine(frame, poses, self.tracker.predicted_centers(frame.timestamp_us), timings)
        plausibility = None
        if self.verifier is not None and self.finder.since_detection == 0:  # how well each pose explains its crop
            # (on detection frames, and with verify_full on the followed frames standing in for one)
            tv = time.perf_counter()
            centers = [b.center_xyz_mm for b in boxes]
            plausibility = self.verifier.scores(patches, poses, centers, frame.intrinsics)
            timings["verify"] = _ms(tv)
        t3 = time.perf_counter()
        hands = self.tracker.update(poses, frame.timestamp_us, list(boxes), frame.intrinsics, plausibility)
        if self.finder.follows:
            self.follower.observe(hands, poses, boxes, frame.timestamp_us)
        self.finder.after(frame)  # overlap "after": start the detector for the next frame
        t4 = time.perf_counter()
        timings["track"] = (t4 - t3) * 1e3
        timings["total"] = (t4 - t0) * 1e3
        return FrameResult(index, stamp, tuple(hands), timings, frame.source_id, frame.intrinsics)

    @property
    def detections(self) -> int:
        """Frames on which the detector ran (a followed frame does not count)."""
        return self.finder.detections

    @property
    def last_lost(self) -> str:
        """Why the last frame's followed crops were given up for a detection (``""``: they were not)."""
        return self.finder.last_lost

    def reset(self) -> None:
        """Forget every hand (tracks, their followed crops; ids keep counting up)."""
        self.tracker.reset()
        self.follower.reset()
        self.finder.reset()

    def estimate(
        self, frame: DepthFrame, boxes: list[HandBox], timings: dict[str, float] | None = None
    ) -> list[HandPose]:
        """Crop each detected hand, run the pose network on all of them at once and uncrop (no tracking).

        :meth:`PoseEstimator.estimate <depthhand.pose.estimator.PoseEstimator.estimate>` does the work; each pose
        then takes its handedness from its palm's chirality (the detector's guess where that is undecided) and the
        detection's score.

        Args:
            frame: The depth frame.
            boxes: The detections (one pose each, same order).
            timings: If given, ``crop`` and ``pose`` wall times (ms) are written into it.
        """
        return self._estimate(frame, boxes, timings, add=False)[0]

    def _estimate(
        self, frame: DepthFrame, boxes: list[HandBox], timings: dict[str, float] | None = None, add: bool = True
    ) -> tuple[list[HandPose], np.ndarray]:
        """:meth:`estimate` and the patches; ``crop``/``pose`` times are added to ``timings`` (set if not ``add``)."""
        from depthhand.pose.handedness import handedness_from_joints

        centers = np.array([b.center_xyz_mm for b in boxes], np.float64).reshape(-1, 3)
        step: dict[str, float] = {}
        poses, patches = self.estimator.estimate_with_patches(frame, centers, step)
        if timings is not None:
            for key in ("crop", "pose"):
                timings[key] = timings.get(key, 0.0) + step[key] if add else step[key]
        out = []
        for pose, box in zip(poses, boxes, strict=True):
            # The palm's chirality beats the detector's handedness head (real SR305 frames: 11/11 vs 0/11).
            hand = handedness_from_joints(pose.joints_xyz_mm, self.estimator.info.joint_set.name)
            handedness = hand if hand is not Handedness.UNKNOWN else box.handedness
            out.append(dataclasses.replace(pose, handedness=handedness, score=float(box.score)))
        return out, patches

    def close(self) -> None:
        """Release the models (and the detector's worker thread)."""
        self.finder.close()
        self.estimator.close()
        close = getattr(self.detector, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> HandPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3
