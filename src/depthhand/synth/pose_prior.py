"""A hand-pose prior that needs no captured data: synergies, templates, blends, uniform sampling, trajectories.

Recipe (``shared/reference/synthetic-hands.md`` §3.2): a mixture of (1) synergy sampling — correlated finger curls
(Santello et al. 1998: the first principal components are open/close and thumb opposition; ring/little and
middle/ring flexion strongly coupled), (2) gesture and grasp templates with Gaussian jitter, (3) joint-space blends
of two templates, (4) uniform sampling within the joint limits with the DIP ≈ ⅔·PIP coupling (Rijpkema & Girard
1991). Every sample is clamped to the limits and rejected when fingertip/finger spheres of different digits
interpenetrate. :class:`PoseTrajectory` strings samples into smooth animations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.synth.hand_model import JOINT_LIMITS_DEG, NUM_DOF, Dof, HandShape, clamp_to_limits, finger_dofs

F64 = npt.NDArray[np.float64]

# (MCP flex, MCP abduction, PIP, DIP) per finger index..pinky, and thumb (CMC flex, CMC abd, MCP, IP); degrees.
_Finger = tuple[float, float, float, float]
_STRAIGHT: _Finger = (0.0, 0.0, 0.0, 0.0)
_CURLED: _Finger = (85.0, 0.0, 100.0, 65.0)
_THUMB_FOLD = (30.0, 35.0, 40.0, 45.0)


def _t(fingers: tuple[_Finger, _Finger, _Finger, _Finger], thumb: tuple[float, float, float, float]) -> F64:
    a = np.zeros(NUM_DOF)
    a[Dof.THUMB_CMC_FLEX : Dof.THUMB_IP + 1] = thumb
    for f, vals in enumerate(fingers):
        a[list(finger_dofs(f))] = vals
    return a


TEMPLATES: dict[str, F64] = {
    "flat": _t(((0, 8, 0, 0), (0, 0, 0, 0), (0, 5, 0, 0), (0, 10, 0, 0)), (-10, 15, 0, 0)),
    "spread": _t(((0, 18, 0, 0), (0, 5, 0, 0), (0, 12, 0, 0), (0, 25, 0, 0)), (-30, 40, 0, 0)),
    "relaxed": _t(((20, 3, 25, 15), (25, 0, 30, 18), (30, 3, 35, 20), (35, 8, 35, 20)), (5, 30, 15, 15)),
    "fist": _t((_CURLED, _CURLED, _CURLED, _CURLED), _THUMB_FOLD),
    "point": _t((_STRAIGHT, _CURLED, _CURLED, _CURLED), _THUMB_FOLD),
    "pinch": _t(((40, 0, 45, 30), (15, 0, 20, 12), (20, 0, 25, 15), (25, 5, 25, 15)), (25, 45, 20, 25)),
    "ok": _t(((45, 0, 60, 40), (5, 0, 5, 3), (5, 5, 5, 3), (5, 12, 5, 3)), (20, 50, 25, 30)),
    "v": _t(((0, 15, 0, 0), (0, 8, 0, 0), _CURLED, _CURLED), _THUMB_FOLD),
    "three": _t(((0, 8, 0, 0), (0, 0, 0, 0), (0, 8, 0, 0), _CURLED), _THUMB_FOLD),
    "four": _t(((0, 5, 0, 0), (0, 0, 0, 0), (0, 5, 0, 0), (0, 10, 0, 0)), (40, 20, 45, 40)),
    "thumbs_up": _t((_CURLED, _CURLED, _CURLED, _CURLED), (-20, 30, 0, 0)),
    "rock": _t((_STRAIGHT, _CURLED, _CURLED, (0, 10, 0, 0)), _THUMB_FOLD),
    "call": _t((_CURLED, _CURLED, _CURLED, (0, 20, 0, 0)), (-30, 25, 0, 0)),
    "claw": _t(((10, 8, 70, 50), (10, 0, 70, 50), (10, 5, 70, 50), (10, 10, 70, 50)), (0, 40, 20, 40)),
    "l_shape": _t((_STRAIGHT, _CURLED, _CURLED, _CURLED), (-30, 10, 0, 0)),
    "gun": _t((_STRAIGHT, (0, -5, 0, 0), _CURLED, _CURLED), (-25, 20, 0, 0)),
    "power_sphere": _t(((35, 10, 40, 25), (35, 0, 40, 25), (35, 6, 40, 25), (35, 15, 40, 25)), (15, 50, 20, 20)),
    "cylinder": _t(((60, 0, 70, 40), (60, 0, 70, 40), (60, 0, 70, 40), (60, 0, 70, 40)), (20, 45, 30, 30)),
    "tripod": _t(((40, 0, 50, 30), (40, 0, 50, 30), (50, 0, 60, 40), (55, 5, 60, 40)), (25, 50, 20, 25)),
    "lateral_pinch": _t(((60, 0, 80, 40), (65, 0, 85, 45), (70, 0, 85, 45), (75, 0, 85, 45)), (-10, 10, 20, 10)),
    "touch_point": _t(((15, 0, 10, 5), (70, 0, 90, 55), (75, 0, 90, 55), (80, 0, 90, 55)), (25, 35, 30, 35)),
    "two_finger_touch": _t(((15, 3, 10, 5), (15, -3, 10, 5), _CURLED, _CURLED), _THUMB_FOLD),
    "hover_flat": _t(((8, 6, 8, 5), (8, 0, 8, 5), (8, 4, 8, 5), (8, 8, 8, 5)), (-5, 20, 5, 5)),
}
"""Gesture, grasp and installation-task templates, (NUM_DOF,) degrees (wrist 0)."""

# heuristic inter-finger curl correlations (I, M, R, L), reference §3.2
_CURL_CORR = np.array([[1.0, 0.5, 0.35, 0.3], [0.5, 1.0, 0.75, 0.55], [0.35, 0.75, 1.0, 0.8], [0.3, 0.55, 0.8, 1.0]])
_CURL_CHOL = np.linalg.cholesky(_CURL_CORR)


def _normal_cdf(x: F64) -> F64:
    from math import erf, sqrt

    return np.array([0.5 * (1 + erf(v / sqrt(2))) for v in x])


def sample_synergy(rng: np.random.Generator) -> F64:
    """Correlated finger curls and a thumb opposition synergy, (NUM_DOF,) degrees (unclamped)."""
    a = np.zeros(NUM_DOF)
    curls = _normal_cdf(_CURL_CHOL @ rng.normal(size=4) * 1.2)
    for f in range(4):
        mcp, abd, pip, dip = finger_dofs(f)
        c = curls[f]
        a[mcp] = 90 * c + rng.normal(0, 10)
        a[pip] = 100 * c + rng.normal(0, 10)
        a[dip] = 2 / 3 * a[pip] + rng.normal(0, 6)
        lo, hi = JOINT_LIMITS_DEG[abd]
        a[abd] = (1 - c) * rng.uniform(lo, hi)
    t, u, u2 = rng.uniform(0, 1, 3)
    a[Dof.THUMB_CMC_ABD] = 10 + 45 * t
    a[Dof.THUMB_CMC_FLEX] = -20 + 55 * t * u
    a[Dof.THUMB_MCP] = 50 * u2
    a[Dof.THUMB_IP] = 0.8 * a[Dof.THUMB_MCP] + rng.normal(0, 10)
    return a


def sample_uniform(rng: np.random.Generator) -> F64:
    """Uniform within the limits, DIP = ⅔·PIP + N(0, 8°), (NUM_DOF,) degrees."""
    a = rng.uniform(JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1])
    for f in range(4):
        _, _, pip, dip = finger_dofs(f)
        a[dip] = 2 / 3 * a[pip] + rng.normal(0, 8)
    a[Dof.WRIST_FLEX] = a[Dof.WRIST_DEV] = 0.0
    return a


def sample_template(rng: np.random.Generator, jitter_deg: float = 8.0, names: tuple[str, ...] | None = None) -> F64:
    """A random template (from ``names``, default all) plus N(0, jitter_deg) per joint, (NUM_DOF,) degrees."""
    keys = names or tuple(TEMPLATES)
    base = TEMPLATES[keys[int(rng.integers(len(keys)))]]
    out: F64 = base + rng.normal(0, jitter_deg, NUM_DOF)
    return out


def sample_blend(rng: np.random.Generator) -> F64:
    """Joint-space blend of two random templates, t ~ U(0, 1), + N(0, 5°)."""
    keys = tuple(TEMPLATES)
    i, j = rng.integers(len(keys), size=2)
    t = rng.uniform()
    out: F64 = (1 - t) * TEMPLATES[keys[i]] + t * TEMPLATES[keys[j]] + rng.normal(0, 5, NUM_DOF)
    return out


@dataclass(frozen=True, slots=True)
class PriorWeights:
    """Mixture weights of the pose prior's modes (normalised when sampling)."""

    synergy: float = 0.35
    template: float = 0.30
    blend: float = 0.15
    uniform: float = 0.20


