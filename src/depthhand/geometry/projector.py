"""Camera → projector mappings: a planar homography and a full 3×4 projection, fitted by normalised DLT.

* :func:`fit_homography`: ≥ 4 point pairs on the table (plane-local mm → projector pixels); exact only on the
  plane. Direct linear transform with Hartley normalisation (Hartley & Zisserman, *Multiple View Geometry*,
  Alg. 4.2): each point set is shifted to its centroid and scaled to mean distance √2 before the SVD.
* :func:`fit_projection`: ≥ 6 non-coplanar camera points (mm) → projector pixels, 11 degrees of freedom (H&Z
  Alg. 7.1 with the same normalisation, √3 for 3-D points).
* :func:`apply_homography` / :func:`invert_homography`, :func:`project_points`, :func:`reprojection_errors`.

Example:
    >>> import numpy as np
    >>> H = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, 20.0], [0.0, 0.0, 1.0]])
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> np.allclose(fit_homography(src, apply_homography(H, src)), H)
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def _pairs(src: npt.ArrayLike, dst: npt.ArrayLike, src_dim: int, min_points: int, what: str) -> tuple[F64, F64]:
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != src_dim:
        raise ValueError(f"{what}: source points must be (N, {src_dim}), got {s.shape}")
    if d.ndim != 2 or d.shape[1] != 2:
        raise ValueError(f"{what}: projector pixels must be (N, 2), got {d.shape}")
    if len(s) != len(d):
        raise ValueError(f"{what}: {len(s)} source points but {len(d)} projector pixels")
    if len(s) < min_points:
        raise ValueError(f"{what} needs at least {min_points} point pairs, got {len(s)}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(d))):
        raise ValueError(f"{what}: points must be finite")
    return s, d


def normalizing_transform(points: npt.ArrayLike) -> F64:
    """Similarity T ((D+1)×(D+1)) moving points (N, D) to zero mean and mean distance √D from the origin."""
    p = np.asarray(points, dtype=np.float64)
    dim = p.shape[1]
    centroid = p.mean(axis=0)
    mean_dist = float(np.mean(np.linalg.norm(p - centroid, axis=1)))
    if mean_dist < 1e-12:
        raise ValueError("all points coincide; the mapping is undetermined")
    scale = np.sqrt(dim) / mean_dist
    t = np.eye(dim + 1)
    t[:dim, :dim] *= scale
    t[:dim, dim] = -scale * centroid
    return t


def _homogeneous(points: F64) -> F64:
    return np.concatenate([points, np.ones((len(points), 1))], axis=1)


def apply_homography(h: npt.ArrayLike, points_xy: npt.ArrayLike) -> F64:
    """Map (..., 2) points through a 3×3 homography; returns (..., 2)."""
    hm = np.asarray(h, dtype=np.float64)
    if hm.shape != (3, 3):
        raise ValueError(f"a homography is 3×3, got {hm.shape}")
    p = np.asarray(points_xy, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"points must be (..., 2), got {p.shape}")
    q = p @ hm[:, :2].T + hm[:, 2]
    out: F64 = q[..., :2] / q[..., 2:3]
    return out


def invert_homography(h: npt.ArrayLike) -> F64:
    """Inverse homography, scaled so that its [2, 2] entry is 1 when possible."""
    inv = np.linalg.inv(np.asarray(h, dtype=np.float64))
    return _scale_last(inv)


def _scale_last(m: F64) -> F64:
    last = m[-1, -1]
    out: F64 = m / last if abs(last) > 1e-12 else m / np.linalg.norm(m)
    return out


def fit_homography(src_xy: npt.ArrayLike, dst_px: npt.ArrayLike) -> F64:
    """Least-squares homography by normalised DLT.

    Args:
        src_xy: (N, 2) source points (e.g. plane-local mm from :func:`depthhand.geometry.plane.plane_to_local`).
        dst_px: (N, 2) projector pixels, N ≥ 4.

    Returns:
        (3, 3) H with ``dst ≈ H·src`` (homogeneous), ``H[2, 2] = 1``.

    Raises:
        ValueError: With fewer than 4 pairs, mismatched shapes or a degenerate (collinear) configuration.
    """
    s, d = _pairs(src_xy, dst_px, 2, 4, "homography")
    ts, td = normalizing_transform(s), normalizing_transform(d)
    sn = _homogeneous(s) @ ts.T
    dn = _homogeneous(d) @ td.T
    n = len(s)
    a = np.zeros((2 * n, 9))
    a[0::2, 0:3] = sn
    a[0::2, 6:9] = -dn[:, 0:1] * sn
    a[1::2, 3:6] = sn
    a[1::2, 6:9] = -dn[:, 1:2] * sn
    _, sv, vt = np.linalg.svd(a)
    if sv[7] < 1e-9 * sv[0]:
        raise ValueError("degenerate point configuration for a homography (are 3 of the points collinear?)")
    hn = vt[-1].reshape(3, 3)
    h = np.linalg.inv(td) @ hn @ ts
    return _scale_last(h)


def project_points(p: npt.ArrayLike, points_xyz_mm: npt.ArrayLike) -> F64:
    """Project (..., 3) camera points through a 3×4 matrix to (..., 2) pixels."""
    pm = np.asarray(p, dtype=np.float64)
    if pm.shape != (3, 4):
        raise ValueError(f"a projection matrix is 3×4, got {pm.shape}")
    x = np.asarray(points_xyz_mm, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(f"points must be (..., 3), got {x.shape}")
    q = x @ pm[:, :3].T + pm[:, 3]
    out: F64 = q[..., :2] / q[..., 2:3]
    return out


def fit_projection(points_xyz_mm: npt.ArrayLike, dst_px: npt.ArrayLike) -> F64:
    """Least-squares 3×4 projection by normalised DLT.

    Args:
        points_xyz_mm: (N, 3) camera points, N ≥ 6, not all on one plane.
        dst_px: (N, 2) projector pixels.

    Returns:
        (3, 4) P with ``dst ≈ P·[X, 1]``, scaled so that ``‖P[2, :3]‖ = 1`` and points in front have positive depth.

    Raises:
        ValueError: With fewer than 6 pairs or (nearly) coplanar points.
    """
    x, d = _pairs(points_xyz_mm, dst_px, 3, 6, "3×4 projection")
    centred = x - x.mean(axis=0)
    sv3 = np.linalg.svd(centred, compute_uv=False)
    if sv3[2] < 1e-3 * sv3[0]:
        raise ValueError(
            "the 3-D points are (nearly) coplanar; a 3×4 projection needs points off the table plane "
            "(use a homography for a flat table)"
        )
    tx, td = normalizing_transform(x), normalizing_transform(d)
    xn = _homogeneous(x) @ tx.T
    dn = _homogeneous(d) @ td.T
    n = len(x)
    a = np.zeros((2 * n, 12))
    a[0::2, 0:4] = xn
    a[0::2, 8:12] = -dn[:, 0:1] * xn
    a[1::2, 4:8] = xn
    a[1::2, 8:12] = -dn[:, 1:2] * xn
    _, _, vt = np.linalg.svd(a)
    pn = vt[-1].reshape(3, 4)
    p = np.linalg.inv(td) @ pn @ tx
    p = p / np.linalg.norm(p[2, :3])
    if np.mean(x @ p[2, :3] + p[2, 3]) < 0:
        p = -p
    out: F64 = p
    return out


def reprojection_errors(predicted_px: npt.ArrayLike, target_px: npt.ArrayLike) -> dict[str, float]:
    """RMS, mean and max Euclidean distance (pixels) between (N, 2) predicted and target pixels."""
    a = np.asarray(predicted_px, dtype=np.float64)
    b = np.asarray(target_px, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"predicted {a.shape} and target {b.shape} pixels differ in shape")
    e = np.linalg.norm(a - b, axis=-1)
    return {"rms_px": float(np.sqrt(np.mean(e**2))), "mean_px": float(e.mean()), "max_px": float(e.max())}
