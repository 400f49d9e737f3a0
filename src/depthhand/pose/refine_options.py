"""Settings of the model-based refinement (:mod:`depthhand.pose.refine`): the energy's weights and the fit's options.

Plain frozen dataclasses, importable without numba.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RefineWeights:
    """Weights of the fit's terms (squared residuals in mm unless stated; see ``refine_kernels.fit``).

    Attributes:
        data: Data term, per mean point (IRLS L1: each squared residual divided by ``|d| + 1 mm``).
        data_gate_mm: Points farther than this from the model surface are ignored.
        joint: Distance to the network's joints, per joint.
        joint_huber_mm: Huber threshold of the joint term.
        free: Free-space term, per mean model sample.
        free_tol_mm: A model sample violates free space when the sensor sees this much farther.
        free_cap_mm: Largest free-space residual.
        temporal: Distance to the previous frame's fitted joints moved rigidly onto this frame's palm, per joint
            (tracking only; off by default: on the animated synthetic source any weight that mattered made the
            fast articulation lag, and the tracker's One Euro filter smooths after the fit).
        prior: Articulation prior (Mahalanobis, 1 = the prior's own spread).
        limit: Penalty outside the joint limits, per deg² (angles are also clamped).
        scale: Scale prior, per (scale difference)².
        damping: Levenberg–Marquardt λ (relative to each diagonal).
        front: A match whose surface normal faces away from the camera more than this (cosine) is dropped.
        forearm_mm: Points this far on the forearm side of the wrist (hand frame) are dropped.
        free_invalid: Weight of free space where the sensor has no depth (out of range, dropout, shadows), relative
            to ``free``.
    """

    data: float = 150.0
    data_gate_mm: float = 25.0
    joint: float = 0.01
    joint_huber_mm: float = 10.0
    free: float = 20.0
    free_tol_mm: float = 10.0
    free_cap_mm: float = 30.0
    temporal: float = 0.0
    prior: float = 0.3
    limit: float = 1.0
    scale: float = 300.0
    damping: float = 0.05
    front: float = 0.2
    forearm_mm: float = 5.0
    free_invalid: float = 0.5

    def pack(self, scale_mu: float, temporal: bool) -> F64:
        """The kernels' weight vector (``refine_kernels.W_*``)."""
        return np.array(
            [
                self.data,
                self.data_gate_mm,
                self.joint,
                self.joint_huber_mm,
                self.free,
                self.free_tol_mm,
                self.free_cap_mm,
                self.temporal if temporal else 0.0,
                self.prior,
                self.limit,
                self.scale,
                self.damping,
                self.front,
                self.forearm_mm,
                scale_mu,
                self.free_invalid,
            ],
            np.float64,
        )


@dataclass(frozen=True, slots=True)
class RefineOptions:
    """How hands are fitted.

    Attributes:
        max_points: Most data points per hand (the cells near the model after the start, subsampled evenly).
        max_candidates: Most hand-mask cells tested for nearness to the model (subsampled evenly).
        select_gate_mm: Cells farther than this from the model after the start are not data points.
        grid_mm: Coarse grid cell at the hand's depth, mm.
        margin_mm: The observed window extends this far beyond the joints' box, mm.
        band_front_mm: The hand mask starts this far in front of the nearest joint, mm.
        band_back_mm: The hand mask ends this far behind the farthest joint, mm.
        free_search_mm: A model sample in free space is pulled towards the nearest cell within this distance (mm)
            that could hold it.
        iterations: Gauss–Newton iterations against the depth (the first ``rigid_iterations`` rigid).
        rigid_iterations: Rigid-only iterations first.
        ik_iterations: Iterations of the start's joint-only fit.
        max_joint_shift_mm: A fit whose joints are on average farther than this from the network's is not used.
        min_inliers: A fit with fewer data points on the model is not used.
        weights: Term weights.
    """

    max_points: int = 256
    max_candidates: int = 512
    select_gate_mm: float = 12.0
    grid_mm: float = 3.5
    margin_mm: float = 25.0
    band_front_mm: float = 60.0
    band_back_mm: float = 25.0
    free_search_mm: float = 30.0
    iterations: int = 5
    rigid_iterations: int = 1
    ik_iterations: int = 5
    max_joint_shift_mm: float = 20.0
    min_inliers: int = 20
    weights: RefineWeights = field(default_factory=RefineWeights)