def self_collision(angles_deg: npt.ArrayLike, shape: HandShape, max_penetration: float = 0.3) -> bool:
    """Whether finger spheres of different digits interpenetrate by more than ``max_penetration`` × the smaller radius.

    Checks the PIP, DIP and fingertip spheres of each finger and the thumb's MCP, IP and tip spheres, pairwise
    between digits (the knuckle spheres of neighbouring fingers touch by design and are skipped).
    """
    from depthhand.synth.kinematics import local_digit_chains

    thumb, t_tip, chains, tips = local_digit_chains(shape, np.asarray(angles_deg, np.float64))
    centres = np.concatenate([thumb[1:3], t_tip[None], chains[:, 1:3].reshape(8, 3), tips])
    radii = np.concatenate(
        [shape.thumb_radii_mm[1:], shape.finger_radii_mm[:, 1:3].reshape(8), shape.finger_radii_mm[:, 3]]
    )
    digit = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 1, 2, 3, 4])
    c, r, g = centres, radii, digit
    dist = np.linalg.norm(c[:, None] - c[None], axis=-1)
    pen = r[:, None] + r[None] - dist
    other = g[:, None] != g[None]
    return bool(np.any((pen > max_penetration * np.minimum(r[:, None], r[None])) & other))


def sample_pose(
    rng: np.random.Generator,
    shape: HandShape | None = None,
    weights: PriorWeights | None = None,
    wrist_sigma_deg: float = 20.0,
    max_tries: int = 10,
) -> F64:
    """One articulation sample from the mixture prior, clamped to the limits, without self-collision.

    Args:
        rng: Random generator.
        shape: Hand shape for the collision test (default: mid-size adult).
        weights: Mixture weights.
        wrist_sigma_deg: Standard deviation of wrist flexion and deviation (then clamped).
        max_tries: Rejection-sampling attempts before falling back to a jittered "relaxed" template.

    Returns:
        (NUM_DOF,) angles in degrees.
    """
    from depthhand.synth.hand_model import default_shape

    shape = shape or default_shape()
    w = weights or PriorWeights()
    p = np.array([w.synergy, w.template, w.blend, w.uniform], np.float64)
    if np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"prior weights must be non-negative with a positive sum, got {w}")
    p /= p.sum()
    cum = np.cumsum(p)
    samplers = (sample_synergy, sample_template, sample_blend, sample_uniform)
    for _ in range(max_tries):
        a = samplers[min(int(np.searchsorted(cum, rng.random(), side="right")), 3)](rng)
        a[Dof.WRIST_FLEX] = rng.normal(0, wrist_sigma_deg)
        a[Dof.WRIST_DEV] = rng.normal(0, wrist_sigma_deg / 2)
        a = clamp_to_limits(a)
        if not self_collision(a, shape):
            return a
    return clamp_to_limits(TEMPLATES["relaxed"] + rng.normal(0, 3, NUM_DOF))


