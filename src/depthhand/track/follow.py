"""Following tracked hands between detections: predicted crop centres, and when a followed crop looks lost.

In video mode the live pipeline runs the detector only every ``detect_every`` frames while hands are tracked (the
scheme of MediaPipe Hands). On the frames between, each hand seen in the previous frame is cropped around its
*predicted palm centre*: the palm centre (mean of the wrist and the four finger MCPs, the centre the pose network
was trained on) of its last raw network pose, moved by its velocity to the new frame's time. The crop cube is the
pose model's, as for a detection.

A followed crop *looks lost* (:meth:`HandFollower.lost`), and the pipeline detects on the same frame at once, when

* fewer than ``min_visible`` of the new pose's joints lie inside the image (the hand is leaving the view; the
  accuracy protocol stops counting a hand below half its joints in view, and so should the pipeline), or
* the new pose's palm centre lies more than ``max_shift_mm`` from the crop centre (the hand moved more than its
  velocity said, or the crop slid off it: the network's answer from an off-centre crop is not to be trusted), or
* fewer than ``min_depth_fraction`` of the patch's pixels hold depth inside the cube (the crop shows nothing).

The thresholds were chosen on the synthetic live source (``BENCHMARKS.md``, "Tracking instead of re-detecting").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import xyz_to_uvd
from depthhand.geometry.crop import BACKGROUND, crop_bounds
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, HandBox, Handedness, HandPose, TrackedHand

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FollowConfig:
    """When a followed crop counts as lost (see the module docstring).

    Attributes:
        min_visible: Smallest fraction of the pose's joints inside the image.
        max_shift_mm: Largest distance between the new pose's palm centre and the crop centre, mm.
        min_depth_fraction: Smallest fraction of the patch's pixels with depth inside the cube.
        max_gap_us: A hand is followed only if it was seen at most this long before the frame, µs.
        confirm_gate_mm: With the detector running beside the followed crops: the largest distance between a
            followed hand's new palm centre and a detection that confirms it, mm (the detector's centre error is
            10–15 mm on average, about 30 mm at the 90th percentile).
    """

    min_visible: float = 0.5
    max_shift_mm: float = 30.0
    min_depth_fraction: float = 0.05
    max_gap_us: int = 100_000
    confirm_gate_mm: float = 60.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.min_visible <= 1.0 and 0.0 <= self.min_depth_fraction <= 1.0):
            raise ValueError("min_visible and min_depth_fraction must be fractions in [0, 1]")
        if not self.max_shift_mm > 0 or self.max_gap_us <= 0 or not self.confirm_gate_mm > 0:
            raise ValueError("max_shift_mm, max_gap_us and confirm_gate_mm must be positive")


def palm_indices(joint_set: JointSet) -> list[int]:
    """Indices of the wrist and the four finger MCPs (all joints for a skeleton without them)."""
    names = joint_set.names
    idx = [i for i, n in enumerate(names) if n == "WRIST" or (n.endswith("_MCP") and not n.startswith("THUMB"))]
    return idx if len(idx) == 5 else list(range(len(names)))


@dataclass(frozen=True, slots=True)
class CropSignals:
    """What a followed crop looked like after the pose network ran on it.

    Attributes:
        visible: Fraction of the pose's joints inside the image.
        shift_mm: Distance from the crop centre to the new pose's palm centre, mm.
        depth_fraction: Fraction of the patch's pixels with depth inside the cube.
    """

    visible: float
    shift_mm: float
    depth_fraction: float


@dataclass(slots=True)
class _Followed:
    palm_xyz_mm: F64
    velocity_mm_s: F64
    t_us: int
    score: float
    handedness: Handedness


class HandFollower:
    """Predicted crop centres of the tracked hands and the lost-crop test (see the module docstring).

    Args:
        joint_set: Skeleton of the poses.
        cube_mm: Side of the pose model's crop cube, mm (for the boxes of followed crops).
        config: Thresholds.
    """

    def __init__(self, joint_set: JointSet, cube_mm: float, config: FollowConfig | None = None) -> None:
        self.config = config or FollowConfig()
        self.cube_mm = float(cube_mm)
        self._palm = palm_indices(joint_set)
        self._hands: dict[int, _Followed] = {}
        self._seen: list[int] = []  # ids matched in the last observed frame, in the tracker's order

    def reset(self) -> None:
        """Forget every hand."""
        self._hands.clear()
        self._seen = []

    @property
    def num_followed(self) -> int:
        """Hands seen in the last observed frame (those :meth:`boxes` follows)."""
        return len(self._seen)

    def palm_center(self, pose: HandPose) -> F64:
        """(3,) palm centre of a pose, camera mm."""
        out: F64 = pose.joints_xyz_mm[self._palm].astype(np.float64).mean(axis=0)
        return out

    def boxes(self, timestamp_us: int, intrinsics: CameraIntrinsics) -> list[HandBox]:
        """Detection-like boxes around the predicted palm centres of the hands seen in the last frame.

        Each box carries the hand's last detection score and handedness; its centre is the predicted palm centre,
        its image box the cube's projection there (clipped to the image). Empty when no hand can be followed (none
        seen, or the last sighting older than ``max_gap_us`` or not before ``timestamp_us``).
        """
        out = []
        for track_id in self._seen:
            hand = self._hands[track_id]
            dt_us = timestamp_us - hand.t_us
            if not 0 < dt_us <= self.config.max_gap_us:
                return []
            center = hand.palm_xyz_mm + hand.velocity_mm_s * (dt_us * 1e-6)
            if not (np.all(np.isfinite(center)) and center[2] > 0):
                return []
            uvd = xyz_to_uvd(center, intrinsics)
            bounds = crop_bounds(center, self.cube_mm, intrinsics)
            hi = [intrinsics.width - 0.5, intrinsics.height - 0.5] * 2
            out.append(
                HandBox(
                    center_uvd=uvd.astype(np.float32),
                    center_xyz_mm=center.astype(np.float32),
                    box_xyxy=np.clip(bounds, -0.5, hi).astype(np.float32),
                    score=hand.score,
                    handedness=hand.handedness,
                )
            )
        return out

    def signals(self, pose: HandPose, patch: npt.NDArray[np.float32], box: HandBox) -> CropSignals:
        """The lost-crop signals of one followed crop: its pose, its (1, S, S) or (S, S) patch and its box."""
        shift = float(np.linalg.norm(self.palm_center(pose) - np.asarray(box.center_xyz_mm, np.float64)))
        return CropSignals(float(np.mean(pose.visible)), shift, float(np.mean(patch < BACKGROUND)))

    def lost(self, poses: Sequence[HandPose], patches: npt.NDArray[np.float32], boxes: Sequence[HandBox]) -> str:
        """Why the followed crops look lost (``""`` when none does): the first failing hand's reason."""
        cfg = self.config
        for i, (pose, box) in enumerate(zip(poses, boxes, strict=True)):
            s = self.signals(pose, patches[i], box)
            if not np.isfinite(s.shift_mm):
                return "pose not finite"
            if s.visible < cfg.min_visible:
                return f"{s.visible:.2f} of the joints in the image"
            if s.shift_mm > cfg.max_shift_mm:
                return f"palm {s.shift_mm:.0f} mm from the crop centre"
            if s.depth_fraction < cfg.min_depth_fraction:
                return f"{s.depth_fraction:.2f} of the crop holds depth"
        return ""

    def observe(
        self,
        hands: Sequence[TrackedHand],
        poses: Sequence[HandPose],
        boxes: Sequence[HandBox],
        timestamp_us: int,
    ) -> None:
        """Take note of a frame: the tracker's output and the raw poses and boxes it was given (same order).

        A tracked hand is matched to its raw pose by its box (the tracker hands each track the box object of the
        pose it took). Hands not seen in this frame are forgotten.
        """
        by_box = {id(b): i for i, b in enumerate(boxes)}
        seen: list[int] = []
        for hand in hands:
            i = by_box.get(id(hand.box)) if hand.box is not None and hand.lost_frames == 0 else None
            if i is None:
                continue
            palm = self.palm_center(poses[i])
            if not np.all(np.isfinite(palm)):
                continue
            old = self._hands.get(hand.track_id)
            velocity = np.zeros(3)
            if old is not None:
                dt = (timestamp_us - old.t_us) * 1e-6
                if 0 < dt <= self.config.max_gap_us * 1e-6:
                    velocity = 0.5 * old.velocity_mm_s + 0.5 * (palm - old.palm_xyz_mm) / dt
            self._hands[hand.track_id] = _Followed(
                palm, velocity, timestamp_us, float(boxes[i].score), hand.pose.handedness
            )
            seen.append(hand.track_id)
        self._hands = {k: v for k, v in self._hands.items() if k in seen}
        self._seen = seen


