"""The parametric sphere-mesh hand: degrees of freedom, joint limits and shape (bone lengths, radii).

The hand is a kinematic skeleton whose segments are *round cones* (convex hulls of two spheres) plus spheres, in
the spirit of sphere-mesh hand trackers (Tkach, Pauly & Tagliasacchi 2016); the numbers are our own, from
anthropometric tables: bone lengths from Buryanov & Kotiuk 2010 (joint-to-joint; the last segment is distal
phalanx + tip soft tissue, because datasets annotate the fingertip on the skin), hand breadth from Pheasant's
tables, radii ≈ 1.15 × the hmodel template, joint limits from clinical ranges (see
``shared/reference/synthetic-hands.md`` §2).

Hand-local frame (millimetres, right-handed): origin at the wrist joint centre, +y towards the middle finger
(distal), +x towards the thumb (radial), +z out of the back of the hand (dorsal). In a right-handed frame this is
a *left* hand; a right hand is its mirror image (x → −x), applied in ``kinematics.forward_kinematics``.

Angles are degrees; flexion is positive towards the palm, abduction positive away from the middle finger.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class Dof(enum.IntEnum):
    """The 22 articulation angles (degrees) of the hand and wrist; the 6 global DOF live in :class:`HandState`."""

    WRIST_FLEX = 0
    WRIST_DEV = 1
    THUMB_CMC_FLEX = 2
    THUMB_CMC_ABD = 3
    THUMB_MCP = 4
    THUMB_IP = 5
    INDEX_MCP_FLEX = 6
    INDEX_MCP_ABD = 7
    INDEX_PIP = 8
    INDEX_DIP = 9
    MIDDLE_MCP_FLEX = 10
    MIDDLE_MCP_ABD = 11
    MIDDLE_PIP = 12
    MIDDLE_DIP = 13
    RING_MCP_FLEX = 14
    RING_MCP_ABD = 15
    RING_PIP = 16
    RING_DIP = 17
    PINKY_MCP_FLEX = 18
    PINKY_MCP_ABD = 19
    PINKY_PIP = 20
    PINKY_DIP = 21


NUM_DOF = len(Dof)
FINGERS = ("index", "middle", "ring", "pinky")


def finger_dofs(finger: int) -> tuple[Dof, Dof, Dof, Dof]:
    """(MCP flex, MCP abduction, PIP, DIP) of finger ``finger`` (0 = index … 3 = pinky)."""
    base = Dof.INDEX_MCP_FLEX + 4 * finger
    return Dof(base), Dof(base + 1), Dof(base + 2), Dof(base + 3)


# Sampling limits in degrees (lower, upper) per Dof; reference §2.5 "suggested sampling limits".
_LIMITS: dict[Dof, tuple[float, float]] = {
    Dof.WRIST_FLEX: (-60.0, 70.0),
    Dof.WRIST_DEV: (-15.0, 30.0),
    Dof.THUMB_CMC_FLEX: (-35.0, 40.0),
    Dof.THUMB_CMC_ABD: (0.0, 60.0),
    Dof.THUMB_MCP: (-10.0, 55.0),
    Dof.THUMB_IP: (-15.0, 80.0),
}
for _f, _abd in enumerate(((-15.0, 20.0), (-10.0, 10.0), (-10.0, 15.0), (-10.0, 30.0))):
    _mcp, _ab, _pip, _dip = finger_dofs(_f)
    _LIMITS[_mcp] = (-20.0, 90.0)
    _LIMITS[_ab] = _abd
    _LIMITS[_pip] = (0.0, 105.0)
    _LIMITS[_dip] = (-10.0, 85.0)

JOINT_LIMITS_DEG: F64 = np.array([_LIMITS[d] for d in Dof], np.float64)
"""(NUM_DOF, 2) lower and upper limit per :class:`Dof`, degrees."""


def clamp_to_limits(angles_deg: npt.ArrayLike) -> F64:
    """Clip (..., NUM_DOF) angles to :data:`JOINT_LIMITS_DEG` (a new array)."""
    a = np.asarray(angles_deg, np.float64)
    if a.shape[-1] != NUM_DOF:
        raise ValueError(f"angles_deg must have {NUM_DOF} entries on the last axis, got shape {a.shape}")
    return np.clip(a, JOINT_LIMITS_DEG[:, 0], JOINT_LIMITS_DEG[:, 1])


@dataclass(frozen=True, slots=True)
class HandShape:
    """Bone lengths and radii of one hand (mm), in the hand-local frame (built as a left hand).

    Attributes:
        finger_lengths_mm: (4, 3) index…pinky × (MCP→PIP, PIP→DIP, DIP→tip on the skin).
        finger_radii_mm: (4, 4) index…pinky × radius at (MCP, PIP, DIP, tip sphere).
        mcp_xyz_mm: (4, 3) finger MCP joint centres.
        finger_splay_deg: (4,) rest direction of each finger in the palm plane, degrees towards the thumb.
        thumb_lengths_mm: (3,) CMC→MCP, MCP→IP, IP→tip on the skin.
        thumb_radii_mm: (4,) radius at CMC, MCP, IP, tip sphere.
        thumb_cmc_xyz_mm: (3,) thumb CMC joint centre.
        palm_thickness_mm: Thickness of the palm slab (diameter of its wrist-side cones).
        wrist_radius_mm: Radius of the wrist sphere / forearm at the wrist.
        forearm_length_mm: Wrist → elbow.
        forearm_radius_mm: Forearm radius at the elbow end.
        scale: The overall scale factor this shape was built with (1 = mid-size adult, hand length ≈ 184 mm).
    """

    finger_lengths_mm: F64
    finger_radii_mm: F64
    mcp_xyz_mm: F64
    finger_splay_deg: F64
    thumb_lengths_mm: F64
    thumb_radii_mm: F64
    thumb_cmc_xyz_mm: F64
    palm_thickness_mm: float
    wrist_radius_mm: float
    forearm_length_mm: float
    forearm_radius_mm: float
    scale: float = 1.0

    @property
    def hand_length_mm(self) -> float:
        """Wrist joint → middle fingertip, fingers straight (mm)."""
        return float(self.mcp_xyz_mm[1, 1] + self.finger_lengths_mm[1].sum())


def default_shape() -> HandShape:
    """A mid-size adult hand (hand length ≈ 184 mm, breadth ≈ 85 mm)."""
    return HandShape(
        finger_lengths_mm=np.array(
            [[39.8, 22.4, 19.6], [44.6, 26.3, 21.4], [41.4, 25.7, 21.3], [32.6, 18.1, 19.7]], np.float64
        ),
        finger_radii_mm=np.array(
            [[9.5, 8.5, 7.0, 6.0], [9.5, 8.8, 7.2, 6.2], [9.0, 8.2, 6.8, 5.8], [8.0, 7.2, 6.0, 5.2]], np.float64
        ),
        mcp_xyz_mm=np.array([[26.0, 89.0, 0.0], [7.0, 92.0, 0.0], [-10.0, 88.0, -0.5], [-26.0, 81.0, -1.5]]),
        finger_splay_deg=np.array([4.0, 0.0, -4.0, -9.0]),
        thumb_lengths_mm=np.array([42.0, 31.6, 27.0]),
        thumb_radii_mm=np.array([13.0, 11.0, 8.5, 8.0]),
        thumb_cmc_xyz_mm=np.array([20.0, 22.0, -10.0]),
        palm_thickness_mm=27.0,
        wrist_radius_mm=24.0,
        forearm_length_mm=250.0,
        forearm_radius_mm=38.0,
        scale=1.0,
    )


def scale_shape(shape: HandShape, scale: float) -> HandShape:
    """Uniformly scale every length and radius of ``shape`` by ``scale`` (> 0)."""
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, got {scale}")
    return replace(
        shape,
        finger_lengths_mm=shape.finger_lengths_mm * scale,
        finger_radii_mm=shape.finger_radii_mm * scale,
        mcp_xyz_mm=shape.mcp_xyz_mm * scale,
        thumb_lengths_mm=shape.thumb_lengths_mm * scale,
        thumb_radii_mm=shape.thumb_radii_mm * scale,
        thumb_cmc_xyz_mm=shape.thumb_cmc_xyz_mm * scale,
        palm_thickness_mm=shape.palm_thickness_mm * scale,
        wrist_radius_mm=shape.wrist_radius_mm * scale,
        forearm_length_mm=shape.forearm_length_mm * scale,
        forearm_radius_mm=shape.forearm_radius_mm * scale,
        scale=shape.scale * scale,
    )


def sample_shape(
    rng: np.random.Generator,
    scale_range: tuple[float, float] = (0.7, 1.2),
    length_sigma: float = 0.03,
    radius_sigma: float = 0.06,
    palm_sigma: float = 0.06,
) -> HandShape:
    """A random hand: overall scale, per-segment length and radius jitter, palm width and thickness.

    Args:
        rng: Random generator.
        scale_range: Overall scale, sampled log-uniformly (0.7 ≈ a child's hand of 130 mm, 1.2 ≈ a large adult's).
        length_sigma: Relative standard deviation of each bone length.
        radius_sigma: Relative standard deviation of each radius.
        palm_sigma: Relative standard deviation of palm width (MCP spread) and thickness.

    Returns:
        The shape; ``scale`` holds the overall factor.
    """
    lo, hi = scale_range
    if not 0 < lo <= hi:
        raise ValueError(f"scale_range must satisfy 0 < lo <= hi, got {scale_range}")
    base = default_shape()
    scale = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    def jit(a: F64, sigma: float) -> F64:
        return a * np.clip(rng.normal(1.0, sigma, a.shape), 1 - 3 * sigma, 1 + 3 * sigma)

    width = float(np.clip(rng.normal(1.0, palm_sigma), 0.85, 1.15))
    thickness = float(np.clip(rng.normal(1.0, palm_sigma), 0.85, 1.15))
    mcp = base.mcp_xyz_mm.copy()
    mcp[:, 0] *= width
    mcp[:, 1] *= float(np.clip(rng.normal(1.0, length_sigma), 0.9, 1.1))
    cmc = base.thumb_cmc_xyz_mm * np.array([width, 1.0, thickness])
    shaped = replace(
        base,
        finger_lengths_mm=jit(base.finger_lengths_mm, length_sigma),
        finger_radii_mm=jit(base.finger_radii_mm, radius_sigma) * thickness**0.5,
        mcp_xyz_mm=mcp,
        finger_splay_deg=base.finger_splay_deg + rng.normal(0.0, 1.5, 4),
        thumb_lengths_mm=jit(base.thumb_lengths_mm, length_sigma),
        thumb_radii_mm=jit(base.thumb_radii_mm, radius_sigma),
        thumb_cmc_xyz_mm=cmc,
        palm_thickness_mm=base.palm_thickness_mm * thickness,
        wrist_radius_mm=base.wrist_radius_mm * float(np.clip(rng.normal(1.0, radius_sigma), 0.85, 1.15)),
        forearm_length_mm=base.forearm_length_mm * float(rng.uniform(0.9, 1.1)),
        forearm_radius_mm=base.forearm_radius_mm * float(np.clip(rng.normal(1.0, radius_sigma), 0.85, 1.15)),
    )
    return scale_shape(shaped, scale)


def rest_pose() -> F64:
    """All articulation angles zero (flat hand, straight wrist), (NUM_DOF,) degrees."""
    return np.zeros(NUM_DOF, np.float64)
