"""Handedness from a 3D pose: the chirality of the palm.

A left and a right hand are mirror images, so no rotation turns one skeleton into the other; the sign of a
triple product tells them apart. With the palm normal ``n = (index_MCP − wrist) × (pinky_MCP − wrist)`` (camera
frame, right-handed axes), a right hand's opposed thumb lies on the side ``n`` points to and a left hand's on the
other side::

    chirality_mm = n̂ · (mean(thumb MCP, IP, tip) − palm centre)      > 0: right,  < 0: left

Example: a right hand held up with its palm towards the camera has index MCP at +x, pinky MCP at −x and the wrist
below (+y), so ``n`` points at the camera (−z), which is where the palm and the thumb are.

This needs only the predicted joints, so it works with any depth-only pose model that was trained on both hands
(the shipped ``depthhand_fast`` was: the synthetic hands are left or right at random). On held-out synthetic crops
the sign of the *predicted* chirality is right for about 97 % of top-down and 98 % of frontal hands (see
``depthhand bench detect.handedness``); with ground-truth joints it is right for all of them. The detector's own
handedness head is a weaker cue (a 96×96 depth image at detector resolution shows little of the thumb), so the
pipeline prefers this one and the tracker takes a majority vote over frames.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import Canonical21, JointMapping, joint_mapping
from depthhand.structures import Handedness

F64 = npt.NDArray[np.float64]

#: Below this |chirality| (mm) the thumb lies too close to the palm plane to tell (flat hands): UNKNOWN.
DEFAULT_MARGIN_MM = 10.0

_PALM = (Canonical21.WRIST, Canonical21.INDEX_MCP, Canonical21.MIDDLE_MCP, Canonical21.RING_MCP, Canonical21.PINKY_MCP)
_THUMB = (Canonical21.THUMB_MCP, Canonical21.THUMB_IP, Canonical21.THUMB_TIP)
_NEEDED = tuple(int(j) for j in (*_PALM, *_THUMB))


@functools.lru_cache(maxsize=16)
def _to_canonical(joint_set: str) -> JointMapping:
    mapping = joint_mapping(joint_set, "canonical21")
    if not all(bool(mapping.defined[j]) for j in _NEEDED):
        raise ValueError(f"joint set {joint_set!r} lacks the wrist, MCP or thumb joints that handedness needs")
    return mapping


def chirality_mm(joints_xyz_mm: npt.ArrayLike, joint_set: str = "canonical21") -> F64:
    """Signed offset of the thumb from the palm plane, along the right-hand palm normal.

    Args:
        joints_xyz_mm: (J, 3) or (N, J, 3) joints in camera millimetres (any y convention works as long as the
            axes are right-handed, as the camera frame is).
        joint_set: Name of the joint set the joints are in; it must define the wrist, the index/middle/ring/pinky
            MCPs and the thumb MCP, IP and tip (canonical21, msra21, hands17 do; nyu14 and icvl16 do not).

    Returns:
        () or (N,) chirality in mm: > 0 for a right hand, < 0 for a left hand.

    Raises:
        ValueError: if the joint set lacks the needed joints or the array is not (…, J, 3).
    """
    joints = np.asarray(joints_xyz_mm, np.float64)
    if joint_set != "canonical21":
        joints = _to_canonical(joint_set).apply(joints)
    if joints.shape == (len(Canonical21), 3):  # one pose, the pipeline's case: plain floats, ~10x faster
        return np.asarray(_chirality_one(joints.tolist()))
    if joints.ndim not in (2, 3) or joints.shape[-2:] != (len(Canonical21), 3):
        raise ValueError(f"joints_xyz_mm: expected (J, 3) or (N, J, 3) canonical joints, got {joints.shape}")
    wrist = joints[..., Canonical21.WRIST, :]
    normal = np.cross(joints[..., Canonical21.INDEX_MCP, :] - wrist, joints[..., Canonical21.PINKY_MCP, :] - wrist)
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    unit = np.divide(normal, length, out=np.zeros_like(normal), where=length > 1e-9)
    palm = joints[..., list(_PALM), :].mean(axis=-2)
    thumb = joints[..., list(_THUMB), :].mean(axis=-2)
    out: F64 = np.einsum("...i,...i->...", unit, thumb - palm)
    return out


def _chirality_one(joints: list[list[float]]) -> float:
    """:func:`chirality_mm` of one canonical pose given as 21 ``[x, y, z]`` lists (the same formula, in floats)."""
    wx, wy, wz = joints[Canonical21.WRIST]
    ix, iy, iz = joints[Canonical21.INDEX_MCP]
    px, py, pz = joints[Canonical21.PINKY_MCP]
    ax, ay, az, bx, by, bz = ix - wx, iy - wy, iz - wz, px - wx, py - wy, pz - wz
    nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    length = math.sqrt(nx * nx + ny * ny + nz * nz)
    if not length > 1e-9:
        return 0.0 if length == length else math.nan  # a degenerate palm has no normal (NaN joints: NaN)
    palm = [sum(joints[j][k] for j in _PALM) / len(_PALM) for k in range(3)]
    thumb = [sum(joints[j][k] for j in _THUMB) / len(_THUMB) for k in range(3)]
    return (nx * (thumb[0] - palm[0]) + ny * (thumb[1] - palm[1]) + nz * (thumb[2] - palm[2])) / length


def handedness_from_joints(
    joints_xyz_mm: npt.ArrayLike, joint_set: str = "canonical21", margin_mm: float = DEFAULT_MARGIN_MM
) -> Handedness:
    """LEFT / RIGHT from one pose's chirality; UNKNOWN near the palm plane or without the needed joints.

    Args:
        joints_xyz_mm: (J, 3) joints in camera millimetres.
        joint_set: Their joint set's name.
        margin_mm: Dead band around zero chirality.
    """
    try:
        value = float(chirality_mm(joints_xyz_mm, joint_set))
    except ValueError:
        return Handedness.UNKNOWN
    if not np.isfinite(value) or abs(value) < margin_mm:
        return Handedness.UNKNOWN
    return Handedness.RIGHT if value > 0 else Handedness.LEFT
