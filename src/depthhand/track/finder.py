"""Where a video frame's hands are: followed crops between detections, the detector when it is due.

:class:`HandFinder` decides, frame by frame, whether the detector runs (every ``detect_every``-th frame while hands
are tracked, every ``detect_every_full``-th while as many as ``max_hands`` are, at once when a followed crop looks
lost or two followed crops meet on one hand, always in image mode or with no hand tracked) and returns the frame's
boxes, poses and pose patches. With ``verify_full`` a frame due by ``detect_every_full`` follows the hands and, as a
detection frame does, restarts the schedule (``since_detection`` 0: the pipeline's pose-stage verification scores
them) instead of running the detector.
The pose network is a callable it is given (``estimate``), so this module needs neither ONNX Runtime nor the
detector's internals.

Where the detector runs, relative to the followed crops of a frame due for detection (``overlap``):

* ``"off"``: before them, on the same frame (the detections replace the followed boxes).
* ``"beside"``: in a worker thread while the followed crops are posed, on the same frame; the two are then paired
  (:func:`~depthhand.track.follow.confirm_followed`).
* ``"after"``: in a worker thread *after* the previous frame's result was returned, on that previous frame, so
  that the detector runs in the time a live camera leaves between frames; this frame pairs its followed poses with
  those detections. A new hand is then found one frame later, and its first crop is centred where it was a frame
  before. A lost crop, or no tracked hand, still runs the detector on the frame itself.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from depthhand.track.follow import HandFollower, confirm_followed

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from depthhand.detect.base import HandDetector
    from depthhand.structures import DepthFrame, HandBox, HandPose
    from depthhand.track.tracker import HandTracker

OVERLAPS = ("off", "beside", "after")
DUPLICATE_MM = 25.0
"""Re-centred crops whose centres lie this close are one hand seen twice (two hands' palm centres lie ≥ 30 mm
apart even palm to palm)."""
Estimate = Callable[["DepthFrame", "list[HandBox]", "dict[str, float]"], "tuple[list[HandPose], np.ndarray]"]
Found = tuple["list[HandBox]", "list[HandPose]", np.ndarray]


class HandFinder:
    """The detection schedule of one pipeline (module docstring).

    Args:
        detector: The hand detector.
        estimate: ``(frame, boxes, timings) → (poses, patches)``: the pose network on boxes; it adds its ``crop``
            and ``pose`` times to ``timings``.
        follower: Crops around the tracked hands' predicted palm centres.
        tracker: The pipeline's tracker (only its track count is read).
        video: Video mode (image mode detects on every frame).
        detect_every: The detector's period while hands are followed and fewer than ``max_hands`` are.
        detect_every_full: Its period while ``max_hands`` hands are followed (no new hand can take a slot then, so
            the detector only confirms and re-centres them; ``None``: ``detect_every``).
        max_hands: Most hands a frame reports.
        overlap: ``"off"``, ``"beside"`` or ``"after"`` (module docstring).
        confirm_gate_mm: Largest palm-to-detection distance of a confirmed followed hand, mm.
        recenter: Passes of re-centring each new detection's crop on its pose's palm centre (0 = none): the box
            takes the palm centre of the pose fitted at its detected centre and is posed again there
            (:meth:`recentered`).
        verify_full: While ``max_hands`` hands are followed, a frame due for the detector by
            ``detect_every_full`` follows them instead and restarts the schedule (the pipeline's pose-stage
            verification scores them, and the tracker drops a track that stays implausible);
            the detector runs only when a crop looks lost.
    """

    def __init__(
        self,
        detector: HandDetector,
        estimate: Estimate,
        follower: HandFollower,
        tracker: HandTracker,
        *,
        video: bool,
        detect_every: int,
        max_hands: int,
        overlap: str = "off",
        confirm_gate_mm: float = 60.0,
        recenter: int = 0,
        detect_every_full: int | None = None,
        verify_full: bool = False,
    ) -> None:
        if overlap not in OVERLAPS:
            raise ValueError(f"detect_overlap must be one of {OVERLAPS}, got {overlap!r}")
        if recenter < 0:
            raise ValueError(f"recenter must be >= 0 passes, got {recenter}")
        self.recenter = recenter
        self.detector, self.estimate, self.follower, self.tracker = detector, estimate, follower, tracker
        self.video, self.detect_every, self.max_hands = video, detect_every, max_hands
        self.detect_every_full = detect_every if detect_every_full is None else detect_every_full
        if self.detect_every_full < 1:
            raise ValueError(f"detect_every_full must be >= 1 frame, got {self.detect_every_full}")
        self.follows = video and max(detect_every, self.detect_every_full) > 1
        """Whether hands are ever followed between detections (video mode, a period above 1)."""
        self.overlap = overlap if self.follows else "off"
        self.confirm_gate_mm = confirm_gate_mm
        self.verify_full = verify_full
        self.since_detection = 0
        """Frames since the detector last ran, or the followed hands were marked for verification in its place (0:
        this frame)."""
        self.verifications = 0
        """Frames whose followed hands stood in for a detection (``verify_full``)."""
        self.detections = 0
        """Frames on which the detector ran (a followed frame does not count)."""
        self.last_lost = ""
        """Why the last frame's followed crops were given up for a detection (``""``: they were not)."""
        self._worker: ThreadPoolExecutor | None = None
        self._pending: Future[list[HandBox]] | None = None

    def find(self, frame: DepthFrame, timings: dict[str, float], t0: float) -> Found:
        """Boxes, poses and pose patches of ``frame``; ``timings["detect"]`` gets the time spent finding them.

        ``detect`` times finding the centres (the prediction and the lost-crop test of a followed frame, plus the
        detector where it ran or was waited for); ``crop`` and ``pose`` add up every pose call of the frame (a
        followed try given up counts too).
        """
        self.last_lost = ""
        pending, self._pending = self._pending, None  # "after": the detector on the previous frame
        due = self._due() or not self.video
        stand_in = due and self.video and pending is None and self._verifies_instead()
        due = due and not stand_in
        beside = pending is None and due and self.overlap == "beside" and self.tracker.num_tracks > 0
        if beside:
            pending = self._submit(frame)  # the detector on this frame, while the followed crops are posed
        if self.tracker.num_tracks and (not due or pending is not None):
            boxes = self.follower.boxes(frame.timestamp_us, frame.intrinsics)
            if boxes:
                timings["detect"] += _ms(t0)
                poses, patches = self.estimate(frame, boxes, timings)
                t_check = time.perf_counter()
                self.last_lost = self.follower.lost(poses, patches, boxes) or self._one_hand_twice(poses)
                if pending is None:
                    timings["detect"] += _ms(t_check)  # deciding whether to detect belongs to finding the hands
                    if not self.last_lost:
                        self.since_detection = 0 if stand_in else self.since_detection + 1
                        self.verifications += stand_in
                        return boxes, poses, patches
                elif self.last_lost and not beside:
                    timings["detect"] += _ms(t_check)  # "after": the previous frame's detections are dropped below
                else:
                    detected = pending.result()[: self.max_hands]  # the detector's thread: wait for it
                    timings["detect"] += _ms(t_check)
                    if not self.last_lost:
                        self.since_detection = 0
                        self.detections += 1
                        return self._confirmed(frame, boxes, poses, patches, detected, timings)
        t1 = time.perf_counter()
        if beside and pending is not None:
            detected = pending.result()[: self.max_hands]
        else:
            if pending is not None and not pending.cancel():
                pending.result()  # the previous frame's, already running: wait so the detector is free, drop it
            detected = self.detector.detect(frame)[: self.max_hands]
        timings["detect"] += _ms(t1) if self.last_lost else _ms(t0)
        self.since_detection = 0
        self.detections += 1
        return self.recentered(frame, detected, timings)

    def after(self, frame: DepthFrame) -> None:
        """With ``overlap="after"``: start the detector on ``frame`` when the next frame is due for detection.

        Called once the frame's result is complete; the detector works on a copy of its depth (a live source may
        reuse its buffers).
        """
        if self.overlap != "after" or self._pending is not None or not self.tracker.num_tracks:
            return
        if self._due() and not self._verifies_instead():
            self._pending = self._submit(dataclasses.replace(frame, depth_mm=np.array(frame.depth_mm)))

    def _full(self) -> bool:
        """Whether every slot was followed in the last frame (a coasting track is no hand)."""
        return self.follower.num_followed >= self.max_hands

    def _due(self) -> bool:
        """Whether the next frame is due for the detector by the schedule (module docstring)."""
        return self.since_detection + 1 >= (self.detect_every_full if self._full() else self.detect_every)

    def _verifies_instead(self) -> bool:
        """Whether a frame due now verifies the followed hands instead of detecting (``verify_full``)."""
        return self.verify_full and self._full() and self.tracker.num_tracks > 0

    def _one_hand_twice(self, poses: list[HandPose]) -> str:
        """``"two crops on one hand"`` where two followed palms lie within :data:`DUPLICATE_MM`, else ``""``."""
        if len(poses) < 2:
            return ""
        palms = [self.follower.palm_center(p) for p in poses]
        return "two crops on one hand" if len(_distinct(palms)) < len(palms) else ""

    def _submit(self, frame: DepthFrame) -> Future[list[HandBox]]:
        """Start the detector on ``frame`` in the worker thread (created on first use)."""
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor  # (not on a cold start that never overlaps)

            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="depthhand-detect")
        return self._worker.submit(self.detector.detect, frame)

    def _confirmed(
        self,
        frame: DepthFrame,
        followed: list[HandBox],
        poses: list[HandPose],
        patches: np.ndarray,
        detected: list[HandBox],
        timings: dict[str, float],
    ) -> Found:
        """The followed hands the detector confirmed (with its scores), then poses for its new hands."""
        palms = [self.follower.palm_center(p) for p in poses]
        kept, by, new = confirm_followed(palms, detected, self.confirm_gate_mm)
        pairs = list(zip(kept, by, strict=True))
        boxes = [dataclasses.replace(followed[f], score=detected[d].score) for f, d in pairs]
        out_poses = [dataclasses.replace(poses[f], score=float(detected[d].score)) for f, d in pairs]
        out_patches = [patches[kept]]
        fresh = [detected[d] for d in new][: max(self.max_hands - len(boxes), 0)]
        if fresh:
            fresh, new_poses, new_patches = self.recentered(frame, fresh, timings)
            boxes, out_poses = boxes + fresh, out_poses + new_poses
            out_patches.append(new_patches)
        return boxes, out_poses, np.concatenate(out_patches)

    def recentered(self, frame: DepthFrame, boxes: list[HandBox], timings: dict[str, float]) -> Found:
        """New detections posed, each crop moved ``recenter`` times to its pose's palm centre and posed again.

        A detection's centre is a point on the surface it sees plus a fixed offset; where an object in the hand lies
        in front of the palm, that surface is the object's (tens of mm in front of the palm) and the crop's depth
        is off by as much. The palm centre of the pose fitted in that crop is closer, and the pose fitted around it
        closer still (training hard scenes, seed 5150, held objects: median distance to the true palm 60 mm for the
        detection, 47 mm for the first pose's palm, 29 mm for the palm of the pose posed there; 10–13 → 9–10 mm in
        the other cases; BENCHMARKS.md). The returned boxes keep their image box, score and handedness; their
        centre is the last pass's crop centre (what the verification and the tracker are given).
        Of two re-centred crops within :data:`DUPLICATE_MM` of each other only the higher-scoring one is kept.
        """
        from depthhand.geometry.camera import xyz_to_uvd

        poses, patches = self.estimate(frame, boxes, timings)
        for _ in range(self.recenter if boxes else 0):
            moved = []
            for box, pose in zip(boxes, poses, strict=True):
                palm = self.follower.palm_center(pose)
                if not (np.all(np.isfinite(palm)) and palm[2] > 0):
                    moved.append(box)
                    continue
                uvd = xyz_to_uvd(palm, frame.intrinsics).astype(np.float32)
                moved.append(dataclasses.replace(box, center_xyz_mm=palm.astype(np.float32), center_uvd=uvd))
            boxes = moved
            poses, patches = self.estimate(frame, boxes, timings)
        if self.recenter and len(boxes) > 1:  # two detections of one hand (palm and wrist) meet at its palm
            keep = _distinct([np.asarray(b.center_xyz_mm, np.float64) for b in boxes])  # best score first
            if len(keep) < len(boxes):
                boxes, poses, patches = [boxes[i] for i in keep], [poses[i] for i in keep], patches[keep]
        return boxes, poses, patches

    def reset(self) -> None:
        """Forget the schedule (and any detection still running for a frame before the reset)."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        self.since_detection = 0

    def close(self) -> None:
        """Stop the worker thread (waiting for a detection still running)."""
        self._pending = None
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None


def _distinct(centers: list[np.ndarray]) -> list[int]:
    """Indices of the centres (mm) kept when each one within :data:`DUPLICATE_MM` of an earlier kept one is dropped."""
    keep: list[int] = []
    for i, c in enumerate(centers):
        if all(float(np.linalg.norm(c - centers[k])) > DUPLICATE_MM for k in keep):
            keep.append(i)
    return keep


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3
