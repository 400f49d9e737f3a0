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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from depthhand.detect.base import HandDetector
from depthhand.structures import DepthFrame, FrameResult, HandBox, Handedness, HandPose
from depthhand.track.finder import OVERLAPS, HandFinder
from depthhand.track.follow import FollowConfig, HandFollower
from depthhand.track.tracker import HandTracker, TrackerConfig

if TYPE_CHECKING:
    from depthhand.capture.stream import CapturedFrame
    from depthhand.capture.synthetic import SceneTruth
    from depthhand.pose.refine import HandRefiner
    from depthhand.pose.verify import HandVerifier

DEFAULT_POSE_MODEL = "depthhand_fast.onnx"
DEFAULT_DETECTOR_MODEL = "detector.onnx"
DETECTORS = ("auto", "cnn", "classical", "geo")
DEFAULT_REFINE = False
"""Whether :attr:`PipelineOptions.refine` is on by default (model-based refinement, ``pose/refine.py``).

Off: it lowers the synthetic whole-pipeline error (top-down 5.53 → 5.04 mm, frontal 7.41 → 4.96, live 6.74 → 6.67)
but on the real SR305 frames it moves fingertips off the hand (projected joints on hand pixels 0.957 → 0.948) and
it adds ≈ 1.1 ms per hand (BENCHMARKS.md, "Model-based refinement")."""
DEFAULT_VERIFY = True
"""Whether :attr:`PipelineOptions.verify` is on by default (pose-stage verification, ``pose/verify.py``).

On: it raises the held-out hard set's recall 0.793 → 0.847 at 0.032 → 0.028 false hands per frame, the top-down /
frontal / live recall 0.941 → 0.983 / 0.900 → 0.980 / 0.969 → 0.972, and finds hands entering a live take 3.2
instead of 7.0 frames after they appear (``pipeline.new_hands``); the real SR305 figures do not move. The mean error
of the found hands rises 5.69 → 5.82 / 7.48 → 7.58 / 6.78 → 6.81 mm only through the hands it adds (8.5–8.9 mm on
average; those found either way are unchanged), and the frontal false hands rise 0.007 → 0.013 per frame. It costs
≈ 0.3–0.6 ms per hand on the frames the detector runs on (BENCHMARKS.md, "Pose-stage verification that keeps
resting hands" and "Verification on by default")."""
RUNNING_MODES = ("video", "image")
DEFAULT_DETECT_EVERY = 3
"""Video mode's detector period while hands are tracked (chosen on the synthetic live source, ``BENCHMARKS.md``)."""
DEFAULT_DETECT_EVERY_FULL = 10
"""Video mode's detector period while ``max_hands`` hands are followed, when no new hand can take a slot
(``BENCHMARKS.md``, "Detect less often when every slot is taken")."""


