"""The sphere-mesh hand as the refinement fits it: packed shape, cone topology, pose prior, and the start from joints.

Pure numpy (no numba): :mod:`depthhand.pose.refine_kernels` runs the fit on what this module prepares.

* :func:`pack_shape` flattens a :class:`~depthhand.synth.hand_model.HandShape` for the kernels, and
  :data:`CONE_NODES` / :func:`cone_radii` are the 27 hand round cones of ``kinematics.forward_kinematics`` (the
  forearm left out) as pairs of the kernels' 30 nodes (0–20 are the canonical joints).
* :func:`articulation_prior` is a Gaussian over the 20 hand articulations fitted once to samples of the synthetic
  pose prior (synergy, template and blend modes; ``pose_prior``), with the sampling limits.
* :func:`initial_pose` turns 21 canonical joints (the network's) into model parameters: the overall scale from the
  bone lengths, the global pose by a weighted Kabsch fit of the six palm-rigid points (wrist, thumb CMC, four MCPs),
  then each finger's angles in closed form (reference ``model-fitting.md`` §3); the thumb and the last polish are
  left to the kernels' joint term.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import CANONICAL21
from depthhand.synth.hand_model import JOINT_LIMITS_DEG, NUM_DOF, HandShape

F64 = npt.NDArray[np.float64]

NUM_NODES = 30
NUM_ARTICULATIONS = 20  # Dof.THUMB_CMC_FLEX … Dof.PINKY_DIP
PALM_JOINTS = (0, 1, 5, 9, 13, 17)  # wrist, thumb CMC, four MCPs: rigid in the hand frame


def pack_shape(shape: HandShape) -> F64:
    """(56,) float64 vector of ``shape`` in the order the kernels read (``refine_kernels.S_*``)."""
    return np.concatenate(
        [
            shape.finger_lengths_mm.reshape(-1),
            shape.finger_radii_mm.reshape(-1),
            shape.mcp_xyz_mm.reshape(-1),
            shape.finger_splay_deg.reshape(-1),
            shape.thumb_lengths_mm.reshape(-1),
            shape.thumb_radii_mm.reshape(-1),
            shape.thumb_cmc_xyz_mm.reshape(-1),
            [shape.palm_thickness_mm, shape.wrist_radius_mm],
        ]
    ).astype(np.float64)


def _cone_table() -> tuple[tuple[int, int], ...]:
    pairs = [(1, 2), (2, 3), (3, 21)]
    for f in range(4):
        n = 5 + 4 * f
        pairs += [(n, n + 1), (n + 1, n + 2), (n + 2, 22 + f)]
    pairs += [(26, 5), (26, 9), (27, 13), (27, 17), (28, 9), (28, 13), (26, 27), (28, 1)]
    pairs += [(5, 9), (9, 13), (13, 17), (0, 29)]
    return tuple(pairs)


CONE_NODES: npt.NDArray[np.int64] = np.array(_cone_table(), np.int64)
"""(27, 2) node indices of each hand round cone, in ``forward_kinematics``' order without the forearm."""


def cone_radii(shape: HandShape) -> F64:
    """(27, 2) radii (mm) of the two spheres of each cone of :data:`CONE_NODES`."""
    tr, fr = shape.thumb_radii_mm, shape.finger_radii_mm
    half_t = shape.palm_thickness_mm / 2
    knuckle = [max(float(fr[f, 0]), 0.8 * half_t) for f in range(4)]
    rows = [(tr[0], tr[1]), (tr[1], tr[2]), (tr[2], tr[3])]
    for f in range(4):
        rows += [(fr[f, 0], fr[f, 1]), (fr[f, 1], fr[f, 2]), (fr[f, 2], fr[f, 3])]
    rows += [(half_t, knuckle[0]), (half_t, knuckle[1]), (half_t, knuckle[2]), (half_t, knuckle[3])]
    rows += [(half_t, knuckle[1]), (half_t, knuckle[2]), (half_t, half_t), (half_t, tr[0])]
    rows += [(knuckle[0], knuckle[1]), (knuckle[1], knuckle[2]), (knuckle[2], knuckle[3])]
    rows += [(0.7 * shape.wrist_radius_mm, half_t)]
    return np.array(rows, np.float64)


def rest_nodes(shape: HandShape) -> F64:
    """(30, 3) nodes of the flat hand in the hand frame (left-hand model, scale of ``shape``), numpy."""
    from depthhand.synth.hand_model import rest_pose
    from depthhand.synth.kinematics import local_digit_chains

    thumb, t_tip, chains, tips = local_digit_chains(shape, rest_pose())
    out = np.zeros((NUM_NODES, 3))
    out[1:5] = thumb
    out[5:21] = chains.reshape(16, 3)
    out[21] = t_tip
    out[22:26] = tips
    my = shape.mcp_xyz_mm[1, 1]
    out[26] = (0.55 * shape.mcp_xyz_mm[0, 0], 0.15 * my, -1.0)
    out[27] = (0.55 * shape.mcp_xyz_mm[3, 0], 0.15 * my, -1.0)
    out[28] = (0.0, 0.45 * my, -2.0)
    out[29] = (0.0, 0.3 * 0.45 * my, -0.6)
    return out