def smoothstep(x: float) -> float:
    """3x² − 2x³ on [0, 1] (zero slope at both ends)."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


class PoseTrajectory:
    """An endless smooth articulation animation: keyframes from the prior, eased in between.

    Example:
        >>> traj = PoseTrajectory(np.random.default_rng(0))
        >>> traj.step(1 / 30).shape
        (22,)
    """

    def __init__(
        self,
        rng: np.random.Generator,
        shape: HandShape | None = None,
        hold_s: tuple[float, float] = (0.3, 1.2),
        move_s: tuple[float, float] = (0.4, 1.2),
        templates: tuple[str, ...] | None = None,
    ) -> None:
        self._rng, self._shape = rng, shape
        self._hold, self._move, self._templates = hold_s, move_s, templates
        self._from = self._sample()
        self._to = self._sample()
        self._t = 0.0
        self._dur = float(rng.uniform(*move_s))
        self._hold_left = 0.0

    def _sample(self) -> F64:
        if self._templates is not None and self._rng.random() < 0.6:
            return clamp_to_limits(sample_template(self._rng, 5.0, self._templates))
        return sample_pose(self._rng, self._shape, wrist_sigma_deg=12.0)

    def step(self, dt_s: float) -> F64:
        """Advance by ``dt_s`` seconds; returns the current (NUM_DOF,) angles in degrees."""
        if self._hold_left > 0:
            self._hold_left -= dt_s
            return self._from.copy()
        self._t += dt_s
        if self._t >= self._dur:
            self._from, self._to = self._to, self._sample()
            self._t, self._dur = 0.0, float(self._rng.uniform(*self._move))
            self._hold_left = float(self._rng.uniform(*self._hold))
            return self._from.copy()
        s = smoothstep(self._t / self._dur)
        out: F64 = (1 - s) * self._from + s * self._to
        return out
