"""The label-free real-frame checks (:mod:`depthhand.evaluate.real_checks`) over a real depth sequence.

Every frame of the sequence is read and run as ``depthhand predict`` runs it at its default settings (the shipped
models, single-image mode: ``--intrinsics <preset> --depth-scale <the preset's unit>``). The *track* is the hand
followed through the frames label-free: in the first frame with a hand, the highest-scoring one; afterwards, the
hand whose palm centre is nearest the track's last one. The checks run on the track's hand in each frame; where box
labels exist (:mod:`depthhand.evaluate.real_labels`), the found / false-hand counts use them too (a hand is the
labelled one when its detection centre lies inside the labelled box; any other hand is false).

Jitter is between consecutive frames *of the sequence as stored* (the SR305 desk frames are every 20th frame of the
recording, so their frame-to-frame displacement includes the hand's real motion; the articulation figure removes the
palm's rigid motion first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.evaluate import real_checks as rc
from depthhand.evaluate.real_labels import SR305_DESK_LABELS, read_box_labels
from depthhand.skeleton import JointSet
from depthhand.structures import DepthFrame, TrackedHand

F64 = npt.NDArray[np.float64]

ON_HAND_TOLERANCE_MM = 5.0
"""A joint is on the hand when a hand pixel lies within this distance (image plane, at the joint's depth)."""


@dataclass(frozen=True, slots=True)
class RealSequence:
    """A real depth sequence in the shared data folder.

    Attributes:
        name: Benchmark name part (``real.<name>.*``).
        frames: Folder of the 16-bit depth PNGs, relative to the shared folder.
        intrinsics: Camera preset (:data:`depthhand.geometry.camera.INTRINSICS`); its depth unit scales the PNGs.
        labels: Box-label file, or None for a sequence without labels.
        description: One line for tables.
    """

    name: str
    frames: str
    intrinsics: str
    labels: Path | None = None
    description: str = ""


REAL_SEQUENCES: dict[str, RealSequence] = {
    "sr305_desk": RealSequence(
        "sr305_desk",
        "data/real/sr305-desk/frames",
        "sr305",
        SR305_DESK_LABELS,
        "RealSense SR305, person at a desk raising the right hand, 11 frames (every 20th), 450-700 mm",
    ),
}
"""The real sequences the ``real.*`` benchmarks run on (every real depth sequence in ``../shared/data/real``)."""


@dataclass(frozen=True, slots=True, eq=False)
class FrameCheck:
    """The checks of one frame.

    Attributes:
        name: Frame name (the PNG's stem).
        frame: The depth frame (mm).
        hands: Every hand the pipeline reported.
        track: Index into ``hands`` of the track's hand, or None when no hand was found.
        mask: Hand pixels around the track hand's detection (None without a hand).
        on_hand: (J,) joints on hand pixels, within :data:`ON_HAND_TOLERANCE_MM` (empty without a hand).
        on_hand_strict: (J,) joints whose own pixel is a hand pixel (no tolerance).
        offsets_mm: (J,) surface offsets, mm (NaN off the hand; empty without a hand).
        residuals_mm: (N,) capsule residuals of the hand-side points, mm (empty without a hand).
        labelled_found: Whether a hand lies in the labelled box (None: no label for this frame).
        false_hands: Hands outside the labelled box (None: no label).
    """

    name: str
    frame: DepthFrame
    hands: tuple[TrackedHand, ...]
    track: int | None
    mask: rc.HandMask | None
    on_hand: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    on_hand_strict: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    offsets_mm: F64 = field(default_factory=lambda: np.zeros(0))
    residuals_mm: F64 = field(default_factory=lambda: np.zeros(0))
    labelled_found: bool | None = None
    false_hands: int | None = None

    @property
    def hand(self) -> TrackedHand | None:
        """The track's hand in this frame."""
        return None if self.track is None else self.hands[self.track]


@dataclass(frozen=True, slots=True, eq=False)
class SequenceChecks:
    """The checks of a whole sequence.

    Attributes:
        sequence: What was run.
        joint_set: The pose model's skeleton.
        cube_mm: The pose model's crop cube, mm.
        frames: One entry per frame, in order.
    """

    sequence: RealSequence
    joint_set: JointSet
    cube_mm: float
    frames: tuple[FrameCheck, ...]

    def track_xyz_mm(self) -> F64:
        """(T, J, 3) the track's joints per frame, NaN where no hand was found."""
        out = np.full((len(self.frames), self.joint_set.num_joints, 3), np.nan)
        for t, f in enumerate(self.frames):
            if f.hand is not None:
                out[t] = f.hand.pose.joints_xyz_mm
        return out


def palm_centre(hand: TrackedHand) -> F64:
    """(3,) mean of the hand's palm joints (``joint_set.palm``), camera mm."""
    out: F64 = np.asarray(hand.pose.joints_xyz_mm, np.float64)[list(hand.pose.joint_set.palm)].mean(axis=0)
    return out


def pick_track(hands: Sequence[TrackedHand], last: F64 | None) -> int | None:
    """The index of the track's hand among ``hands`` (None without hands).

    The highest-scoring hand while the track has no position yet (``last`` None), else the hand whose palm centre is
    nearest ``last`` ((3,) camera mm).
    """
    if not hands:
        return None
    if last is None:
        return int(np.argmax([h.pose.score for h in hands]))
    return int(np.argmin([np.linalg.norm(palm_centre(h) - last) for h in hands]))


def check_frame(
    name: str,
    frame: DepthFrame,
    hands: tuple[TrackedHand, ...],
    track: int | None,
    cube_mm: float,
    box_xyxy: F64 | None = None,
) -> FrameCheck:
    """Run every per-frame check on the track's hand (``hands[track]``) of one frame."""
    labelled_found, false_hands = None, None
    if box_xyxy is not None:
        centres = [_detection_uv(h) for h in hands]
        inside = [bool(box_xyxy[0] <= u <= box_xyxy[2] and box_xyxy[1] <= v <= box_xyxy[3]) for u, v in centres]
        labelled_found, false_hands = any(inside), len(hands) - int(any(inside))
    if track is None:
        return FrameCheck(name, frame, hands, None, None, labelled_found=labelled_found, false_hands=false_hands)
    hand = hands[track]
    pose, k = hand.pose, frame.intrinsics
    centre_uvd = hand.box.center_uvd if hand.box is not None else _palm_uvd(hand, frame)
    mask = rc.hand_mask(frame.depth_mm, k, centre_uvd, cube_mm)
    uvd = np.asarray(pose.joints_uvd, np.float64)
    on = rc.joints_on_hand(uvd, mask.mask, k, ON_HAND_TOLERANCE_MM)
    strict = rc.joints_on_hand(uvd, mask.mask, k, 0.0)
    offsets = rc.surface_offsets_mm(uvd, frame.depth_mm, mask.mask, k, ON_HAND_TOLERANCE_MM)
    vs, us = np.nonzero(mask.mask)
    from depthhand.geometry.camera import uvd_to_xyz

    pts = uvd_to_xyz(np.stack([us, vs, frame.depth_mm[vs, us]], axis=-1).astype(np.float64), k)
    xyz = np.asarray(pose.joints_xyz_mm, np.float64)
    pts = pts[rc.hand_side_points(pts, xyz, pose.joint_set)]
    residuals = rc.capsule_residuals_mm(pts, xyz, pose.joint_set)
    return FrameCheck(name, frame, hands, track, mask, on, strict, offsets, residuals, labelled_found, false_hands)


def _detection_uv(hand: TrackedHand) -> tuple[float, float]:
    if hand.box is not None:
        return float(hand.box.center_uvd[0]), float(hand.box.center_uvd[1])
    uvd = np.asarray(hand.pose.joints_uvd, np.float64)[list(hand.pose.joint_set.palm)].mean(axis=0)
    return float(uvd[0]), float(uvd[1])


def _palm_uvd(hand: TrackedHand, frame: DepthFrame) -> F64:
    from depthhand.geometry.camera import xyz_to_uvd

    return xyz_to_uvd(palm_centre(hand), frame.intrinsics)


def read_sequence(seq: RealSequence, shared: str | Path | None = None) -> list[tuple[str, DepthFrame]]:
    """The sequence's frames in natural order, as ``depthhand predict`` reads them (mm = raw × the preset's unit).

    Raises:
        FileNotFoundError: The frames folder is missing or holds no PNG (naming it and ``$DEPTHHAND_SHARED``).
        ValueError: A frame is not a 16-bit depth image of the preset's size (naming it).
    """
    from depthhand.capture.folder import natural_key
    from depthhand.evaluate.protocols import SHARED_ENV, resolve_shared_dir
    from depthhand.geometry.camera import parse_intrinsics
    from depthhand.predict import read_depth_image

    folder = resolve_shared_dir(shared) / seq.frames
    files = sorted(folder.glob("*.png"), key=lambda p: natural_key(p.name)) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"real sequence {seq.name!r}: no depth PNGs in {folder}; point ${SHARED_ENV} at the folder that holds "
            f"{seq.frames}"
        )
    k = parse_intrinsics(seq.intrinsics)
    out = []
    for i, path in enumerate(files):
        depth = read_depth_image(path, "png16", k.depth_unit_mm)
        if depth.shape != (k.height, k.width):
            raise ValueError(
                f"{path}: image is {depth.shape[1]}×{depth.shape[0]}, {seq.intrinsics} is {k.width}×{k.height}"
            )
        out.append((path.stem, DepthFrame(depth, k, 0, str(path), i)))
    return out


