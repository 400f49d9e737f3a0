"""numba start of :mod:`depthhand.pose.refine`: the model parameters from joints, and the observed points.

:func:`initial_pose` turns the network's 21 joints into the hand model's parameters (the fit's start);
:func:`gather` samples the crop's depth into the candidate data points. The fit itself is
:mod:`depthhand.pose.refine_solver`. Imported lazily: importing this module imports numba.
"""

# mypy: ignore-errors
from __future__ import annotations

import numpy as np
from numba import njit

from depthhand.pose.refine_kernels import NA, S_SPLAY


@njit(cache=True, fastmath=True)
def initial_pose(cnn, cnn_w, rest, shp, scale, mirror, thumb_mu, limits, rot, t, ang):
    """Model parameters from 21 joints (the kernel twin of ``refine_model.initial_pose``); returns the palm RMS.

    Kabsch of the six palm-rigid points (wrist, thumb CMC, four MCPs) for ``rot`` and ``t``, the fingers' angles in
    closed form, the thumb at ``thumb_mu`` (4,), everything clipped to ``limits`` (NA, 2); ``ang`` is (22,).
    """
    palm = (0, 1, 5, 9, 13, 17)
    src = np.zeros((6, 3))
    dst = np.zeros((6, 3))
    wsum = 0.0
    cs = np.zeros(3)
    cd = np.zeros(3)
    for i in range(6):
        j = palm[i]
        src[i, 0] = mirror * rest[j, 0] * scale
        src[i, 1] = rest[j, 1] * scale
        src[i, 2] = rest[j, 2] * scale
        for k in range(3):
            dst[i, k] = cnn[j, k]
        wsum += cnn_w[j]
        for k in range(3):
            cs[k] += cnn_w[j] * src[i, k]
            cd[k] += cnn_w[j] * dst[i, k]
    if wsum <= 0.0:
        return np.inf
    cs /= wsum
    cd /= wsum
    cov = np.zeros((3, 3))
    for i in range(6):
        w = cnn_w[palm[i]] / wsum
        for a in range(3):
            for b in range(3):
                cov[a, b] += w * (src[i, a] - cs[a]) * (dst[i, b] - cd[b])
    u, _, vt = np.linalg.svd(cov)
    r = vt.T @ u.T
    if np.linalg.det(r) < 0.0:
        for a in range(3):
            vt[2, a] = -vt[2, a]
        r = vt.T @ u.T
    rot[:, :] = r
    for k in range(3):
        t[k] = cd[k] - (r[k, 0] * cs[0] + r[k, 1] * cs[1] + r[k, 2] * cs[2])
    rms = 0.0
    for i in range(6):
        w = cnn_w[palm[i]] / wsum
        for k in range(3):
            e = r[k, 0] * src[i, 0] + r[k, 1] * src[i, 1] + r[k, 2] * src[i, 2] + t[k] - dst[i, k]
            rms += w * e * e
    # fingers in closed form, in the unscaled, unmirrored hand frame
    ang[:] = 0.0
    loc = np.empty((21, 3))
    for j in range(21):
        for k in range(3):
            v = 0.0
            for m in range(3):
                v += r[m, k] * (cnn[j, m] - t[m])
            loc[j, k] = v / scale
        loc[j, 0] *= mirror
    for f in range(4):
        n = 5 + 4 * f
        sgn = 1.0 if f < 2 else -1.0
        good = True
        el = np.empty(3)
        dirs = np.empty((3, 3))
        for bi in range(3):
            nrm = 0.0
            for k in range(3):
                dirs[bi, k] = loc[n + bi + 1, k] - loc[n + bi, k]
                nrm += dirs[bi, k] * dirs[bi, k]
            nrm = np.sqrt(nrm)
            if not (nrm > 1e-6) or cnn_w[n + bi] <= 0.0 or cnn_w[n + bi + 1] <= 0.0:
                good = False
                break
            for k in range(3):
                dirs[bi, k] /= nrm
        if not good:
            continue
        phi = np.arctan2(-dirs[0, 0], dirs[0, 1])
        ax, ay = -np.sin(phi), np.cos(phi)
        for bi in range(3):
            el[bi] = np.arctan2(-dirs[bi, 2], dirs[bi, 0] * ax + dirs[bi, 1] * ay)
        base = 6 + 4 * f
        ang[base] = np.degrees(el[0])
        ang[base + 1] = (-np.degrees(phi) - shp[S_SPLAY + f]) / sgn
        ang[base + 2] = np.degrees(el[1] - el[0])
        ang[base + 3] = np.degrees(el[2] - el[1])
    for k in range(4):
        ang[2 + k] = thumb_mu[k]
    for k in range(NA):
        ang[2 + k] = min(max(ang[2 + k], limits[k, 0]), limits[k, 1])
    return np.sqrt(rms)


@njit(cache=True, fastmath=True)
def gather(depth, u0, v0, u1, v1, stride, z_lo, z_hi, fx, fy, cx, cy, max_cand, grid, points):
    """Coarse grid of ``depth`` and the candidate data points; returns how many points were written.

    The grid samples [u0, u1) × [v0, v1) every ``stride`` px into ``grid``; the cells with z_lo < depth < z_hi are
    back-projected into ``points`` (evenly subsampled to ``max_cand``).
    """
    gh, gw = grid.shape
    n_mask = 0
    for j in range(gh):
        for i in range(gw):
            z = depth[v0 + j * stride, u0 + i * stride]
            grid[j, i] = z
            if z > z_lo and z < z_hi:
                n_mask += 1
    if n_mask == 0:
        return 0
    step = max(1.0, n_mask / max_cand)
    nxt = 0.0
    seen = 0
    count = 0
    for j in range(gh):
        for i in range(gw):
            z = grid[j, i]
            if z > z_lo and z < z_hi:
                if seen >= nxt and count < max_cand:
                    u = u0 + i * stride
                    v = v0 + j * stride
                    points[count, 0] = (u - cx) * z / fx
                    points[count, 1] = (v - cy) * z / fy
                    points[count, 2] = z
                    count += 1
                    nxt += step
                seen += 1
    return count