def bone_lengths(joints_xyz_mm: F64) -> F64:
    """(20,) lengths (mm) of the canonical bones (``CANONICAL21.bones`` order) of (21, 3) joints."""
    bones = np.asarray(CANONICAL21.bones, np.int64)
    out: F64 = np.linalg.norm(joints_xyz_mm[bones[:, 1]] - joints_xyz_mm[bones[:, 0]], axis=-1)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """A template hand prepared for fitting.

    Attributes:
        shape: The hand at scale 1.
        packed: (56,) :func:`pack_shape`.
        radii: (27, 2) :func:`cone_radii`.
        rest: (30, 3) :func:`rest_nodes`.
        bones_mm: (20,) bone lengths of its canonical joints (pose-independent).
    """

    shape: HandShape
    packed: F64
    radii: F64
    rest: F64
    bones_mm: F64

    @classmethod
    def from_shape(cls, shape: HandShape) -> Template:
        """Prepare ``shape``."""
        rest = rest_nodes(shape)
        return cls(shape, pack_shape(shape), cone_radii(shape), rest, bone_lengths(rest[:21]))


def scale_from_joints(joints_xyz_mm: npt.ArrayLike, template: Template) -> float:
    """Overall scale of the template that matches the joints' bone lengths (median ratio, clipped to [0.6, 1.4])."""
    ratio = bone_lengths(np.asarray(joints_xyz_mm, np.float64)) / template.bones_mm
    ok = np.isfinite(ratio)
    return float(np.clip(np.median(ratio[ok]), 0.6, 1.4)) if ok.any() else 1.0


def kabsch(src: F64, dst: F64, weights: F64 | None = None) -> tuple[F64, F64, float]:
    """Rotation R and translation t minimising Σ w |R src + t − dst|²; also the weighted RMS residual (mm)."""
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    cs, cd = w @ src, w @ dst
    cov = ((src - cs) * w[:, None]).T @ (dst - cd)
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rot: F64 = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    t: F64 = cd - rot @ cs
    rms = float(np.sqrt(w @ np.sum((src @ rot.T + t - dst) ** 2, axis=1)))
    return rot, t, rms


def global_pose(joints_xyz_mm: F64, template: Template, scale: float, mirror: float) -> tuple[F64, F64, float]:
    """Kabsch fit of the model's palm-rigid points to the joints: ``(rotation, wrist_xyz_mm, rms_mm)``."""
    model = template.rest[list(PALM_JOINTS)] * scale
    model[:, 0] *= mirror
    target = joints_xyz_mm[list(PALM_JOINTS)]
    ok = np.all(np.isfinite(target), axis=1)
    return kabsch(model[ok], target[ok])


def finger_angles(local_joints: F64, shape: HandShape) -> F64:
    """(NUM_DOF,) angles of the four fingers from joints in the unscaled, unmirrored hand frame (thumb left 0).

    The model's MCP→PIP direction is (−sin φ cos c, cos φ cos c, −sin c) with φ = −splay ∓ abduction and c the MCP
    flexion; the PIP and DIP flexions are the bones' elevation angles in the finger's plane, less the previous one.
    """
    a = np.zeros(NUM_DOF)
    sgn = (1.0, 1.0, -1.0, -1.0)
    for f in range(4):
        n = 5 + 4 * f
        chain = local_joints[n : n + 4]
        bones = np.diff(chain, axis=0)
        norms = np.linalg.norm(bones, axis=1)
        if not np.all(np.isfinite(norms)) or np.any(norms < 1e-6):
            continue
        d = bones / norms[:, None]
        phi = np.arctan2(-d[0, 0], d[0, 1])
        along = np.array([-np.sin(phi), np.cos(phi), 0.0])
        elev = np.arctan2(-d[:, 2], d @ along)  # cumulative flexion of each bone
        base = 6 + 4 * f
        a[base] = np.degrees(elev[0])
        a[base + 1] = (-np.degrees(phi) - shape.finger_splay_deg[f]) / sgn[f]
        a[base + 2] = np.degrees(elev[1] - elev[0])
        a[base + 3] = np.degrees(elev[2] - elev[1])
    return a


def initial_pose(
    joints_xyz_mm: npt.ArrayLike, template: Template, scale: float, mirror: float
) -> tuple[F64, F64, F64, float]:
    """Model parameters from 21 canonical joints: ``(rotation, wrist_xyz_mm, angles_deg (22,), palm_rms_mm)``.

    The thumb starts from the prior's mean; angles are clipped to the joint limits.
    """
    j = np.asarray(joints_xyz_mm, np.float64)
    rot, t, rms = global_pose(j, template, scale, mirror)
    local = (j - t) @ rot / scale
    local[:, 0] *= mirror
    angles = finger_angles(local, template.shape)
    mu, _ = articulation_prior()
    angles[2:6] = mu[:4]
    angles = np.where(np.isfinite(angles), angles, 0.0)
    return rot, t, np.clip(angles, JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1]), rms


@cache
def articulation_prior(samples: int = 2000, seed: int = 20240) -> tuple[F64, F64]:
    """Mean (20,) and precision (20, 20) of the hand articulations (degrees) under the synthetic pose prior.

    Fitted once per process (≈ 0.7 s) to ``samples`` draws of ``pose_prior.sample_pose`` without its uniform mode
    (the reference's advice: the uniform mode spans the limits, not plausible hands), covariance regularised by
    (3°)² on the diagonal.
    """
    from depthhand.synth.pose_prior import PriorWeights, sample_pose

    rng = np.random.default_rng(seed)
    a = np.array([sample_pose(rng, weights=PriorWeights(uniform=0.0)) for _ in range(samples)])[:, 2:]
    mu = np.asarray(a.mean(axis=0), np.float64)
    cov = np.cov(a, rowvar=False) + 9.0 * np.eye(NUM_ARTICULATIONS)
    precision = np.asarray(np.linalg.inv(cov), np.float64)
    return np.asarray(mu, np.float64), precision
