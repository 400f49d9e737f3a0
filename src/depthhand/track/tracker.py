"""Hand identities across frames: constant-velocity prediction, Hungarian matching, coasting, smoothing.

Each frame, :meth:`HandTracker.update` takes the hands the pose stage produced (a :class:`HandPose` each, with its
detector :class:`HandBox` when available) and returns :class:`TrackedHand` objects:

1. Every track predicts its centre (mean of its joints, camera mm) at the frame's time with its velocity.
2. Detections are assigned to tracks by an exact minimum-cost assignment on the 3-D centre distance
   (:mod:`depthhand.track.assignment`, no scipy); pairs farther than the gate (``gate_mm``, widened by
   ``gate_growth`` per coasted frame) stay unassigned.
3. Matched tracks update their velocity, joints (One Euro filter) and handedness (majority of the last
   ``handedness_window`` non-unknown votes). Unmatched detections scoring at least ``birth_score`` start tracks
   with fresh ids (never reused); weaker ones only continue existing tracks (hysteresis: on the real SR305 frames
   the hand scores 0.68–0.86 and the body/desk false detections at most 0.47). With the pose stage's
   plausibility of each detection (:mod:`depthhand.pose.verify`), a detection also starts a track when it scores
   at least ``verified_birth_score`` and its pose is plausible (``≥ birth_plausibility``), and none starts one with
   a plausibility below ``min_plausibility``; a track whose detections stay below ``min_plausibility`` for
   ``drop_implausible_frames`` frames in a row is dropped.
4. Unmatched tracks coast (``lost_frames`` counts up, ``box`` is None) for up to ``max_coast_frames`` frames, then
   are dropped; a hand that comes back later gets a new id.

Ids and coasting follow the behaviour users of Leap Motion / MediaPipe rely on (reference §4.4).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import inside_image, xyz_to_uvd
from depthhand.structures import CameraIntrinsics, HandBox, Handedness, HandPose, TrackedHand
from depthhand.track.assignment import min_cost_assignment
from depthhand.track.filters import OneEuroFilter

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Parameters of :class:`HandTracker`.

    Attributes:
        gate_mm: Largest centre distance (after prediction) for a detection to continue a track, mm.
        gate_growth: Extra gate per coasted frame, as a fraction of ``gate_mm``.
        max_coast_frames: Frames a track survives without a detection.
        handedness_window: Votes kept for the handedness majority.
        min_cutoff: One Euro cutoff at rest, Hz.
        beta: One Euro speed coefficient, 1/mm.
        d_cutoff: One Euro speed cutoff, Hz.
        emit_coasting: Also return coasting tracks (``lost_frames > 0``, ``box`` None).
        max_hands: Most tracks kept (the newest detections beyond it are ignored).
        birth_score: Smallest detection score (the box's, else the pose's) that starts a new track; any detection
            the detector reports may continue one.
        verified_birth_score: With plausibilities (:meth:`HandTracker.update`): the smallest detection score that
            starts a track when the pose's plausibility is at least ``birth_plausibility``.
        birth_plausibility: The plausibility a detection scoring below ``birth_score`` needs to start a track
            (chosen on training scenes, ``scripts/fit_verify.py``).
        min_plausibility: With plausibilities: no detection below this starts a track, however high its score.
        drop_implausible_frames: With plausibilities: a track whose detections score below ``min_plausibility``
            this many frames in a row is dropped (0 = never).
    """

    gate_mm: float = 120.0
    gate_growth: float = 0.5
    max_coast_frames: int = 5
    handedness_window: int = 15
    min_cutoff: float = 1.0
    beta: float = 0.02
    d_cutoff: float = 1.0
    emit_coasting: bool = True
    max_hands: int = 4
    birth_score: float = 0.5
    verified_birth_score: float = 0.3
    birth_plausibility: float = 0.8
    min_plausibility: float = 0.2
    drop_implausible_frames: int = 3

    def __post_init__(self) -> None:
        if self.gate_mm <= 0 or self.gate_growth < 0 or self.max_coast_frames < 0 or self.handedness_window < 1:
            raise ValueError("gate_mm > 0, gate_growth >= 0, max_coast_frames >= 0, handedness_window >= 1 required")
        if not 0.0 <= self.birth_score <= 1.0:
            raise ValueError(f"birth_score must be in [0, 1], got {self.birth_score}")
        for name in ("verified_birth_score", "birth_plausibility", "min_plausibility"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.drop_implausible_frames < 0:
            raise ValueError(f"drop_implausible_frames must be >= 0, got {self.drop_implausible_frames}")

    def starts_track(self, score: float, plausibility: float | None) -> bool:
        """Whether an unmatched detection with this score (and pose plausibility, if verified) starts a track."""
        if plausibility is None:
            return score >= self.birth_score
        if plausibility < self.min_plausibility:
            return False
        return score >= self.birth_score or (
            score >= self.verified_birth_score and plausibility >= self.birth_plausibility
        )


def pose_center(pose: HandPose) -> F64:
    """(3,) mean of the pose's finite joints, camera mm (NaN if none)."""
    j = pose.joints_xyz_mm.astype(np.float64)
    finite = np.isfinite(j)
    if finite.all():  # the usual case: no row selection needed (the same mean)
        mean: F64 = j.mean(axis=0)
        return mean
    ok = finite.all(axis=1)
    return j[ok].mean(axis=0) if ok.any() else np.full(3, np.nan)


def majority(votes: Sequence[Handedness]) -> Handedness:
    """Most frequent non-unknown label; ties go to the most recent; UNKNOWN without votes."""
    known = [v for v in votes if v is not Handedness.UNKNOWN]
    if not known:
        return Handedness.UNKNOWN
    counts: dict[Handedness, int] = {}
    for v in known:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    return next(v for v in reversed(known) if counts[v] == best)


class _Track:
    def __init__(self, track_id: int, pose: HandPose, box: HandBox | None, t_us: int, cfg: TrackerConfig) -> None:
        self.id = track_id
        self.center = pose_center(pose)
        self.velocity = np.zeros(3)
        self.t_us = t_us
        self.age = -1  # the first update makes it 0
        self.lost = 0
        self.implausible = 0
        self.votes: deque[Handedness] = deque(maxlen=cfg.handedness_window)
        self.xyz_filter = OneEuroFilter(cfg.min_cutoff, cfg.beta, cfg.d_cutoff)
        self.uvd_filter = OneEuroFilter(cfg.min_cutoff, cfg.beta, cfg.d_cutoff)
        self.pose = pose
        self.box = box

    def predict(self, t_us: int) -> F64:
        dt = max(0.0, (t_us - self.t_us) * 1e-6)
        return np.asarray(self.center + self.velocity * dt, dtype=np.float64)

    def update(
        self,
        pose: HandPose,
        box: HandBox | None,
        t_us: int,
        intrinsics: CameraIntrinsics | None,
        center: F64 | None = None,
    ) -> None:
        center = pose_center(pose) if center is None else center
        dt = (t_us - self.t_us) * 1e-6
        if dt > 0 and np.all(np.isfinite(center)):
            self.velocity = 0.5 * self.velocity + 0.5 * (center - self.center) / dt
        if np.all(np.isfinite(center)):
            self.center = center
        self.t_us = max(self.t_us, t_us)
        self.age += 1
        self.lost = 0
        vote = (
            pose.handedness
            if pose.handedness is not Handedness.UNKNOWN
            else (box.handedness if box else pose.handedness)
        )
        self.votes.append(vote)
        xyz = self.xyz_filter(pose.joints_xyz_mm, t_us)
        if intrinsics is not None:
            uvd = xyz_to_uvd(xyz, intrinsics)
        else:
            uvd = self.uvd_filter(pose.joints_uvd, t_us)
        self.pose = dataclasses.replace(
            pose,
            joints_xyz_mm=xyz.astype(np.float32),
            joints_uvd=uvd.astype(np.float32),
            handedness=majority(self.votes),
            visible=inside_image(xyz, intrinsics) if intrinsics is not None else pose.visible,
        )
        self.box = box

    def coast(self) -> None:
        self.age += 1
        self.lost += 1
        self.box = None

    def output(self) -> TrackedHand:
        return TrackedHand(self.id, self.pose, self.box, self.age, self.lost)


class HandTracker:
    """Stable hand ids and smoothed joints over a stream (see the module docstring).

    Args:
        config: Parameters.

    Example:
        >>> tracker = HandTracker()
        >>> hands = tracker.update(poses, frame.timestamp_us, boxes)  # doctest: +SKIP
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def num_tracks(self) -> int:
        """Tracks alive (seen or coasting)."""
        return len(self._tracks)

    def predicted_centers(self, timestamp_us: int) -> list[tuple[int, F64]]:
        """``(track_id, centre (3,) camera mm)`` of every live track, predicted at ``timestamp_us``."""
        return [(t.id, t.predict(timestamp_us)) for t in self._tracks]

    def reset(self, ids: bool = False) -> None:
        """Drop every track; ids keep counting up unless ``ids`` (then the next hand is id 1 again)."""
        self._tracks.clear()
        if ids:
            self._next_id = 1

    def update(
        self,
        poses: Sequence[HandPose],
        timestamp_us: int,
        boxes: Sequence[HandBox | None] | None = None,
        intrinsics: CameraIntrinsics | None = None,
        plausibility: Sequence[float] | None = None,
    ) -> list[TrackedHand]:
        """Advance one frame.

        Args:
            poses: The hands of this frame (any order).
            timestamp_us: The frame's capture time, µs.
            boxes: The detection of each pose (same length), or ``None``.
            intrinsics: If given, smoothed ``joints_uvd`` are projected from smoothed ``joints_xyz_mm``; otherwise
                they are filtered separately.
            plausibility: The pose stage's plausibility of each pose in [0, 1] (same length;
                :class:`depthhand.pose.verify.HandVerifier`), or ``None`` (births by score alone, no drops).

        Returns:
            Tracked hands ordered by id: matched ones (``lost_frames == 0``) and, if ``emit_coasting``, coasting ones.

        Raises:
            ValueError: If ``boxes`` or ``plausibility`` and ``poses`` differ in length.
        """
        cfg = self.config
        if boxes is None:
            boxes = [None] * len(poses)
        if len(boxes) != len(poses):
            raise ValueError(f"got {len(poses)} poses but {len(boxes)} boxes; pass one box (or None) per pose")
        if plausibility is not None and len(plausibility) != len(poses):
            raise ValueError(f"got {len(poses)} poses but {len(plausibility)} plausibilities; pass one per pose")
        centers = np.array([pose_center(p) for p in poses]).reshape(-1, 3)
        usable = [i for i in range(len(poses)) if np.all(np.isfinite(centers[i]))]
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if self._tracks and usable:
            pred = np.array([t.predict(timestamp_us) for t in self._tracks])
            cost = np.linalg.norm(pred[:, None, :] - centers[usable][None, :, :], axis=-1)
            gates = np.array([cfg.gate_mm * (1.0 + cfg.gate_growth * t.lost) for t in self._tracks])
            big = 1e9
            rows, cols = min_cost_assignment(np.where(cost <= gates[:, None], cost, big))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if cost[r, c] <= gates[r]:
                    det = usable[c]
                    track = self._tracks[r]
                    track.update(poses[det], boxes[det], timestamp_us, intrinsics, centers[det])
                    if plausibility is not None:
                        track.implausible = track.implausible + 1 if plausibility[det] < cfg.min_plausibility else 0
                    matched_tracks.add(r)
                    matched_dets.add(det)
        for r, track in enumerate(self._tracks):
            if r not in matched_tracks:
                track.coast()
        drop = cfg.drop_implausible_frames
        self._tracks = [
            t for t in self._tracks if t.lost <= cfg.max_coast_frames and not (drop and t.implausible >= drop)
        ]
        for det in usable:
            if det in matched_dets or len(self._tracks) >= cfg.max_hands:
                continue
            box = boxes[det]
            score = box.score if box is not None else poses[det].score
            if not cfg.starts_track(score, None if plausibility is None else float(plausibility[det])):
                continue
            track = _Track(self._next_id, poses[det], boxes[det], timestamp_us, cfg)
            self._next_id += 1
            track.update(poses[det], boxes[det], timestamp_us, intrinsics)
            self._tracks.append(track)
        out = [t.output() for t in self._tracks if cfg.emit_coasting or t.lost == 0]
        return sorted(out, key=lambda h: h.track_id)
