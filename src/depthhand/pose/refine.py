"""Model-based refinement: fit the sphere-mesh hand to the depth points of each hand, after the pose network.

Per hand (reference ``shared/reference/model-fitting.md`` §7):

1. **Start** from the network's 21 joints: overall scale from their bone lengths (or the track's shape estimate),
   global pose by Kabsch on the palm, fingers in closed form, then a few Gauss–Newton steps on the joints alone
   (inverse kinematics, :mod:`depthhand.pose.refine_model`).
2. **Observe**: the depth image on a coarse grid (≈ :attr:`RefineOptions.grid_mm` per cell at the hand) around
   the joints; cells in the hand's depth band are candidates; those within :attr:`RefineOptions.select_gate_mm` of
   the started model (not on its far side, not on the forearm) become the data points, at most
   :attr:`RefineOptions.max_points`.
3. **Fit** (:func:`depthhand.pose.refine_solver.fit`, numba): one rigid and then full Gauss–Newton iterations of
   a data term (observed points to the model surface, point-to-plane, L1 by reweighting, front-facing matches,
   forearm points dropped), a free-space term (model samples on the cones' camera side and rims where the sensor
   sees something farther are pulled, in the image plane, towards the nearest cell that could hold them: one
   at or in front of their depth), the network's joints (Huber), a Gaussian
   articulation prior, joint limits (hard), the scale's prior and, while tracking, the previous frame's fit (off
   by default, :attr:`~depthhand.pose.refine_options.RefineWeights.temporal`).
   No depth (out of range, dropout) counts as free space at a lower weight (real SR305 fingertips end in it).
4. **Check**: a fit that moved the joints far from the network's or kept too few points is not used (the
   network's joints stay).

The hand's shape (today the overall scale) is estimated per track over frames (:class:`ShapeEstimate`, information
form: each frame's fitted scale weighted by its certainty). :class:`HandRefiner` keeps one state per track id of the
pipeline's tracker.

Needs numba (the ``[refine]`` extra): :func:`refinement_unavailable` says why it cannot run, and
:class:`HandRefiner` raises :class:`RefinementUnavailable` with that message.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import inside_image, xyz_to_uvd
from depthhand.pose.refine_options import RefineOptions
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, DepthFrame, Handedness, HandPose
from depthhand.synth.hand_model import JOINT_LIMITS_DEG, HandShape, default_shape

F64 = npt.NDArray[np.float64]


class RefinementUnavailable(RuntimeError):
    """Refinement was asked for but cannot run (numba missing, or a skeleton other than canonical21)."""


def refinement_unavailable() -> str:
    """Why refinement cannot run in this environment, or ``""`` when it can."""
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        return f"model-based refinement needs numba (pip install 'depthhand[refine]'; {exc})"
    return ""


@dataclass
class ShapeEstimate:
    """One user's hand scale, accumulated over frames (information form; system noise 0, so it settles).

    Attributes:
        scale: Current estimate (relative to the default hand).
        information: Accumulated certainty (sum of the per-frame weights).
        frames: Frames that contributed.
    """

    scale: float = 1.0
    information: float = 0.0
    frames: int = 0

    def update(self, scale: float, certainty: float) -> None:
        """Fold in one frame's fitted ``scale`` with weight ``certainty`` (≥ 0)."""
        if not np.isfinite(scale) or certainty <= 0:
            return
        total = self.information + certainty
        self.scale = (self.scale * self.information + scale * certainty) / total
        self.information = total
        self.frames += 1


@dataclass
class TrackFit:
    """What the refiner keeps per track: the shape estimate and the last fitted joints."""

    shape: ShapeEstimate = field(default_factory=ShapeEstimate)
    joints_xyz_mm: F64 | None = None