def confirm_followed(
    followed_palms_xyz_mm: npt.ArrayLike, detections: Sequence[HandBox], gate_mm: float
) -> tuple[list[int], list[int], list[int]]:
    """Pair followed hands with the detector's boxes of the same frame, nearest first.

    Used when the detector ran in a worker thread (the pipeline's ``detect_overlap``, :mod:`depthhand.track.finder`):
    a followed hand the detector also sees keeps its followed pose; one it does not see is given up for this frame
    (the detector stays the authority on what is a hand); a detection near no followed hand is a new hand.

    Args:
        followed_palms_xyz_mm: (F, 3) palm centres of the followed hands' new poses, camera mm.
        detections: The detector's boxes (their ``center_xyz_mm``).
        gate_mm: Largest palm-to-detection distance of a pair, mm.

    Returns:
        ``(followed, detected, new)``: the indices of the paired followed hands and of their detections (same
        order), and the indices of the unpaired detections in the detector's order.
    """
    palms = np.asarray(followed_palms_xyz_mm, np.float64).reshape(-1, 3)
    centers = np.array([d.center_xyz_mm for d in detections], np.float64).reshape(-1, 3)
    dist = np.linalg.norm(palms[:, None, :] - centers[None, :, :], axis=-1)
    pairs: list[tuple[int, int]] = []
    if dist.size:
        for flat in np.argsort(dist, axis=None, kind="stable"):
            f, d = divmod(int(flat), len(detections))
            if not dist[f, d] <= gate_mm:  # also NaN
                break
            if all(f != pf and d != pd for pf, pd in pairs):
                pairs.append((f, d))
    pairs.sort()
    paired = {d for _, d in pairs}
    return [f for f, _ in pairs], [d for _, d in pairs], [d for d in range(len(detections)) if d not in paired]
