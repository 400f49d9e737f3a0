"""Geometric hand proposals, and a detector that combines them with the learned CNN's scores (``--detector geo``).

Proposals come from the depth alone (no learning):

* **arm ends**: the frame (subsampled by ``step``) is cut into blobs at depth discontinuities (neighbour steps above
  ``max(jump_mm, jump_rel · z)``); each blob of arm-to-hand size enters the view at the image border (or, touching
  nothing, at the deeper end of its principal axis), and its hand is the part within ``hand_length_mm`` of the far
  end (:func:`depthhand.detect.com.extremity_mask`); the proposal is that part's refined centre of mass;
* **nearest blob**: the classical nearest-slice detector (:mod:`depthhand.detect.classical`);
* **above the background**: the background-model detector (:mod:`depthhand.detect.background`) when a model of the
  empty scene is given.

:func:`combine` fuses them with the CNN's candidates (taken down to a low score): a candidate near a proposal is
raised (``s + (1 − s) · boost · support``, support = exp(−d²/2σ²) of the 3-D distance to the nearest proposal), a
candidate whose surroundings are one flat surface (a torso, a wall, a table) is lowered (× ``flat_factor``), and the
final score goes to the tracker's birth threshold as the CNN's does. A proposal no candidate supports is not a hand
on its own (it would fire on every object end).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.detect.base import MAX_HANDS, clean_depth
from depthhand.detect.com import blob_points, distance_to_set, extremity_mask, far_axis_end, hand_box
from depthhand.structures import CameraIntrinsics, DepthFrame, HandBox

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ProposalConfig:
    """Parameters of the proposals and their combination (mm unless stated).

    Attributes:
        near_mm: Nearest depth used.
        far_mm: Farthest depth used.
        step: Subsampling step of the blob segmentation.
        jump_mm: Smallest neighbour depth step that separates two blobs.
        jump_rel: The same as a fraction of the depth (the larger applies).
        min_blob_cm2: Smallest blob (metric area, cm²).
        max_blob_cm2: Largest blob that can be an arm (a torso or a table is larger), cm².
        hand_length_mm: Part of a blob's far end kept as the hand.
        min_hand_cm2: Smallest hand part, cm².
        max_hand_cm2: Largest hand part, cm².
        max_extent_mm: Largest side of the hand part.
        border_px: Pixels this close to the image border (full resolution) count as the entry.
        cube_mm: Centre refinement cube.
        cnn_min_score: Lowest CNN score taken as a candidate.
        support_sigma_mm: σ of the support of a proposal for a candidate (3-D centre distance).
        boost: Share of the remaining score a fully supported candidate gains.
        flat_factor: Score factor of a candidate on a flat surface.
        flat_rms_mm: Largest plane-fit RMS of a flat surface.
        flat_coverage: Smallest share of the window on that surface for it to count as flat.
        entry_factor: Score factor of a candidate on an arm's entry side.
        entry_mm: Distance from its blob's arm end beyond which a candidate is on the entry side.
        use_nearest: Add the classical nearest-blob proposals.
    """

    near_mm: float = 150.0
    far_mm: float = 3000.0
    step: int = 4
    jump_mm: float = 25.0
    jump_rel: float = 0.04
    min_blob_cm2: float = 30.0
    max_blob_cm2: float = 2500.0
    hand_length_mm: float = 150.0
    min_hand_cm2: float = 25.0
    max_hand_cm2: float = 450.0
    max_extent_mm: float = 300.0
    border_px: int = 8
    cube_mm: float = 200.0
    cnn_min_score: float = 0.2
    support_sigma_mm: float = 30.0
    boost: float = 0.5
    flat_factor: float = 0.5
    flat_rms_mm: float = 6.0
    flat_coverage: float = 0.8
    entry_factor: float = 0.3
    entry_mm: float = 120.0
    use_nearest: bool = True


@dataclass(frozen=True, slots=True)
class Proposal:
    """A hand proposed from geometry.

    Attributes:
        center_xyz_mm: (3,) the hand part's refined centre of mass, camera mm.
        box_xyxy: (4,) its pixel box.
        kind: ``"arm_end"``, ``"nearest"`` or ``"background"``.
        blob: Label of its blob in the segmentation (arm ends; −1 for the other kinds).
        tip_xyz_mm: (3,) the blob's far end: mean of its points within 6 mm of the largest distance from the
            entry (arm ends; the centre for the other kinds).
    """

    center_xyz_mm: F64
    box_xyxy: F32
    kind: str
    blob: int = -1
    tip_xyz_mm: F64 | None = None


def segment_blobs(small_mm: F32, jump_mm: float, jump_rel: float) -> tuple[npt.NDArray[np.int32], int]:
    """Connected blobs of valid pixels, cut wherever a 4-neighbour's depth differs by more than the jump.

    Args:
        small_mm: (h, w) depth, mm, 0 = invalid.
        jump_mm: Absolute jump, mm.
        jump_rel: Relative jump (fraction of the depth).

    Returns:
        ``(labels, n)``: (h, w) int32 blob labels (0 = invalid or a boundary pixel), and the number of labels + 1.
    """
    import cv2

    z = small_mm.astype(np.float32)
    valid = z > 0
    thr = np.maximum(jump_mm, jump_rel * z)
    cut = np.zeros(z.shape, bool)
    dx = np.abs(z[:, 1:] - z[:, :-1]) > np.minimum(thr[:, 1:], thr[:, :-1])
    dx &= valid[:, 1:] & valid[:, :-1]
    dy = np.abs(z[1:] - z[:-1]) > np.minimum(thr[1:], thr[:-1])
    dy &= valid[1:] & valid[:-1]
    # the nearer pixel of a jump stays with its blob, the farther one becomes the boundary
    cut[:, 1:] |= dx & (z[:, 1:] > z[:, :-1])
    cut[:, :-1] |= dx & (z[:, :-1] > z[:, 1:])
    cut[1:] |= dy & (z[1:] > z[:-1])
    cut[:-1] |= dy & (z[:-1] > z[1:])
    n, labels = cv2.connectedComponents((valid & ~cut).astype(np.uint8), connectivity=4)
    return labels.astype(np.int32), int(n)


def arm_end_proposals(
    depth_mm: F32, intrinsics: CameraIntrinsics, cfg: ProposalConfig
) -> tuple[list[Proposal], npt.NDArray[np.int32]]:
    """The far ends of arm-sized blobs (see the module docstring), largest blobs first, and the blob labels.

    Args:
        depth_mm: (H, W) depth, mm (0 / NaN invalid).
        intrinsics: Its camera.
        cfg: Parameters.

    Returns:
        ``(proposals, labels)``: labels is the (ceil(H/step), ceil(W/step)) segmentation (:func:`segment_blobs`).
    """
    import cv2

    frame = DepthFrame(np.nan_to_num(depth_mm).astype(np.float32), intrinsics)
    small = clean_depth(frame, cfg.near_mm, cfg.far_mm, step=cfg.step)
    small = np.asarray(cv2.medianBlur(small, 3), np.float32)
    labels, n = segment_blobs(small, cfg.jump_mm, cfg.jump_rel)
    if n <= 1:
        return [], labels
    h, w = small.shape
    m = max(1, round(cfg.border_px / cfg.step))
    full = frame.depth_mm
    out: list[Proposal] = []
    counts = np.bincount(labels.ravel(), minlength=n)
    for lab in np.argsort(-counts[1:])[:24] + 1:
        comp = labels == lab
        if counts[lab] < 4:
            break
        pts = blob_points(small, comp, intrinsics, cfg.step)
        area = float(pts.area_mm2.sum())
        if not cfg.min_blob_cm2 * 100 <= area <= cfg.max_blob_cm2 * 100:
            continue
        vi, ui = pts.v // cfg.step, pts.u // cfg.step
        entry = (vi < m) | (ui < m) | (vi >= h - m) | (ui >= w - m)
        if not entry.any():
            entry = far_axis_end(pts.xyz_mm)
        if float(pts.area_mm2[entry].sum()) > 0.5 * area:
            continue
        keep, _ = extremity_mask(pts.xyz_mm, entry, cfg.hand_length_mm)
        dist = distance_to_set(pts.xyz_mm, pts.xyz_mm[entry])
        tip = pts.xyz_mm[dist >= float(dist.max()) - 6.0].mean(axis=0)
        hand_area = float(pts.area_mm2[keep].sum())
        if not cfg.min_hand_cm2 * 100 <= hand_area <= cfg.max_hand_cm2 * 100:
            continue
        ext = pts.xyz_mm[keep, :2].max(axis=0) - pts.xyz_mm[keep, :2].min(axis=0)
        if float(ext.max()) > cfg.max_extent_mm:
            continue
        hb = hand_box(full, pts, keep, intrinsics, cfg.step, cfg.cube_mm)
        if hb is not None:
            out.append(Proposal(hb.center_xyz_mm.astype(np.float64), hb.box_xyxy, "arm_end", int(lab), tip))
    return out, labels


def flat_surface(depth_mm: F32, intrinsics: CameraIntrinsics, box: HandBox, cfg: ProposalConfig) -> bool:
    """Whether the window around a candidate (its box, 1.5× larger) is one flat surface at the candidate's depth.

    The valid pixels within ±100 mm of the candidate's centre depth are fitted with a plane (least squares); the
    surface is flat when they cover at least ``flat_coverage`` of the window and their RMS residual is at most
    ``flat_rms_mm``. A hand before a body is not flat: the hand's pixels are 50 mm or more off the body's plane.
    """
    from depthhand.geometry.camera import uvd_to_xyz

    h, w = depth_mm.shape
    u0, v0, u1, v1 = (float(x) for x in box.box_xyxy)
    cu, cv, hw, hh = (u0 + u1) / 2, (v0 + v1) / 2, 0.75 * max(u1 - u0, 8.0), 0.75 * max(v1 - v0, 8.0)
    a0, a1 = int(max(0, cu - hw)), int(min(w, cu + hw + 1))
    b0, b1 = int(max(0, cv - hh)), int(min(h, cv + hh + 1))
    win = depth_mm[b0:b1:2, a0:a1:2]
    if win.size < 16:
        return False
    z0 = float(box.center_uvd[2])
    near = (win > 0) & (np.abs(win - z0) <= 100.0)
    if near.mean() < cfg.flat_coverage:
        return False
    vs, us = np.nonzero(near)
    uvd = np.stack([a0 + 2 * us, b0 + 2 * vs, win[vs, us]], axis=-1).astype(np.float64)
    xyz = uvd_to_xyz(uvd, intrinsics)
    c = xyz - xyz.mean(axis=0)
    normal = np.linalg.svd(c, full_matrices=False)[2][-1]
    rms = float(np.sqrt(np.mean((c @ normal) ** 2)))
    return rms <= cfg.flat_rms_mm


def combine(
    candidates: Sequence[HandBox],
    proposals: Sequence[Proposal],
    flat: Sequence[bool],
    cfg: ProposalConfig,
    max_hands: int = MAX_HANDS,
    blobs: Sequence[int] | None = None,
) -> list[HandBox]:
    """Rescore CNN candidates with geometric support, flatness and arm entries (see the module docstring), best first.

    Args:
        candidates: The CNN's candidates.
        proposals: Geometric proposals.
        flat: Per candidate, whether it lies on a flat surface.
        cfg: ``support_sigma_mm``, ``boost``, ``flat_factor``, ``entry_factor``, ``entry_mm``.
        max_hands: Most boxes returned.
        blobs: Per candidate, the blob label under its centre (−1: none). A candidate on a blob whose arm-end
            proposal lies more than ``entry_mm`` away sits on that arm's entry side (an elbow, a cut upper arm) and
            is lowered (× ``entry_factor``).

    Returns:
        The candidates with new scores, sorted by score (highest first), at most ``max_hands``.
    """
    if len(flat) != len(candidates):
        raise ValueError(f"combine: {len(flat)} flatness flags for {len(candidates)} candidates")
    blob_of = list(blobs) if blobs is not None else [-1] * len(candidates)
    if len(blob_of) != len(candidates):
        raise ValueError(f"combine: {len(blob_of)} blob labels for {len(candidates)} candidates")
    centres = np.array([p.center_xyz_mm for p in proposals], np.float64).reshape(-1, 3)
    out = []
    for cand, is_flat, blob in zip(candidates, flat, blob_of, strict=True):
        s = float(cand.score)
        c = np.asarray(cand.center_xyz_mm, np.float64)
        if len(centres):
            d = float(np.min(np.linalg.norm(centres - c, axis=1)))
            support = float(np.exp(-0.5 * (d / cfg.support_sigma_mm) ** 2))
            s = s + (1.0 - s) * cfg.boost * support
        same = [p for p in proposals if blob >= 0 and p.blob == blob]
        if same and min(float(np.linalg.norm(p.center_xyz_mm - c)) for p in same) > cfg.entry_mm:
            s *= cfg.entry_factor
        if is_flat:
            s *= cfg.flat_factor
        out.append(dataclasses.replace(cand, score=float(np.clip(s, 0.0, 1.0))))
    out.sort(key=lambda b: -b.score)
    return out[:max_hands]


class GeometricProposalDetector:
    """The CNN's candidates rescored with geometric proposals (see the module docstring).

    Args:
        cnn: A :class:`~depthhand.detect.cnn.CnnHandDetector` (its threshold should be ``cfg.cnn_min_score``).
        config: Parameters.
        max_hands: Most hands returned.
        background: Optional :class:`~depthhand.detect.background.BackgroundModel` of the empty scene.
    """

    def __init__(self, cnn: Any, config: ProposalConfig | None = None, max_hands: int = MAX_HANDS,
                 background: Any = None) -> None:  # fmt: skip
        self.cnn = cnn
        self.config = config or ProposalConfig()
        self.max_hands = int(max_hands)
        self._nearest: Any = None
        self._background: Any = None
        if self.config.use_nearest:
            from depthhand.detect.classical import ClassicalDetector, ClassicalDetectorConfig

            self._nearest = ClassicalDetector(ClassicalDetectorConfig(far_mm=self.config.far_mm, max_hands=2))
        if background is not None:
            from depthhand.detect.background import BackgroundDetector

            self._background = BackgroundDetector(background)

    def proposals(self, frame: DepthFrame) -> tuple[list[Proposal], npt.NDArray[np.int32]]:
        """Every geometric proposal of ``frame`` and the blob labels of the arm-end segmentation."""
        props, labels = arm_end_proposals(frame.depth_mm, frame.intrinsics, self.config)
        for kind, det in (("nearest", self._nearest), ("background", self._background)):
            if det is not None:
                props += [Proposal(b.center_xyz_mm.astype(np.float64), b.box_xyxy, kind) for b in det.detect(frame)]
        return props, labels

    def detect(self, frame: DepthFrame) -> list[HandBox]:
        """Hands in ``frame``, best first.

        Raises:
            TypeError: If ``frame`` is not a :class:`DepthFrame`.
        """
        if not isinstance(frame, DepthFrame):
            raise TypeError(f"GeometricProposalDetector.detect takes a DepthFrame, got {type(frame).__name__}")
        cands = self.cnn.detect(frame)
        if not cands:
            return []
        depth = np.nan_to_num(frame.depth_mm).astype(np.float32)
        props, labels = self.proposals(frame)
        flat = [flat_surface(depth, frame.intrinsics, c, self.config) for c in cands]
        blobs = [_label_at(labels, c, self.config.step) for c in cands]
        return combine(cands, props, flat, self.config, self.max_hands, blobs)

    def close(self) -> None:
        """Release the CNN."""
        close = getattr(self.cnn, "close", None)
        if callable(close):
            close()


def _label_at(labels: npt.NDArray[np.int32], box: HandBox, step: int) -> int:
    """The most common non-zero blob label in the 3×3 cells around a candidate's centre (−1 when none)."""
    h, w = labels.shape
    i, j = round(float(box.center_uvd[1]) / step), round(float(box.center_uvd[0]) / step)
    win = labels[max(0, i - 1) : min(h, i + 2), max(0, j - 1) : min(w, j + 2)]
    win = win[win > 0]
    return int(np.bincount(win).argmax()) if win.size else -1


def make_geo_detector(model_path: Any = None, max_hands: int = 2, threads: int = 2) -> GeometricProposalDetector:
    """The ``--detector geo`` detector: the (shipped or given) CNN at ``cnn_min_score``, rescored by proposals."""
    from depthhand.detect.cnn import CnnHandDetector

    cfg = ProposalConfig()
    cnn = CnnHandDetector(model_path, score_threshold=cfg.cnn_min_score, max_hands=MAX_HANDS, threads=threads)
    return GeometricProposalDetector(cnn, cfg, max_hands=max_hands)


__all__ = [
    "GeometricProposalDetector",
    "Proposal",
    "ProposalConfig",
    "arm_end_proposals",
    "combine",
    "flat_surface",
    "make_geo_detector",
    "segment_blobs",
]
