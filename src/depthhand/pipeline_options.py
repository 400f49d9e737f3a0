"""How the live pipeline is assembled: :class:`PipelineOptions` and the defaults behind it.

``run``, ``predict`` and ``serve`` build them from one set of command-line options
(:mod:`depthhand.commands._pipeline_args`); :mod:`depthhand.pipeline` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from depthhand.track.finder import OVERLAPS
from depthhand.track.follow import FollowConfig
from depthhand.track.tracker import TrackerConfig

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
DEFAULT_VERIFY_FULL = True
"""Whether :attr:`PipelineOptions.verify_full` is on by default. On: with one hand (``max_hands`` 1) the detector
ran on 4 % of the benchmark's frames instead of 13 %, p95 −23 % (two hands −15 %), p50 unchanged, the live takes'
error 7.014 → 7.063 mm, recall 0.981 → 0.984, entering hands 3.06 → 3.28 frames late (BENCHMARKS.md, "The
followed hands verified instead of detected")."""
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
            frames on which the detector ran, or which ``verify_full`` verifies in its place, are scored (the
            followed crops between them are hands already verified; timing key ``verify``), so a track's
            ``drop_implausible_frames`` count those frames.
        recenter: Passes of re-centring each new detection's crop on its pose's palm centre before the pose that
            is kept (:meth:`depthhand.track.finder.HandFinder.recentered`; 0 = off; one more pose-network call per
            new detection and pass).
        verify_full: Video mode, with ``verify``: while ``max_hands`` hands are followed, a frame due for the
            detector by ``detect_every_full`` verifies the followed hands instead (the detector then runs only on a
            lost crop or two crops on one hand; a track that stays implausible is dropped); see
            :data:`DEFAULT_VERIFY_FULL`.
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
    verify_full: bool = DEFAULT_VERIFY_FULL

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
