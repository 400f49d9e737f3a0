"""Forward kinematics of the sphere-mesh hand: angles + global pose → canonical joints and render primitives.

The 6 global DOF are a rotation (hand-local → camera) and the wrist position in camera millimetres
(:class:`HandState`). Articulations follow :class:`depthhand.synth.hand_model.Dof`. Each segment is a round cone
between two joint spheres, so bone lengths are exactly the shape's lengths whatever the angles (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import Canonical21
from depthhand.structures import Handedness
from depthhand.synth.hand_model import NUM_DOF, Dof, HandShape, default_shape, rest_pose

F64 = npt.NDArray[np.float64]

PART_NONE = 0
PART_HAND = 1
PART_ARM = 2
PART_OTHER = 3


def part_tag(part: int, owner: int = -1) -> int:
    """Encode a primitive's part code and owning hand index (−1 = none) into one render tag; see :func:`decode_tag`."""
    return part + 4 * (owner + 1)


def decode_tag(tag: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Inverse of :func:`part_tag` for tag images (−1 = empty pixel) → (part, owner), owner −1 where none."""
    empty = tag < 0
    part = np.where(empty, PART_NONE, tag % 4).astype(np.int32)
    owner = np.where(empty, -1, tag // 4 - 1).astype(np.int32)
    return part, owner


def rot_x(deg: float) -> F64:
    """Rotation by ``deg`` degrees about x (right-handed)."""
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(deg: float) -> F64:
    """Rotation by ``deg`` degrees about y (right-handed)."""
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(deg: float) -> F64:
    """Rotation by ``deg`` degrees about z (right-handed)."""
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotvec_to_matrix(rotvec_rad: npt.ArrayLike) -> F64:
    """Rodrigues: (3,) axis × angle (radians) → (3, 3) rotation; inverse: :func:`matrix_to_rotvec`."""
    r = np.asarray(rotvec_rad, np.float64)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    out: F64 = np.eye(3) + np.sin(theta) * kx + (1 - np.cos(theta)) * (kx @ kx)
    return out


def matrix_to_rotvec(rotation: npt.ArrayLike) -> F64:
    """(3, 3) rotation → (3,) axis × angle in radians (angle in [0, π]); inverse of :func:`rotvec_to_matrix`."""
    m = np.asarray(rotation, np.float64)
    cos = np.clip((np.trace(m) - 1) / 2, -1.0, 1.0)
    theta = float(np.arccos(cos))
    if theta < 1e-9:
        return np.zeros(3)
    if np.pi - theta < 1e-6:
        d = np.sqrt(np.maximum((np.diag(m) + 1) / 2, 0.0))
        i = int(np.argmax(d))
        axis: F64 = m[:, i] + np.eye(3)[i]
        return axis / float(np.linalg.norm(axis)) * theta
    axis = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]) / (2 * np.sin(theta))
    out: F64 = axis * theta
    return out


@dataclass(frozen=True, slots=True)
class HandState:
    """Everything that places one articulated hand in the camera frame.

    Attributes:
        angles_deg: (NUM_DOF,) articulation angles, degrees (see :class:`Dof`).
        rotation: (3, 3) hand-local → camera rotation (the 3 global rotation DOF).
        wrist_xyz_mm: (3,) wrist joint centre in camera mm (the 3 global translation DOF).
        shape: Bone lengths and radii.
        handedness: LEFT or RIGHT (the model is built as a left hand; a right hand mirrors the local x axis).
    """

    angles_deg: F64 = field(default_factory=rest_pose)
    rotation: F64 = field(default_factory=lambda: np.eye(3))
    wrist_xyz_mm: F64 = field(default_factory=lambda: np.array([0.0, 0.0, 600.0]))
    shape: HandShape = field(default_factory=default_shape)
    handedness: Handedness = Handedness.RIGHT

    def __post_init__(self) -> None:
        if np.shape(self.angles_deg) != (NUM_DOF,):
            raise ValueError(f"HandState.angles_deg must be ({NUM_DOF},) degrees, got {np.shape(self.angles_deg)}")
        if np.shape(self.rotation) != (3, 3) or np.shape(self.wrist_xyz_mm) != (3,):
            raise ValueError("HandState.rotation must be (3, 3) and wrist_xyz_mm (3,) mm")
        if self.handedness not in (Handedness.LEFT, Handedness.RIGHT):
            raise ValueError(f"HandState.handedness must be LEFT or RIGHT, got {self.handedness}")


@dataclass(frozen=True, slots=True)
class HandGeometry:
    """The posed hand in camera millimetres.

    Attributes:
        joints_xyz_mm: (21, 3) canonical joints (:class:`Canonical21`); fingertips on the skin.
        joint_radii_mm: (21,) flesh radius around each joint (for visibility tests).
        cones: (M, 8) round cones (x1, y1, z1, r1, x2, y2, z2, r2), mm.
        cone_parts: (M,) :data:`PART_HAND` or :data:`PART_ARM` per cone.
        tip_spheres: (5, 4) fingertip sphere (x, y, z, r), thumb first.
        elbow_xyz_mm: (3,) far end of the forearm.
        dorsal_normal: (3,) unit vector out of the back of the hand.
    """

    joints_xyz_mm: F64
    joint_radii_mm: F64
    cones: F64
    cone_parts: npt.NDArray[np.int32]
    tip_spheres: F64
    elbow_xyz_mm: F64
    dorsal_normal: F64


def local_digit_chains(s: HandShape, a: F64) -> tuple[F64, F64, F64, F64]:
    """Digit joints in the hand-local frame (left-hand model, before mirroring and the global pose).

    Returns:
        ``(thumb, thumb_tip_centre, chains, tip_centres)``: (4, 3) thumb CMC, MCP, IP, tip; (3,) thumb tip
        sphere centre; (4, 4, 3) index…pinky × MCP, PIP, DIP, tip; (4, 3) fingertip sphere centres.
    """
    cmc = s.thumb_cmc_xyz_mm
    cmc_flex, cmc_abd = a[Dof.THUMB_CMC_FLEX], a[Dof.THUMB_CMC_ABD]
    frame = rot_z(cmc_flex) @ rot_z(-45.0) @ rot_x(-cmc_abd - 10.0) @ rot_y(55.0 + 0.3 * cmc_abd)
    # flexions about the same local x axis add up: segment direction = cos(Σθ)·y_frame − sin(Σθ)·z_frame
    t_cum = np.radians([0.0, a[Dof.THUMB_MCP], a[Dof.THUMB_MCP] + a[Dof.THUMB_IP]])
    t_dirs = np.cos(t_cum)[:, None] * frame[:, 1] - np.sin(t_cum)[:, None] * frame[:, 2]
    thumb = cmc + np.concatenate([np.zeros((1, 3)), np.cumsum(t_dirs * s.thumb_lengths_mm[:, None], axis=0)])
    t_tip_c = thumb[2] + t_dirs[2] * (s.thumb_lengths_mm[2] - s.thumb_radii_mm[3])
    # fingers, vectorised: y_base = (−sin φ, cos φ, 0), z_base = (0, 0, 1)
    abd = a[[Dof.INDEX_MCP_ABD, Dof.MIDDLE_MCP_ABD, Dof.RING_MCP_ABD, Dof.PINKY_MCP_ABD]]
    phi = np.radians(-s.finger_splay_deg - np.array([1.0, 1.0, -1.0, -1.0]) * abd)
    flex = a[Dof.INDEX_MCP_FLEX :].reshape(4, 4)[:, [0, 2, 3]]
    cum = np.cumsum(np.radians(flex), axis=1)
    dirs = np.stack(
        [-np.sin(phi)[:, None] * np.cos(cum), np.cos(phi)[:, None] * np.cos(cum), -np.sin(cum)], axis=-1
    )  # (4 fingers, 3 segments, xyz)
    seg = dirs * s.finger_lengths_mm[:, :, None]
    chain = s.mcp_xyz_mm[:, None, :] + np.concatenate([np.zeros((4, 1, 3)), np.cumsum(seg, axis=1)], axis=1)
    tip_c = chain[:, 2] + dirs[:, 2] * (s.finger_lengths_mm[:, 2] - s.finger_radii_mm[:, 3])[:, None]
    return thumb, t_tip_c, chain, tip_c


def forward_kinematics(state: HandState, with_forearm: bool = True) -> HandGeometry:
    """Pose the hand: canonical joints and round-cone primitives in camera mm.

    Args:
        state: Angles, global pose, shape and handedness.
        with_forearm: Add the forearm (two parallel round cones wrist → elbow, tagged :data:`PART_ARM`).

    Returns:
        The :class:`HandGeometry`.

    Example:
        >>> geo = forward_kinematics(HandState())
        >>> geo.joints_xyz_mm.shape
        (21, 3)
    """
    s, a = state.shape, np.asarray(state.angles_deg, np.float64)
    joints = np.zeros((21, 3))
    radii = np.zeros(21)
    cones: list[tuple[F64, float, F64, float, int]] = []
    tips = np.zeros((5, 4))
    radii[Canonical21.WRIST] = s.wrist_radius_mm * 0.7

    thumb, t_tip_c, chain, tip_c = local_digit_chains(s, a)
    cmc, t_mcp, t_ip, _ = thumb
    joints[Canonical21.THUMB_CMC : Canonical21.THUMB_TIP + 1] = thumb
    radii[Canonical21.THUMB_CMC : Canonical21.THUMB_TIP + 1] = s.thumb_radii_mm
    cones.append((cmc, s.thumb_radii_mm[0], t_mcp, s.thumb_radii_mm[1], PART_HAND))
    cones.append((t_mcp, s.thumb_radii_mm[1], t_ip, s.thumb_radii_mm[2], PART_HAND))
    cones.append((t_ip, s.thumb_radii_mm[2], t_tip_c, s.thumb_radii_mm[3], PART_HAND))
    tips[0] = (*t_tip_c, s.thumb_radii_mm[3])
    rad = s.finger_radii_mm
    joints[Canonical21.INDEX_MCP :] = chain.reshape(16, 3)
    radii[Canonical21.INDEX_MCP :] = rad.reshape(16)
    for f in range(4):
        pip, dip = chain[f, 1], chain[f, 2]
        cones.append((chain[f, 0], rad[f, 0], pip, rad[f, 1], PART_HAND))
        cones.append((pip, rad[f, 1], dip, rad[f, 2], PART_HAND))
        cones.append((dip, rad[f, 2], tip_c[f], rad[f, 3], PART_HAND))
    tips[1:, :3] = tip_c
    tips[1:, 3] = rad[:, 3]

    # palm slab
    half_t = s.palm_thickness_mm / 2
    w_r = np.array([0.55 * s.mcp_xyz_mm[0, 0], 0.15 * s.mcp_xyz_mm[1, 1], -1.0])
    w_u = np.array([0.55 * s.mcp_xyz_mm[3, 0], 0.15 * s.mcp_xyz_mm[1, 1], -1.0])
    w_c = np.array([0.0, 0.45 * s.mcp_xyz_mm[1, 1], -2.0])
    knuckle = [max(s.finger_radii_mm[f, 0], 0.8 * half_t) for f in range(4)]
    mcps = s.mcp_xyz_mm
    for w, fs in ((w_r, (0, 1)), (w_u, (2, 3)), (w_c, (1, 2))):
        for f in fs:
            cones.append((w, half_t, mcps[f], knuckle[f], PART_HAND))
    cones.append((w_r, half_t, w_u, half_t, PART_HAND))
    cones.append((w_c, half_t, cmc, s.thumb_radii_mm[0], PART_HAND))
    for f in range(3):
        cones.append((mcps[f], knuckle[f], mcps[f + 1], knuckle[f + 1], PART_HAND))

    # forearm
    fore = rot_x(a[Dof.WRIST_FLEX]) @ rot_z(-a[Dof.WRIST_DEV])
    elbow = fore @ np.array([0.0, -s.forearm_length_mm, 0.0])
    if with_forearm:
        wr, er = 0.7 * s.wrist_radius_mm, 0.75 * s.forearm_radius_mm
        for side in (-1.0, 1.0):
            p0 = fore @ np.array([side * 0.45 * wr, 0.0, 0.0])
            p1 = elbow + fore @ np.array([side * 0.45 * er, 0.0, 0.0])
            cones.append((p0, wr, p1, er, PART_ARM))
        cones.append((np.zeros(3), wr, w_c * 0.3, half_t, PART_HAND))

    # to camera
    mirror = np.array([-1.0 if state.handedness is Handedness.RIGHT else 1.0, 1.0, 1.0])
    rot, t = np.asarray(state.rotation, np.float64), np.asarray(state.wrist_xyz_mm, np.float64)

    def to_cam(p: F64) -> F64:
        out: F64 = (p * mirror) @ rot.T + t
        return out

    cone_arr = np.empty((len(cones), 8))
    cone_arr[:, 0:3] = to_cam(np.array([c[0] for c in cones]))
    cone_arr[:, 3] = [c[1] for c in cones]
    cone_arr[:, 4:7] = to_cam(np.array([c[2] for c in cones]))
    cone_arr[:, 7] = [c[3] for c in cones]
    tips[:, :3] = to_cam(tips[:, :3])
    return HandGeometry(
        joints_xyz_mm=to_cam(joints),
        joint_radii_mm=radii,
        cones=cone_arr,
        cone_parts=np.array([c[4] for c in cones], np.int32),
        tip_spheres=tips,
        elbow_xyz_mm=to_cam(elbow),
        dorsal_normal=rot[:, 2].copy(),
    )


def translate_geometry(geo: HandGeometry, shift_mm: npt.ArrayLike) -> HandGeometry:
    """``geo`` moved rigidly by ``shift_mm`` (3,) — equal to re-running the kinematics with a shifted wrist."""
    d = np.asarray(shift_mm, np.float64)
    cones = geo.cones.copy()
    cones[:, 0:3] += d
    cones[:, 4:7] += d
    tips = geo.tip_spheres.copy()
    tips[:, :3] += d
    return HandGeometry(
        joints_xyz_mm=geo.joints_xyz_mm + d,
        joint_radii_mm=geo.joint_radii_mm,
        cones=cones,
        cone_parts=geo.cone_parts,
        tip_spheres=tips,
        elbow_xyz_mm=geo.elbow_xyz_mm + d,
        dorsal_normal=geo.dorsal_normal,
    )


def bone_lengths(joints_xyz_mm: npt.ArrayLike) -> F64:
    """Lengths (mm) of the canonical skeleton's bones, in the order of ``CANONICAL21.bones``."""
    from depthhand.skeleton import CANONICAL21

    j = np.asarray(joints_xyz_mm, np.float64)
    bones = np.asarray(CANONICAL21.bones, np.int64)
    out: F64 = np.linalg.norm(j[..., bones[:, 1], :] - j[..., bones[:, 0], :], axis=-1)
    return out