@dataclass(frozen=True, slots=True)
class RefineResult:
    """One hand's fit.

    Attributes:
        joints_xyz_mm: (21, 3) fitted canonical joints, camera mm (the network's when ``used`` is False).
        used: Whether the fit passed its checks (and replaced the network's joints).
        residual_mm: Mean |distance| of the inlier depth points to the model surface, mm (NaN without points).
        inlier_fraction: Fraction of the data points that matched the model.
        points: Data points used.
        free_violations: Fraction of the tested model samples in free space.
        joint_shift_mm: Mean distance of the fitted joints to the network's, mm.
        scale: Fitted overall scale.
        angles_deg: (22,) fitted articulation (``Dof`` order), degrees.
        rotation: (3, 3) hand → camera.
        wrist_xyz_mm: (3,) wrist, camera mm.
        mirror: −1 for a right hand, +1 for a left one.
    """

    joints_xyz_mm: F64
    used: bool
    residual_mm: float
    inlier_fraction: float
    points: int
    free_violations: float
    joint_shift_mm: float
    scale: float
    angles_deg: F64
    rotation: F64
    wrist_xyz_mm: F64
    mirror: float


@dataclass(frozen=True, slots=True)
class Observation:
    """A hand's depth on the coarse grid (see the module docstring, step 2).

    Attributes:
        points: (N, 3) data points, camera mm.
        grid: (GH, GW) float32 observed depth of the cells, mm (0 = invalid).
        geom: (8,) grid origin u0, v0 (px), stride (px), fx, fy, cx, cy, free-space search radius (cells).
    """

    points: F64
    grid: npt.NDArray[np.float32]
    geom: F64


