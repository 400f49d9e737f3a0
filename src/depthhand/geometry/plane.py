"""The table plane: robust fitting from depth, signed heights above it, and plane-local coordinates.

A plane is stored as a unit normal ``n`` and offset ``d`` (mm) so that the signed height of a camera point X is
``h = n·X + d``. The normal is oriented towards the camera (the camera centre, X = 0, has height ``d > 0``), so a
fingertip above a table has a positive height and a point below the surface a negative one.

Every forward function has its inverse: :func:`signed_height` / :func:`point_at_height`,
:func:`plane_to_local` / :func:`local_to_plane`, :func:`height_map` / :func:`plane_depth` (the depth at which each
pixel's ray meets the plane, height 0).

Fitting: :func:`fit_plane_ransac` samples point triples (RANSAC, Fischler & Bolles 1981), keeps the plane with
most inliers and refines it by least squares (SVD) on the inliers, iterating the inlier set; hands and objects on
the table are outliers. :func:`fit_plane_from_depth` applies it to the per-pixel median of background frames.

Example:
    >>> import numpy as np
    >>> plane = Plane.from_point_normal([0.0, 0.0, 1000.0], [0.0, 0.0, -1.0])
    >>> float(signed_height(np.array([[0.0, 0.0, 990.0]]), plane)[0])
    10.0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import depth_to_points
from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]


def _points(points: npt.ArrayLike, name: str) -> F64:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3) camera mm, got {arr.shape}")
    return arr


@dataclass(frozen=True, slots=True)
class Plane:
    """A plane in camera mm: points X with ``normal·X + offset_mm = 0``.

    Attributes:
        normal: (3,) unit normal, oriented towards the camera.
        offset_mm: Signed distance term d, mm (the camera's height above the plane; > 0).
    """

    normal: F64
    offset_mm: float

    def __post_init__(self) -> None:
        n = np.asarray(self.normal, dtype=np.float64)
        if n.shape != (3,) or not np.all(np.isfinite(n)):
            raise ValueError(f"Plane.normal must be a finite (3,) vector, got {n}")
        norm = float(np.linalg.norm(n))
        if norm < 1e-9:
            raise ValueError("Plane.normal must be non-zero")
        d = float(self.offset_mm) / norm
        n = n / norm
        if not np.isfinite(d):
            raise ValueError(f"Plane.offset_mm must be finite, got {self.offset_mm}")
        if d < 0:  # orient towards the camera (camera at the origin has positive height)
            n, d = -n, -d
        object.__setattr__(self, "normal", n)
        object.__setattr__(self, "offset_mm", d)

    @classmethod
    def from_point_normal(cls, point_xyz_mm: npt.ArrayLike, normal: npt.ArrayLike) -> Plane:
        """The plane through ``point_xyz_mm`` (3,) with normal ``normal`` (3,), any length or sign."""
        p = _points(point_xyz_mm, "point_xyz_mm").reshape(3)
        n = np.asarray(normal, dtype=np.float64).reshape(3)
        norm = float(np.linalg.norm(n))
        if norm < 1e-9:
            raise ValueError("normal must be non-zero")
        n = n / norm
        return cls(n, float(-n @ p))

    @classmethod
    def facing_camera(cls, distance_mm: float) -> Plane:
        """The plane ``z = distance_mm`` (perpendicular to the optical axis).

        With it, "lowest fingertip above the plane" is the original system's "deepest fingertip" (largest z).
        """
        if not distance_mm > 0:
            raise ValueError(f"distance_mm must be positive, got {distance_mm}")
        return cls.from_point_normal([0.0, 0.0, distance_mm], [0.0, 0.0, -1.0])

    def to_list(self) -> list[float]:
        """``[nx, ny, nz, d]`` for JSON."""
        return [float(v) for v in self.normal] + [float(self.offset_mm)]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> Plane:
        """Inverse of :meth:`to_list`; raises ``ValueError`` unless given 4 finite numbers."""
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (4,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"a plane is [nx, ny, nz, d] (4 finite numbers), got {values!r}")
        return cls(arr[:3], float(arr[3]))


def signed_height(points_xyz_mm: npt.ArrayLike, plane: Plane) -> F64:
    """Signed height of points above the plane, mm (positive towards the camera).

    Args:
        points_xyz_mm: (..., 3) camera points, mm.
        plane: The surface.

    Returns:
        (...) heights, mm.
    """
    p = _points(points_xyz_mm, "points_xyz_mm")
    out: F64 = p @ plane.normal + plane.offset_mm
    return out


def project_to_plane(points_xyz_mm: npt.ArrayLike, plane: Plane) -> F64:
    """Orthogonal projection ("foot point") of points onto the plane, (..., 3) mm."""
    p = _points(points_xyz_mm, "points_xyz_mm")
    out: F64 = p - signed_height(p, plane)[..., None] * plane.normal
    return out


def point_at_height(foot_xyz_mm: npt.ArrayLike, height_mm: npt.ArrayLike, plane: Plane) -> F64:
    """Inverse of (:func:`project_to_plane`, :func:`signed_height`): the point ``height_mm`` above a foot point."""
    f = _points(foot_xyz_mm, "foot_xyz_mm")
    h = np.asarray(height_mm, dtype=np.float64)
    out: F64 = f + h[..., None] * plane.normal
    return out


def plane_basis(plane: Plane) -> tuple[F64, F64, F64]:
    """A right-handed orthonormal frame on the plane.

    Returns:
        ``(origin_xyz_mm, axis_a, axis_b)``: the foot of the camera centre on the plane and two unit in-plane axes;
        ``axis_a`` is the camera x axis projected onto the plane (or y if x is nearly normal to it), and
        ``axis_a × axis_b = normal``.
    """
    n = plane.normal
    ref = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    a = ref - (ref @ n) * n
    a = a / np.linalg.norm(a)
    b = np.cross(n, a)
    origin = -plane.offset_mm * n
    return origin, a, b


def plane_to_local(points_xyz_mm: npt.ArrayLike, plane: Plane) -> F64:
    """Camera mm → plane-local ``(a, b, height)`` mm (in-plane coordinates and signed height).

    Args:
        points_xyz_mm: (..., 3) camera points.
        plane: The surface.

    Returns:
        (..., 3) local coordinates; inverse: :func:`local_to_plane`.
    """
    p = _points(points_xyz_mm, "points_xyz_mm")
    origin, a, b = plane_basis(plane)
    rel = p - origin
    return np.stack([rel @ a, rel @ b, rel @ plane.normal], axis=-1)


def local_to_plane(local_abh_mm: npt.ArrayLike, plane: Plane) -> F64:
    """Inverse of :func:`plane_to_local`: ``(a, b, height)`` mm → camera mm, (..., 3)."""
    q = _points(local_abh_mm, "local_abh_mm")
    origin, a, b = plane_basis(plane)
    out: F64 = origin + q[..., 0:1] * a + q[..., 1:2] * b + q[..., 2:3] * plane.normal
    return out


def _pixel_rays(intrinsics: CameraIntrinsics) -> F64:
    """(H, W, 3) rays (x/z, y/z, 1) through every pixel centre."""
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(np.float64)
    return np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)], -1)


def height_map(depth_mm: npt.NDArray[np.floating], intrinsics: CameraIntrinsics, plane: Plane) -> F64:
    """Per-pixel signed height above the plane, mm; NaN where the depth is invalid (0).

    ``h = z·(n·ray) + d`` with ``ray = ((u-cx)/fx, (v-cy)/fy, 1)``.
    """
    depth = np.asarray(depth_mm, dtype=np.float64)
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth_mm has shape {depth.shape}, intrinsics expect {(intrinsics.height, intrinsics.width)}")
    h: F64 = depth * (_pixel_rays(intrinsics) @ plane.normal) + plane.offset_mm
    h[depth <= 0] = np.nan
    return h


def plane_depth(intrinsics: CameraIntrinsics, plane: Plane, height_mm: float = 0.0) -> F64:
    """Depth (mm) at which each pixel's ray is ``height_mm`` above the plane; inverse of :func:`height_map`.

    Pixels whose ray never meets that level in front of the camera get 0 (invalid).
    """
    denom = _pixel_rays(intrinsics) @ plane.normal
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (height_mm - plane.offset_mm) / denom
    z[~np.isfinite(z) | (z <= 0)] = 0.0
    out: F64 = z
    return out


def fit_plane_lstsq(points_xyz_mm: npt.ArrayLike) -> Plane:
    """Total-least-squares plane (SVD of centred points), (N ≥ 3, 3) mm.

    Raises:
        ValueError: With fewer than 3 points or (nearly) collinear points.
    """
    p = _points(points_xyz_mm, "points_xyz_mm").reshape(-1, 3)
    if len(p) < 3:
        raise ValueError(f"a plane needs at least 3 points, got {len(p)}")
    centroid = p.mean(axis=0)
    _, s, vt = np.linalg.svd(p - centroid, full_matrices=False)
    if s[1] < 1e-9 * max(s[0], 1.0):
        raise ValueError("points are collinear; the plane is undetermined")
    return Plane.from_point_normal(centroid, vt[2])


@dataclass(frozen=True, slots=True)
class PlaneFit:
    """Result of a robust plane fit.

    Attributes:
        plane: The refined plane.
        inliers: (N,) bool mask of the input points within the threshold.
        rms_mm: RMS height of the inliers, mm.
        inlier_fraction: Share of inliers in [0, 1].
    """

    plane: Plane
    inliers: npt.NDArray[np.bool_]
    rms_mm: float
    inlier_fraction: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON summary (without the mask)."""
        return {"plane": self.plane.to_list(), "rms_mm": self.rms_mm, "inlier_fraction": self.inlier_fraction}


def fit_plane_ransac(
    points_xyz_mm: npt.ArrayLike,
    threshold_mm: float = 5.0,
    iterations: int = 200,
    rng: np.random.Generator | None = None,
    refine_steps: int = 3,
) -> PlaneFit:
    """Robust plane fit: RANSAC on point triples, then least-squares refinement on the inliers.

    Args:
        points_xyz_mm: (N, 3) camera points, mm (N ≥ 3).
        threshold_mm: Inlier band half-width, mm (≈ 2–3 σ of the depth noise at the table distance).
        iterations: Random triples to try.
        rng: Random generator (default: seeded, so fits are reproducible).
        refine_steps: Rounds of (refit on inliers → recompute inliers).

    Returns:
        The best plane and its inliers.

    Raises:
        ValueError: If there are fewer than 3 points or no non-degenerate triple was found.
    """
    p = _points(points_xyz_mm, "points_xyz_mm").reshape(-1, 3)
    if len(p) < 3:
        raise ValueError(f"a plane needs at least 3 points, got {len(p)}")
    if not threshold_mm > 0:
        raise ValueError(f"threshold_mm must be positive, got {threshold_mm}")
    gen = rng if rng is not None else np.random.default_rng(0)
    idx = gen.integers(0, len(p), size=(max(1, iterations), 3))
    a, b, c = p[idx[:, 0]], p[idx[:, 1]], p[idx[:, 2]]
    normals = np.cross(b - a, c - a)
    norms = np.linalg.norm(normals, axis=1)
    ok = norms > 1e-6
    if not ok.any():
        raise ValueError("no non-degenerate point triple found; are the points collinear?")
    normals = normals[ok] / norms[ok, None]
    offsets = -np.einsum("ij,ij->i", normals, a[ok])
    # Score all candidates against a subsample (fast), then refine the best on every point.
    sub = p if len(p) <= 4000 else p[gen.choice(len(p), 4000, replace=False)]
    counts = (np.abs(sub @ normals.T + offsets) < threshold_mm).sum(axis=0)
    best = int(np.argmax(counts))
    plane = Plane(normals[best], float(offsets[best]))
    inliers = np.abs(signed_height(p, plane)) < threshold_mm
    for _ in range(refine_steps):
        if inliers.sum() < 3:
            break
        plane = fit_plane_lstsq(p[inliers])
        inliers = np.abs(signed_height(p, plane)) < threshold_mm
    h = signed_height(p[inliers], plane)
    rms = float(np.sqrt(np.mean(h**2))) if h.size else float("nan")
    return PlaneFit(plane, inliers, rms, float(inliers.mean()))


def background_depth(frames_depth_mm: Sequence[npt.NDArray[np.floating]]) -> npt.NDArray[np.float32]:
    """Per-pixel median of valid depths over background frames (0 where never valid), (H, W) float32 mm."""
    if len(frames_depth_mm) == 0:
        raise ValueError("background_depth needs at least one frame")
    stack = np.stack([np.asarray(f, dtype=np.float32) for f in frames_depth_mm])
    if stack.ndim != 3:
        raise ValueError(f"frames must be (H, W) depth images, got stack shape {stack.shape}")
    masked = np.where(stack > 0, stack, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        med = np.nanmedian(masked, axis=0)
    out: npt.NDArray[np.float32] = np.nan_to_num(med, nan=0.0).astype(np.float32)
    return out


def fit_plane_from_depth(
    frames_depth_mm: Sequence[npt.NDArray[np.floating]],
    intrinsics: CameraIntrinsics,
    threshold_mm: float = 6.0,
    max_points: int = 20000,
    rng: np.random.Generator | None = None,
) -> PlaneFit:
    """Fit the table plane from background frames (median over time, then RANSAC + refinement).

    Args:
        frames_depth_mm: One or more (H, W) depth images, mm, 0 = invalid. Hands and objects may be present as
            long as the table is the dominant surface.
        intrinsics: The camera.
        threshold_mm: RANSAC inlier band, mm.
        max_points: Subsample to at most this many valid pixels (speed).
        rng: Random generator for the subsample and RANSAC.

    Returns:
        The fit; its ``inliers`` refer to the subsampled points.
    """
    med = background_depth(frames_depth_mm)
    if med.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth frames are {med.shape}, intrinsics expect {(intrinsics.height, intrinsics.width)}")
    pts = depth_to_points(med, intrinsics)
    if len(pts) < 3:
        raise ValueError("the background frames have fewer than 3 valid pixels")
    gen = rng if rng is not None else np.random.default_rng(0)
    if len(pts) > max_points:
        pts = pts[gen.choice(len(pts), max_points, replace=False)]
    return fit_plane_ransac(pts, threshold_mm=threshold_mm, rng=gen)
