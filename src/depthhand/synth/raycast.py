"""Analytic ray casting of spheres, round cones, boxes and planes into a depth image (numba).

Each camera ray through pixel centre (u, v) is ``t · ((u − cx)/fx, (v − cy)/fy, 1)``, so the ray parameter of a
hit *is* its depth z in mm. Every bounded primitive is only tested inside the screen rectangle of its bounding
sphere (a conservative projection), planes are filled over the whole image. A round cone (convex hull of two
spheres) is hit where the first of its two spheres or its tangent cone frustum is hit; the frustum's tangent
circles follow from the half-angle ``sin α = (r1 − r2) / L``.

Kernels compile lazily on first use (``cache=True`` stores them next to this file, or in numba's user-wide cache
when the package folder is read-only). Not for meshes; for those, see the reference document's GL options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
_FAR = 1e30


def _empty(cols: int) -> F64:
    return np.zeros((0, cols), np.float64)


def _no_tags() -> I32:
    return np.zeros(0, np.int32)


@dataclass(frozen=True, slots=True)
class Primitives:
    """A scene as analytic primitives in camera mm, each with an int32 tag (see ``kinematics.part_tag``).

    Attributes:
        spheres: (Ns, 4) centre xyz and radius.
        cones: (Nc, 8) round cones: centre 1, radius 1, centre 2, radius 2.
        boxes: (Nb, 15) oriented boxes: centre (3), the three unit axes as rows (9), half sizes (3).
        planes: (Np, 4) infinite planes ``n · p = d`` as (nx, ny, nz, d), n a unit vector.
    """

    spheres: F64 = field(default_factory=lambda: _empty(4))
    sphere_tags: I32 = field(default_factory=_no_tags)
    cones: F64 = field(default_factory=lambda: _empty(8))
    cone_tags: I32 = field(default_factory=_no_tags)
    boxes: F64 = field(default_factory=lambda: _empty(15))
    box_tags: I32 = field(default_factory=_no_tags)
    planes: F64 = field(default_factory=lambda: _empty(4))
    plane_tags: I32 = field(default_factory=_no_tags)

    def __post_init__(self) -> None:
        for name, cols in (("spheres", 4), ("cones", 8), ("boxes", 15), ("planes", 4)):
            arr, tags = getattr(self, name), getattr(self, name[:-1] + "_tags" if name != "boxes" else "box_tags")
            if arr.ndim != 2 or arr.shape[1] != cols:
                raise ValueError(f"Primitives.{name} must be (N, {cols}), got {arr.shape}")
            if tags.shape != (arr.shape[0],):
                raise ValueError(f"Primitives.{name} has {arr.shape[0]} rows but {tags.shape} tags")

    def __add__(self, other: Primitives) -> Primitives:
        """Union of two primitive sets."""
        return concat_primitives([self, other])


_FIELDS = ("spheres", "sphere_tags", "cones", "cone_tags", "boxes", "box_tags", "planes", "plane_tags")


def concat_primitives(parts: list[Primitives]) -> Primitives:
    """Union of several primitive sets (one concatenation per field)."""
    if len(parts) == 1:
        return parts[0]
    return Primitives(*(np.concatenate([getattr(p, k) for p in parts]) for k in _FIELDS))


_KERNEL: list[object] = []
_CODES = np.arange(-1, 127)
_LUT = (
    np.where(_CODES < 0, 0, _CODES % 4).astype(np.uint8),  # part per tag + 1
    np.where(_CODES < 0, -1, _CODES // 4 - 1).astype(np.int8),  # owner per tag + 1
)


def _kernel() -> object:
    if not _KERNEL:
        from depthhand.synth._kernels import render

        _KERNEL.append(render)
    return _KERNEL[0]


def _run(prims: Primitives, intrinsics: CameraIntrinsics, zbuf: F64, tag: I32) -> None:
    kernel = _kernel()
    kernel(  # type: ignore[operator]
        float(intrinsics.fx),
        float(intrinsics.fy),
        float(intrinsics.cx),
        float(intrinsics.cy),
        np.ascontiguousarray(prims.spheres, np.float64),
        np.ascontiguousarray(prims.sphere_tags, np.int32),
        np.ascontiguousarray(prims.cones, np.float64),
        np.ascontiguousarray(prims.cone_tags, np.int32),
        np.ascontiguousarray(prims.boxes, np.float64),
        np.ascontiguousarray(prims.box_tags, np.int32),
        np.ascontiguousarray(prims.planes, np.float64),
        np.ascontiguousarray(prims.plane_tags, np.int32),
        zbuf,
        tag,
    )


def render_depth(
    prims: Primitives, intrinsics: CameraIntrinsics, max_depth_mm: float = 1e5
) -> tuple[npt.NDArray[np.float32], I32]:
    """Ray-cast ``prims`` with the camera ``intrinsics``.

    Args:
        prims: The scene in camera mm.
        intrinsics: Any pinhole camera (also a sub-window camera, see ``crops.window_intrinsics``).
        max_depth_mm: Hits farther than this are dropped (left 0).

    Returns:
        ``(depth_mm, tag)``: (H, W) float32 depth, 0 where nothing was hit; (H, W) int32 tag of the visible
        primitive, −1 where nothing was hit.

    Example:
        >>> from depthhand.geometry.camera import INTRINSICS
        >>> p = Primitives(spheres=np.array([[0.0, 0.0, 500.0, 50.0]]), sphere_tags=np.array([1], np.int32))
        >>> depth, tag = render_depth(p, INTRINSICS["nyu"])
        >>> round(float(depth[240, 320]))
        450
    """
    zbuf = np.full((intrinsics.height, intrinsics.width), _FAR, np.float64)
    tag = np.full(zbuf.shape, -1, np.int32)
    _run(prims, intrinsics, zbuf, tag)
    depth, _, _ = _finalize(zbuf, tag, max_depth_mm)
    return depth, tag


def render_labelled(
    prims: Primitives, intrinsics: CameraIntrinsics, max_depth_mm: float = 1e5
) -> tuple[npt.NDArray[np.float32], I32, npt.NDArray[np.uint8], npt.NDArray[np.int8]]:
    """Like :func:`render_depth`, also decoding tags (``kinematics.part_tag``) into part and owner images.

    Returns:
        ``(depth_mm, tag, part, owner)``: part (H, W) uint8 (0 none, 1 hand, 2 arm, 3 other), owner (H, W) int8
        hand index (−1 none).
    """
    zbuf = np.full((intrinsics.height, intrinsics.width), _FAR, np.float64)
    tag = np.full(zbuf.shape, -1, np.int32)
    _run(prims, intrinsics, zbuf, tag)
    depth, part, owner = _finalize(zbuf, tag, max_depth_mm)
    return depth, tag, part, owner


def _finalize(
    zbuf: F64, tag: I32, max_depth_mm: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8], npt.NDArray[np.int8]]:
    from depthhand.synth._kernels import finalize

    lut_part, lut_owner = _LUT
    if int(tag.max()) + 1 >= lut_part.shape[0]:
        raise ValueError(f"render tags must be < {lut_part.shape[0] - 1} (at most 30 owners), got {int(tag.max())}")
    depth = np.empty(zbuf.shape, np.float32)
    part = np.empty(zbuf.shape, np.uint8)
    owner = np.empty(zbuf.shape, np.int8)
    finalize(zbuf, tag, float(max_depth_mm), lut_part, lut_owner, depth, part, owner)
    return depth, part, owner


def box_row(center_xyz_mm: npt.ArrayLike, rotation: npt.ArrayLike, half_sizes_mm: npt.ArrayLike) -> F64:
    """One ``Primitives.boxes`` row from a centre, a (3, 3) rotation (box axes as columns) and half sizes."""
    r = np.asarray(rotation, np.float64)
    return np.concatenate([np.asarray(center_xyz_mm, np.float64), r.T.reshape(-1), np.asarray(half_sizes_mm)])


def plane_row(normal: npt.ArrayLike, point_xyz_mm: npt.ArrayLike) -> F64:
    """One ``Primitives.planes`` row for the plane through ``point_xyz_mm`` with normal ``normal``."""
    n = np.asarray(normal, np.float64)
    n = n / np.linalg.norm(n)
    return np.array([*n, float(n @ np.asarray(point_xyz_mm, np.float64))])