def observe(depth_mm: npt.NDArray[np.float32], intrinsics: CameraIntrinsics, joints_xyz_mm: F64,
            options: RefineOptions) -> Observation | None:  # fmt: skip
    """The coarse grid and candidate data points around ``joints_xyz_mm``; ``None`` when nothing is in view."""
    from depthhand.pose.refine_start import gather

    z = joints_xyz_mm[:, 2]
    z_mid = float(np.median(z))
    if not np.isfinite(z_mid) or z_mid < 50.0:
        return None
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    stride = max(1, round(options.grid_mm * fx / z_mid))
    u = fx * joints_xyz_mm[:, 0] / z + cx
    v = fy * joints_xyz_mm[:, 1] / z + cy
    margin = options.margin_mm * fx / z_mid
    h, w = depth_mm.shape
    u0, v0 = max(0, int(np.floor(u.min() - margin))), max(0, int(np.floor(v.min() - margin)))
    u1, v1 = min(w, int(np.ceil(u.max() + margin)) + 1), min(h, int(np.ceil(v.max() + margin)) + 1)
    if u1 - u0 < 2 * stride or v1 - v0 < 2 * stride:
        return None
    grid = np.empty(((v1 - v0 + stride - 1) // stride, (u1 - u0 + stride - 1) // stride), np.float32)
    points = np.empty((options.max_candidates, 3))
    z_lo, z_hi = float(z.min()) - options.band_front_mm, float(z.max()) + options.band_back_mm
    n = gather(depth_mm, u0, v0, u1, v1, stride, z_lo, z_hi, fx, fy, cx, cy, options.max_candidates, grid, points)
    if n == 0:
        return None
    radius = np.ceil(options.free_search_mm * fx / z_mid / stride)
    geom = np.array([u0, v0, stride, fx, fy, cx, cy, radius], np.float64)
    return Observation(points[:n], grid, geom)


def build_refiner(enabled: bool, joint_set: JointSet) -> HandRefiner | None:
    """The pipeline's refiner: ``None`` when ``enabled`` is False or refinement cannot run (then with a warning).

    Refinement fits the canonical 21-joint hand; a pose model with another skeleton runs without it.
    """
    if not enabled:
        return None
    why = refinement_unavailable()
    if not why and joint_set.name != "canonical21":
        why = f"model-based refinement fits canonical21 joints, the pose model outputs {joint_set.name}"
    if why:
        warnings.warn(f"{why}; running without refinement", RuntimeWarning, stacklevel=2)
        return None
    return HandRefiner()


class HandRefiner:
    """Fits the hand model to each hand's depth (see the module docstring); keeps per-track state.

    Args:
        options: Fit parameters.
        shape: The template hand (default: the generator's mid-size adult).

    Raises:
        RefinementUnavailable: numba is not installed.
    """

    def __init__(self, options: RefineOptions | None = None, shape: HandShape | None = None) -> None:
        why = refinement_unavailable()
        if why:
            raise RefinementUnavailable(why)
        from depthhand.pose import refine_kernels, refine_model, refine_solver, refine_start

        self.options = options or RefineOptions()
        self._k = refine_kernels
        self._s = refine_solver
        self._start = refine_start
        self._m = refine_model
        self.shape = shape or default_shape()
        self._template = refine_model.Template.from_shape(self.shape)
        self._shp = self._template.packed
        self._cones = np.ascontiguousarray(refine_model.CONE_NODES)
        self._radii = self._template.radii
        self._mu, self._precision = refine_model.articulation_prior()
        self._limits = np.ascontiguousarray(JOINT_LIMITS_DEG[2:])
        self.tracks: dict[int, TrackFit] = {}
        self.last_results: list[RefineResult | None] = []
        """The fits of the last :meth:`refine` call, one per pose (``None`` where a pose was not fitted)."""

    def fit(self, frame: DepthFrame, joints_xyz_mm: npt.ArrayLike, handedness: Handedness,
            track: TrackFit | None = None) -> RefineResult:  # fmt: skip
        """Fit one hand whose network joints (21 canonical, camera mm) are ``joints_xyz_mm``."""
        k, opt = self._k, self.options
        cnn = np.ascontiguousarray(np.asarray(joints_xyz_mm, np.float64).reshape(21, 3))
        ok_joint = np.all(np.isfinite(cnn), axis=1)
        cnn_w = ok_joint.astype(np.float64)
        cnn = np.where(ok_joint[:, None], cnn, 0.0)
        s_cnn = self._m.scale_from_joints(cnn, self._template)
        s_mu = track.shape.scale if track is not None and track.shape.frames >= 3 else s_cnn
        mirrors = {Handedness.RIGHT: (-1.0,), Handedness.LEFT: (1.0,)}.get(handedness, (-1.0, 1.0))
        best = np.inf
        for m in mirrors:
            r_m, t_m, a_m = np.empty((3, 3)), np.empty(3), np.empty(22)
            rms = self._start.initial_pose(cnn, cnn_w, self._template.rest, self._shp, s_mu, m, self._mu[:4],
                                           self._limits, r_m, t_m, a_m)  # fmt: skip
            if rms < best or m == mirrors[0]:
                best, mirror, rot, t, angles = rms, m, r_m, t_m, a_m
        state = np.concatenate([[s_mu], angles])
        stats = np.zeros(k.N_STATS)
        free = np.ones(k.NP)
        prev = None
        if track is not None and track.joints_xyz_mm is not None:
            # the last fit moved rigidly onto this frame's palm: the temporal term smooths the articulation only
            palm = list(self._m.PALM_JOINTS)
            ok = ok_joint[palm]
            if ok.sum() >= 3:
                r_p, t_p, _ = self._m.kabsch(track.joints_xyz_mm[palm][ok], cnn[palm][ok])
                prev = np.ascontiguousarray(track.joints_xyz_mm @ r_p.T + t_p)
        # 1. inverse kinematics: the joint term alone
        w_ik = opt.weights.pack(s_mu, False)
        w_ik[[k.W_DATA, k.W_FREE]] = 0.0
        w_ik[k.W_JOINT] = 1.0
        empty = np.zeros((0, 3))
        no_grid = np.zeros((0, 0), np.float32)
        zeros21 = np.zeros((21, 3))
        geom0 = np.zeros(8)
        args = (self._shp, self._cones, self._radii, mirror, rot, t, state)
        prior = (self._mu, self._precision, self._limits)
        self._s.fit(*args, empty, no_grid, geom0, cnn, cnn_w, zeros21, *prior, w_ik, free, opt.ik_iterations, 1,
              stats)  # fmt: skip
        # 2. the depth
        obs = observe(frame.depth_mm, frame.intrinsics, cnn, opt)
        if obs is not None:
            keep = np.zeros(len(obs.points), np.bool_)
            w = opt.weights
            self._s.select_points(*args, obs.points, opt.select_gate_mm, w.front, w.forearm_mm, keep)
            points = obs.points[keep]
            if len(points) > opt.max_points:
                points = points[np.linspace(0, len(points) - 1, opt.max_points).round().astype(np.int64)]
            weights = opt.weights.pack(s_mu, prev is not None)
            last = prev if prev is not None else zeros21
            pts = np.ascontiguousarray(points)
            self._s.fit(*args, pts, obs.grid, obs.geom, cnn, cnn_w, last, *prior, weights, free, opt.iterations,
                        opt.rigid_iterations, stats)  # fmt: skip
        nodes = np.empty((k.NN, 3))
        k.pose_nodes(self._shp, rot, t, state[0], mirror, state[1:], nodes, np.empty((1, 1, 1)), False)
        fitted = nodes[:21].copy()
        shift = float(np.linalg.norm(fitted - cnn, axis=1)[ok_joint].mean())
        n_points = int(stats[k.ST_POINTS]) if obs is not None else 0
        inliers = int(stats[k.ST_INLIERS]) if obs is not None else 0
        used = obs is not None and inliers >= opt.min_inliers and shift <= opt.max_joint_shift_mm
        samples = stats[k.ST_FREE_SAMPLES]
        return RefineResult(
            joints_xyz_mm=fitted if used else np.asarray(joints_xyz_mm, np.float64).reshape(21, 3),
            used=bool(used),
            residual_mm=float(stats[k.ST_RESIDUAL]) if obs is not None else float("nan"),
            inlier_fraction=inliers / n_points if n_points else 0.0,
            points=n_points,
            free_violations=float(stats[k.ST_FREE_VIOL] / samples) if samples else 0.0,
            joint_shift_mm=shift,
            scale=float(state[0]),
            angles_deg=state[1:].copy(),
            rotation=rot,
            wrist_xyz_mm=t,
            mirror=mirror,
        )

    def refine(self, frame: DepthFrame, poses: Sequence[HandPose], tracks: Sequence[tuple[int, F64]] = (),
               timings: dict[str, float] | None = None) -> list[HandPose]:  # fmt: skip
        """Refine every pose of a frame; each pose continues the nearest live track's state.

        Args:
            frame: The depth frame.
            poses: The network's poses (canonical21), one per hand.
            tracks: ``(track_id, predicted centre (3,) mm)`` of the tracker's live tracks
                (:meth:`depthhand.track.tracker.HandTracker.predicted_centers`); states of other ids are dropped.
            timings: If given, ``refine`` (ms) is written into it.

        Returns:
            The poses with the fitted joints where the fit passed its checks (``visible`` recomputed: False outside
            the image), otherwise unchanged.
        """
        t0 = time.perf_counter()
        alive = {tid for tid, _ in tracks}
        self.tracks = {tid: st for tid, st in self.tracks.items() if tid in alive}
        taken: set[int] = set()
        out: list[HandPose] = []
        self.last_results = []
        for pose in poses:
            if pose.joint_set.name != "canonical21":
                out.append(pose)
                self.last_results.append(None)
                continue
            tid = _nearest_track(pose, tracks, taken)
            track = None
            if tid is not None:
                taken.add(tid)
                track = self.tracks.setdefault(tid, TrackFit())
            res = self.fit(frame, pose.joints_xyz_mm, pose.handedness, track)
            if track is not None and res.used:
                track.joints_xyz_mm = res.joints_xyz_mm
                track.shape.update(res.scale, res.inlier_fraction)
            out.append(apply_result(pose, res, frame.intrinsics))
            self.last_results.append(res)
        if timings is not None:
            timings["refine"] = (time.perf_counter() - t0) * 1e3
        return out

    def reset(self) -> None:
        """Forget every track's state."""
        self.tracks.clear()


def _nearest_track(
    pose: HandPose, tracks: Sequence[tuple[int, F64]], taken: set[int], gate_mm: float = 80.0
) -> int | None:
    j = pose.joints_xyz_mm.astype(np.float64)
    ok = np.all(np.isfinite(j), axis=1)
    if not ok.any() or not tracks:
        return None
    c = j[ok].mean(axis=0)
    best, best_d = None, gate_mm
    for tid, centre in tracks:
        d = float(np.linalg.norm(np.asarray(centre) - c))
        if tid not in taken and d < best_d:
            best, best_d = tid, d
    return best


def apply_result(pose: HandPose, result: RefineResult, intrinsics: CameraIntrinsics) -> HandPose:
    """``pose`` with the fitted joints when the fit is used (``visible``: inside the image), else ``pose``."""
    if not result.used:
        return pose
    xyz = result.joints_xyz_mm
    return dataclasses.replace(
        pose,
        joints_xyz_mm=xyz.astype(np.float32),
        joints_uvd=xyz_to_uvd(xyz, intrinsics).astype(np.float32),
        visible=inside_image(xyz, intrinsics),
    )