def shipped_weights(name: str) -> Path:
    """Path of a model file shipped inside the package (``depthhand/weights/NAME``).

    Raises:
        FileNotFoundError: If the package carries no such file.
    """
    path = Path(__file__).resolve().parent / "weights" / name  # (importlib.resources costs a cold start 3-5 ms)
    if not path.is_file():
        raise FileNotFoundError(f"shipped model {name!r} not found at {path}; pass an explicit model path")
    return path


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """How the live pipeline is assembled.

    Attributes:
        pose_model: ONNX pose model (``None``: the shipped ``depthhand_fast.onnx``).
        detector: ``"cnn"`` (shipped learned detector), ``"classical"`` (nearest blob + CoM), ``"geo"`` (the CNN
            rescored with geometric proposals, :mod:`depthhand.detect.proposals`) or ``"auto"`` (the CNN when its
            weights are present, otherwise classical).
        detector_model: ONNX detector (``None``: the shipped one).
        max_hands: Most hands per frame (≤ 4).
        num_threads: Inference threads per model.
        tracker: Tracking and smoothing parameters.
        pose_backend: ``"auto"`` (the default: the model's int8 copy where it exists and the CPU has VNNI or AVX2, see
            :func:`~depthhand.pose.backends.resolve_backend`), ``"onnxruntime"`` (fp32), ``"onnxruntime-int8"``,
            ``"openvino"`` or ``"openvino-bf16"`` (the ``[openvino]`` extra) for the pose model.
        pose_tta_deg: Test-time rotation of the pose model (views at 0 and ±this many degrees, averaged; 0 = off;
            three times the pose network's work for 0.3–0.4 mm less error, see :mod:`depthhand.pose.tta`).
        pose_tta_mirror: Also run the mirror image of every view (twice the views; with ``pose_tta_deg`` 15, six
            views, 0.4–0.7 mm less error than one).
        mode: ``"video"`` (frames of one stream: hands are tracked and smoothed over time) or ``"image"`` (each
            frame on its own, as ``depthhand predict`` runs: no tracking or smoothing across frames).
        detect_every: Video mode: while hands are tracked, run the detector on every N-th frame only and crop the
            frames between around each hand's predicted palm centre (at once again when such a crop looks lost,
            see :mod:`depthhand.track.follow`); a new hand is then found up to N−1 frames later, more where its
            detection score flickers around the birth threshold as it enters (N = 3 on the synthetic live takes:
            0.9 frames later on average, 4 at most). 1 = detect on every frame. Image mode always detects.
        detect_every_full: Video mode: the detector's period while ``max_hands`` hands are followed. No new hand can
            be taken then, so the detector only confirms the followed hands and re-centres their crops (MediaPipe's
            video mode runs its palm detector only while it follows fewer hands than it may); ``detect_every`` when
            fewer are followed. A lost crop still runs the detector at once. ``None``:
            :data:`DEFAULT_DETECT_EVERY_FULL`, but 1 with ``detect_every`` 1 (every frame means every frame).
        follow: When a followed crop counts as lost.
        detect_overlap: Video mode, ``detect_every`` > 1: where the detector runs on a frame due for detection
            while hands are followed (:mod:`depthhand.track.finder`): ``"off"`` (before the followed crops),
            ``"beside"`` (in a worker thread while they are posed) or ``"after"`` (in a worker thread on the
            previous frame, once its result is out: the time a live camera leaves between frames). With either
            overlap the detector confirms the followed hands instead of re-centring their crops, and the live
            takes' mean error rises by 0.03–0.08 mm (``"beside"``, BENCHMARKS.md); ``"after"`` finds a new hand
            one frame later.
        shared_thread_pool: Put both networks on one ONNX Runtime thread pool of ``num_threads`` for the whole
            process (:func:`depthhand.runtime.enable_shared_pool`: a one-way switch; every later ONNX Runtime
            session of the process must then use it). For processes that run the pipeline and little else.
        refine: Fit the hand model to each hand's depth after the pose network (:mod:`depthhand.pose.refine`;
            needs numba, else off with a warning).
        verify: Score each hand's fitted pose against its crop's depth (:mod:`depthhand.pose.verify`) and let the
            tracker use it: detections from ``tracker.verified_birth_score`` start hands when their pose is
            plausible, implausible ones start none, and tracks that stay implausible are dropped. Only the
            frames on which the detector ran are scored (the followed crops between them are hands already
            verified; timing key ``verify``), so a track's ``drop_implausible_frames`` count detections.
        recenter: Passes of re-centring each new detection's crop on its pose's palm centre before the pose that
            is kept (:meth:`depthhand.track.finder.HandFinder.recentered`; 0 = off; one more pose-network call per
            new detection and pass).
    """

    pose_model: str | Path | None = None
    detector: str = "auto"
    detector_model: str | Path | None = None
    max_hands: int = 2
    num_threads: int = 2
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    pose_backend: str = "auto"
    pose_tta_deg: float = 0.0
    pose_tta_mirror: bool = False
    mode: str = "video"
    detect_every: int = DEFAULT_DETECT_EVERY
    detect_every_full: int | None = None
    follow: FollowConfig = field(default_factory=FollowConfig)
    detect_overlap: str = "off"
    shared_thread_pool: bool = False
    refine: bool = DEFAULT_REFINE
    verify: bool = DEFAULT_VERIFY
    recenter: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.detect_every, bool) or not isinstance(self.detect_every, int) or self.detect_every < 1:
            raise ValueError(f"detect_every must be a whole number of frames >= 1, got {self.detect_every!r}")
        full = self.detect_every_full
        if full is not None and (isinstance(full, bool) or not isinstance(full, int) or full < 1):
            raise ValueError(f"detect_every_full must be a whole number of frames >= 1, got {full!r}")
        if self.mode not in RUNNING_MODES:
            raise ValueError(f"mode must be one of {RUNNING_MODES}, got {self.mode!r}")
        if self.detect_overlap not in OVERLAPS:
            raise ValueError(f"detect_overlap must be one of {OVERLAPS}, got {self.detect_overlap!r}")
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if isinstance(self.recenter, bool) or not isinstance(self.recenter, int) or self.recenter < 0:
            raise ValueError(f"recenter must be a whole number of passes >= 0, got {self.recenter!r}")
        if not 1 <= self.max_hands <= 4:
            raise ValueError(f"max_hands must be in [1, 4], got {self.max_hands}")

    @property
    def full_period(self) -> int:
        """The detector's period while ``max_hands`` hands are followed (``detect_every_full`` resolved)."""
        if self.detect_every_full is not None:
            return self.detect_every_full
        return 1 if self.detect_every == 1 else max(DEFAULT_DETECT_EVERY_FULL, self.detect_every)


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