def run_sequence(seq: RealSequence, shared: str | Path | None = None, options: Any = None) -> SequenceChecks:
    """Run the default pipeline (single-image mode, as ``depthhand predict``) and every check on a sequence.

    Args:
        seq: The sequence.
        shared: The shared folder (default ``$DEPTHHAND_SHARED`` or ``../shared``).
        options: :class:`~depthhand.pipeline.PipelineOptions` (default: ``predict``'s defaults).
    """
    from depthhand.pipeline import HandPipeline, PipelineOptions

    frames = read_sequence(seq, shared)
    labels = read_box_labels(seq.labels) if seq.labels is not None else {}
    image_mode = dataclasses.replace(options or PipelineOptions(), mode="image")
    checks, last = [], None
    with HandPipeline(image_mode) as pipe:
        cube = float(pipe.estimator.info.cube_mm)
        joint_set = pipe.joint_set
        for name, frame in frames:
            hands = pipe.process(frame).hands
            track = pick_track(hands, last)
            if track is not None:
                last = palm_centre(hands[track])
            box = labels[name]["box_xyxy"] if name in labels else None
            checks.append(check_frame(name, frame, hands, track, cube, box))
    return SequenceChecks(seq, joint_set, cube, tuple(checks))


def summarise(checks: SequenceChecks) -> dict[str, Any]:
    """Every figure of the ``real.*`` benchmarks for one sequence (see the module docstrings for definitions)."""
    js, frames = checks.joint_set, checks.frames
    found = [f for f in frames if f.hand is not None]
    out: dict[str, Any] = {
        "sequence": checks.sequence.name,
        "frames": len(frames),
        "frames_with_hand": len(found),
        "found_fraction": len(found) / max(1, len(frames)),
        "hands_per_frame": float(np.mean([len(f.hands) for f in frames])) if frames else float("nan"),
    }
    labelled = [f for f in frames if f.labelled_found is not None]
    if labelled:
        out["labelled_frames"] = len(labelled)
        out["labelled_found"] = sum(bool(f.labelled_found) for f in labelled)
        out["false_hands"] = sum(int(f.false_hands or 0) for f in labelled)
        out["false_hands_per_frame"] = out["false_hands"] / len(labelled)
    groups = rc.joint_groups(js)
    if found:
        on = np.stack([f.on_hand for f in found])
        off = np.stack([f.offsets_mm for f in found])
        out["on_hand_fraction"] = float(on.mean())
        out["on_hand_strict_fraction"] = float(np.stack([f.on_hand_strict for f in found]).mean())
        out["on_hand_per_group"] = {g: float(on[:, list(ix)].mean()) for g, ix in groups.items()}
        out["on_hand_per_frame"] = {f.name: int(f.on_hand.sum()) for f in found}
        out["joints"] = js.num_joints
        out["surface"] = {
            "all": rc.summarise_offsets(off),
            **{g: rc.summarise_offsets(off[:, list(ix)]) for g, ix in groups.items()},
        }
        lengths = rc.bone_lengths_mm(np.stack([f.hand.pose.joints_xyz_mm for f in found if f.hand]), js)
        ranges = rc.human_bone_ranges_mm(js)
        inside = (lengths >= ranges[:, 0]) & (lengths <= ranges[:, 1])
        cv = rc.bone_cv(lengths)
        names = [f"{js.names[a]}-{js.names[b]}" for a, b in js.bones]
        out["bones"] = {
            "in_range_fraction": float(inside.mean()),
            "frames_all_in_range": int(inside.all(axis=1).sum()),
            "cv_median": float(np.nanmedian(cv)) if np.isfinite(cv).any() else float("nan"),
            "cv_max": float(np.nanmax(cv)) if np.isfinite(cv).any() else float("nan"),
            "per_bone": {
                n: {
                    "median_mm": float(np.median(lengths[:, i])),
                    "range_mm": [float(ranges[i, 0]), float(ranges[i, 1])],
                    "in_range": float(inside[:, i].mean()),
                    "cv": float(cv[i]),
                }
                for i, n in enumerate(names)
            },
        }
        res = np.concatenate([f.residuals_mm for f in found])
        out["residual"] = {
            "mean_mm": float(res.mean()) if res.size else float("nan"),
            "median_mm": float(np.median(res)) if res.size else float("nan"),
            "p90_mm": float(np.percentile(res, 90)) if res.size else float("nan"),
            "over_10mm": float(np.mean(res > 10)) if res.size else float("nan"),
            "frame_mean_mm": {
                f.name: float(f.residuals_mm.mean()) if f.residuals_mm.size else float("nan") for f in found
            },
            "points_per_frame": float(np.mean([f.residuals_mm.size for f in found])),
        }
    track = checks.track_xyz_mm()
    raw = rc.joint_displacements_mm(track)
    art = rc.joint_displacements_mm(track, align=js.palm)
    pairs = int(np.isfinite(raw).all(axis=1).sum()) if len(track) > 1 else 0
    out["jitter"] = {"pairs": pairs, **_percentiles(raw, ""), **_percentiles(art, "articulation_")}
    return out


def _percentiles(x: F64, prefix: str) -> dict[str, float]:
    v = x[np.isfinite(x)]
    if v.size == 0:
        return {f"{prefix}median_mm": float("nan"), f"{prefix}p95_mm": float("nan")}
    return {f"{prefix}median_mm": float(np.median(v)), f"{prefix}p95_mm": float(np.percentile(v, 95))}
