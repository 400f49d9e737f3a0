"""Where a touch is: the contact pixels' point where they are trusted, else the pose's estimate (issue 19).

The true contact of a fingertip is the foot on the table of its tip sphere's centre (the definition of
:mod:`depthhand.synth.touch_scenes` and of the end-to-end truth, :func:`depthhand.evaluate.touch._truth_touches`).
Two estimates of it:

* the **pixel contact** (:attr:`~depthhand.interact.contact.ContactReading.xyz_mm`): the centroid of the finger's
  tip pixels on the surface, moved back along the finger by ``ContactSettings.tip_setback_mm``, on the plane. It
  does not carry the pose's lasting offset, but exists only where the finger's pixels stand out of the surface
  noise, and can lie on the wrong blob (a neighbouring finger, the hand's own side);
* the **pose contact** (:func:`pose_contact`): the fingertip joint moved back along the distal phalanx (DIP → tip,
  :func:`distal_directions`) by ``TouchSettings.position_tip_radius_mm``, projected onto the plane.

:func:`locate` reports the pixel contact when the reading is trusted (:func:`pixel_trusted`: an ``ok``, not
resting reading with at least ``fused_min_pixels`` tip pixels, whose height says the finger is at the table, and
which lies within ``position_max_offset_mm`` of the pose contact), else the pose contact.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, project_to_plane
from depthhand.interact.contact import ContactReading
from depthhand.interact.touch_settings import TouchSettings
from depthhand.skeleton import Finger, JointSet

F64 = npt.NDArray[np.float64]


@functools.lru_cache(maxsize=32)
def _distal_pairs(joint_set: JointSet) -> tuple[tuple[Finger, int, int], ...]:
    """``(finger, tip index, DIP index)`` of every fingertip of a skeleton (the DIP: the tip's parent joint)."""
    parent = {child: par for par, child in joint_set.bones}
    return tuple((finger, tip, parent.get(tip, tip)) for finger, tip in joint_set.tips)


def distal_directions(joints_xyz_mm: npt.NDArray[np.floating], joint_set: JointSet) -> F64:
    """Per finger, the unit direction of the distal phalanx (DIP → tip).

    Args:
        joints_xyz_mm: (J, 3) the hand's joints, camera mm.
        joint_set: Their skeleton.

    Returns:
        (5, 3) float64 unit vectors in camera coordinates, row ``int(finger)`` (thumb first); a row is NaN where
        the skeleton has no such finger or the phalanx has no length or is not finite.
    """
    joints = np.asarray(joints_xyz_mm, dtype=np.float64)
    out = np.full((len(Finger), 3), np.nan)
    for finger, tip, dip in _distal_pairs(joint_set):
        d = joints[tip] - joints[dip]
        n = float(np.linalg.norm(d))
        if math.isfinite(n) and n > 1e-9:
            out[int(finger)] = d / n
    return out


def pose_contact(tip_xyz_mm: npt.ArrayLike, distal_dir: npt.ArrayLike, plane: Plane, tip_radius_mm: float) -> F64:
    """The pose's estimate of a contact: the foot on the plane of ``tip − tip_radius_mm · distal_dir``.

    Args:
        tip_xyz_mm: (..., 3) fingertip joints, camera mm.
        distal_dir: (..., 3) unit directions of their distal phalanges (:func:`distal_directions`); a NaN
            direction leaves the tip where it is (its foot is returned).
        plane: The table.
        tip_radius_mm: How far back along the phalanx the contact lies (the tip sphere's radius), mm.

    Returns:
        (..., 3) float64 points on the plane, camera mm.
    """
    tip = np.asarray(tip_xyz_mm, dtype=np.float64)
    d = np.asarray(distal_dir, dtype=np.float64)
    d = np.where(np.all(np.isfinite(d), axis=-1, keepdims=True), d, 0.0)
    return project_to_plane(tip - tip_radius_mm * d, plane)


def pose_contacts(
    joints_xyz_mm: npt.NDArray[np.floating], joint_set: JointSet, plane: Plane, tip_radius_mm: float
) -> dict[Finger, F64]:
    """:func:`pose_contact` of each fingertip of one hand, finger → (3,) camera mm on the plane."""
    joints = np.asarray(joints_xyz_mm, dtype=np.float64)
    dirs = distal_directions(joints, joint_set)
    tips = list(joint_set.tips)
    feet = pose_contact(joints[[t for _, t in tips]], dirs[[int(f) for f, _ in tips]], plane, tip_radius_mm)
    return {finger: feet[i] for i, (finger, _) in enumerate(tips)}


def pixel_trusted(reading: ContactReading | None, pose_xyz_mm: F64, settings: TouchSettings) -> bool:
    """Whether a pixel reading's contact point is reported instead of the pose contact (see the module docstring).

    Args:
        reading: The finger's pixel reading this frame, or ``None``.
        pose_xyz_mm: (3,) the pose contact, camera mm.
        settings: ``fused_min_pixels``, ``position_max_height_mm`` and ``position_max_offset_mm``.
    """
    if reading is None or not reading.ok or reading.resting or reading.xyz_mm is None:
        return False
    if reading.pixels < settings.fused_min_pixels or not reading.height_mm <= settings.position_max_height_mm:
        return False
    if settings.position_max_offset_mm <= 0:
        return True
    off = math.dist(reading.xyz_mm, (float(pose_xyz_mm[0]), float(pose_xyz_mm[1]), float(pose_xyz_mm[2])))
    return off <= settings.position_max_offset_mm


def locate(reading: ContactReading | None, pose_xyz_mm: F64, settings: TouchSettings) -> F64:
    """The position reported for a touch: the pixel contact where trusted (:func:`pixel_trusted`), else the pose's.

    Args:
        reading: The finger's pixel reading this frame, or ``None``.
        pose_xyz_mm: (3,) the pose contact (:func:`pose_contact`), camera mm.
        settings: The touch settings.

    Returns:
        (3,) float64 camera mm.
    """
    if reading is not None and reading.xyz_mm is not None and pixel_trusted(reading, pose_xyz_mm, settings):
        return np.asarray(reading.xyz_mm, dtype=np.float64)
    return pose_xyz_mm
