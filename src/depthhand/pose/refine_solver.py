"""numba solver of :mod:`depthhand.pose.refine`: the data points' selection and the Gauss–Newton fit.

The start from joints and the gathering of the observed points are :mod:`depthhand.pose.refine_start`.

Builds on the model kernels of :mod:`depthhand.pose.refine_kernels` (nodes, cones, closest points, the linear
solve). Imported lazily: importing this module imports numba. ``cache=True`` keeps the machine code between
processes.
"""

# mypy: ignore-errors
from __future__ import annotations

import numpy as np
from numba import njit

from depthhand.pose.refine_kernels import (
    NA,
    NC,
    NN,
    NP,
    ST_ENERGY,
    ST_FREE_SAMPLES,
    ST_FREE_VIOL,
    ST_INLIERS,
    ST_JOINT_DIST,
    ST_POINTS,
    ST_RESIDUAL,
    W_DATA,
    W_DATA_GATE,
    W_FOREARM,
    W_FREE,
    W_FREE_CAP,
    W_FREE_INVALID,
    W_FREE_TOL,
    W_FRONT,
    W_JOINT,
    W_JOINT_HUBER,
    W_LAMBDA,
    W_LIMIT,
    W_PRIOR,
    W_SCALE,
    W_SCALE_MU,
    W_TEMP,
    _accumulate,
    _rodrigues,
    _row,
    _solve,
    closest_on_cones,
    cone_bounds,
    cone_digit,
    joint_digit,
    pose_nodes,
)


@njit(cache=True, fastmath=True)
def select_points(shp, cone_nodes, cone_rad, mirror, rot, t, state, points, gate, front, forearm, keep):
    """Mark (``keep``) the points within ``gate`` mm of the posed model that are not on its far side or forearm."""
    nodes = np.empty((NN, 3))
    bounds = np.empty((NC, 4))
    cp = np.empty(9)
    scale = state[0]
    pose_nodes(shp, rot, t, scale, mirror, state[1:], nodes, np.empty((1, 1, 1)), False)
    cone_bounds(nodes, cone_nodes, cone_rad, scale, bounds)
    count = 0
    for i in range(points.shape[0]):
        px, py, pz = points[i, 0], points[i, 1], points[i, 2]
        keep[i] = False
        ly = (rot[0, 1] * (px - t[0]) + rot[1, 1] * (py - t[1]) + rot[2, 1] * (pz - t[2])) / scale
        if ly < -forearm:
            continue
        d = closest_on_cones(px, py, pz, nodes, cone_nodes, cone_rad, scale, bounds, cp)
        if abs(d) > gate:
            continue
        qn = np.sqrt(cp[1] * cp[1] + cp[2] * cp[2] + cp[3] * cp[3])
        if d > 0.0 and (cp[4] * cp[1] + cp[5] * cp[2] + cp[6] * cp[3]) / qn > front:
            continue
        keep[i] = True
        count += 1
    return count


@njit(cache=True, fastmath=True)
def fit(
    shp,
    cone_nodes,
    cone_rad,
    mirror,
    rot,
    t,
    state,
    points,
    grid,
    grid_geom,
    cnn,
    cnn_w,
    prev,
    prior_mu,
    prior_p,
    limits,
    weights,
    free_mask,
    iters,
    rigid_iters,
    stats,
):
    """Gauss–Newton iterations of the hand model against depth points, free space, joints and priors (in place).

    Args:
        shp: (N_SHAPE,) packed base shape (scale 1).
        cone_nodes: (NC, 2) int64 node indices of each round cone.
        cone_rad: (NC, 2) radii of each cone at scale 1, mm.
        mirror: −1.0 for a right hand (mirrored x), +1.0 for a left one.
        rot: (3, 3) hand → camera rotation, updated.
        t: (3,) wrist position, camera mm, updated.
        state: (1 + 22,) scale then the 22 angles (degrees; the wrist two stay), updated.
        points: (N, 3) observed depth points, camera mm (N may be 0).
        grid: (GH, GW) float32 coarse observed depth, mm (0 = invalid); (0, 0) for no free-space term.
        grid_geom: (8,) u0, v0, stride (px), fx, fy, cx, cy of the grid (cell (j, i) is pixel (u0 + i s, v0 + j s))
            and the free-space search radius (cells).
        cnn: (21, 3) joints to stay near (the network's), camera mm.
        cnn_w: (21,) weight per joint (0 = unused).
        prev: (21, 3) previous frame's fitted joints (temporal term; ignored when its weight is 0).
        prior_mu: (NA,) mean articulation, degrees.
        prior_p: (NA, NA) precision of the articulation prior, 1/deg².
        limits: (NA, 2) lower / upper limits, degrees.
        weights: (N_WEIGHTS,) term weights (see ``refine.RefineWeights``).
        free_mask: (NP,) 1 for parameters that move, 0 for fixed ones.
        iters: Iterations in all.
        rigid_iters: The first this many move only the rotation, translation and scale.
        stats: (N_STATS,) written: mean |distance| of inlier points, inliers, points, free-space violations,
            samples tested, mean distance to ``cnn``, last energy.
    """
    nodes = np.empty((NN, 3))
    dnodes = np.empty((NA, NN, 3))
    h = np.empty((NP, NP))
    b = np.empty(NP)
    row = np.empty(NP)
    damp = np.empty(NP)
    delta = np.zeros(NP)
    dq = np.empty((NA, 3))
    cp = np.empty(9)
    bounds = np.empty((NC, 4))
    drot = np.empty((3, 3))
    ang = state[1:].copy()
    scale = state[0]
    n_pts = points.shape[0]
    gh, gw = grid.shape[0], grid.shape[1]
    gu0, gv0, gs, fx, fy, cx, cy = (
        grid_geom[0],
        grid_geom[1],
        grid_geom[2],
        grid_geom[3],
        grid_geom[4],
        grid_geom[5],
        grid_geom[6],
    )
    rad = int(grid_geom[7])
    w_data = weights[W_DATA] / max(n_pts, 1)
    gate = weights[W_DATA_GATE]
    tol, cap = weights[W_FREE_TOL], weights[W_FREE_CAP]
    for it in range(iters):
        pose_nodes(shp, rot, t, scale, mirror, ang, nodes, dnodes)
        cone_bounds(nodes, cone_nodes, cone_rad, scale, bounds)
        h[:, :] = 0.0
        b[:] = 0.0
        energy = 0.0
        # data: observed points to the model surface (point-to-plane, IRLS L1, front-facing matches only)
        res_sum, inliers = 0.0, 0
        for i in range(n_pts):
            px, py, pz = points[i, 0], points[i, 1], points[i, 2]
            ly = (rot[0, 1] * (px - t[0]) + rot[1, 1] * (py - t[1]) + rot[2, 1] * (pz - t[2])) / scale
            if ly < -weights[W_FOREARM]:
                continue
            d = closest_on_cones(px, py, pz, nodes, cone_nodes, cone_rad, scale, bounds, cp)
            if abs(d) > gate:
                continue
            c = int(cp[7])
            tau = cp[8]
            ia, ib = cone_nodes[c, 0], cone_nodes[c, 1]
            qn = np.sqrt(cp[1] * cp[1] + cp[2] * cp[2] + cp[3] * cp[3])
            vx, vy, vz = cp[1] / qn, cp[2] / qn, cp[3] / qn
            facing = cp[4] * vx + cp[5] * vy + cp[6] * vz
            if facing > weights[W_FRONT]:
                if d > 0.0:
                    continue  # behind the model, matched to its far side: background under a finger
                # inside the model, nearest to its far side: match the mirrored, camera-facing side instead
                rr = (1.0 - tau) * cone_rad[c, 0] * scale + tau * cone_rad[c, 1] * scale
                ccx, ccy, ccz = cp[1] - rr * cp[4], cp[2] - rr * cp[5], cp[3] - rr * cp[6]
                cp[4], cp[5], cp[6] = cp[4] - 2.0 * facing * vx, cp[5] - 2.0 * facing * vy, cp[6] - 2.0 * facing * vz
                cp[1], cp[2], cp[3] = ccx + rr * cp[4], ccy + rr * cp[5], ccz + rr * cp[6]
                d = cp[4] * (px - cp[1]) + cp[5] * (py - cp[2]) + cp[6] * (pz - cp[3])
                if abs(d) > gate:
                    continue
            for k in range(NA):
                for j in range(3):
                    dq[k, j] = (1.0 - tau) * dnodes[k, ia, j] + tau * dnodes[k, ib, j]
            _row(cp[4], cp[5], cp[6], cp[1], cp[2], cp[3], t, scale, dq, row)
            for k in range(NP):
                row[k] = -row[k]
            w = w_data / (abs(d) + 1.0)
            _accumulate(h, b, row, d, w, cone_digit(c))
            energy += w * d * d
            res_sum += abs(d)
            inliers += 1
        # free space: model samples where the sensor sees something farther
        n_viol, n_samp = 0, 0
        if gh > 0:  # with weight 0 only counted
            w_free = weights[W_FREE] / (3.0 * 3.0 * NC)
            for c in range(NC):
                ia, ib = cone_nodes[c, 0], cone_nodes[c, 1]
                r1, r2 = cone_rad[c, 0] * scale, cone_rad[c, 1] * scale
                ux = nodes[ib, 0] - nodes[ia, 0]
                uy = nodes[ib, 1] - nodes[ia, 1]
                uz = nodes[ib, 2] - nodes[ia, 2]
                tip = c < 15 and c % 3 == 2  # a digit's last cone: also a sample on its end cap
                ulen = np.sqrt(ux * ux + uy * uy + uz * uz) + 1e-12
                for ti in range(4 if tip else 3):
                    if ti < 3:
                        tau = (2.0 * ti + 1.0) / 6.0
                        ccx = nodes[ia, 0] + tau * ux
                        ccy = nodes[ia, 1] + tau * uy
                        ccz = nodes[ia, 2] + tau * uz
                        rr = r1 + tau * (r2 - r1)
                    else:
                        tau = 1.0
                        ccx = nodes[ib, 0] + 0.6 * r2 * ux / ulen
                        ccy = nodes[ib, 1] + 0.6 * r2 * uy / ulen
                        ccz = nodes[ib, 2] + 0.6 * r2 * uz / ulen
                        rr = 0.8 * r2
                    cn = np.sqrt(ccx * ccx + ccy * ccy + ccz * ccz)
                    vx, vy, vz = ccx / cn, ccy / cn, ccz / cn
                    # rim direction: perpendicular to the view ray and the cone axis
                    wx, wy, wz = vy * uz - vz * uy, vz * ux - vx * uz, vx * uy - vy * ux
                    wn = np.sqrt(wx * wx + wy * wy + wz * wz)
                    if wn > 1e-9:
                        wx, wy, wz = wx / wn, wy / wn, wz / wn
                    for k in range(NA):
                        for j in range(3):
                            dq[k, j] = (1.0 - tau) * dnodes[k, ia, j] + tau * dnodes[k, ib, j]
                    for si in range(3 if ti < 3 else 1):
                        if si == 0:
                            sx, sy, sz = ccx - rr * vx, ccy - rr * vy, ccz - rr * vz
                        else:
                            if wn <= 1e-9:
                                continue
                            side = 0.7 * rr if si == 1 else -0.7 * rr
                            sx, sy, sz = ccx + side * wx, ccy + side * wy, ccz + side * wz
                        if sz < 50.0:
                            continue
                        u = fx * sx / sz + cx
                        v = fy * sy / sz + cy
                        gi = int(np.floor((u - gu0) / gs + 0.5))
                        gj = int(np.floor((v - gv0) / gs + 0.5))
                        if gi < 0 or gj < 0 or gi >= gw or gj >= gh:
                            continue
                        zo = grid[gj, gi]
                        n_samp += 1
                        if zo > 0.0 and zo <= sz + tol:
                            continue
                        n_viol += 1
                        # no depth (out of range, dropout, shadow) counts as free space, with a lower weight
                        w_s = w_free if zo > 0.0 else w_free * weights[W_FREE_INVALID]
                        if w_s <= 0.0:
                            continue
                        # the nearest cell that could hold the sample (something at or in front of its depth)
                        best, bi, bj = 1e30, -1, -1
                        for dj in range(-rad, rad + 1):
                            jj = gj + dj
                            if jj < 0 or jj >= gh:
                                continue
                            for di in range(-rad, rad + 1):
                                ii = gi + di
                                if ii < 0 or ii >= gw:
                                    continue
                                zc = grid[jj, ii]
                                if zc > 0.0 and zc <= sz + tol:
                                    dd = di * di + dj * dj
                                    if dd < best:
                                        best, bi, bj = dd, ii, jj
                        if bi < 0:
                            continue
                        # pull towards it, in mm at the sample's depth
                        ub = (gu0 + bi * gs - cx) / fx
                        vb = (gv0 + bj * gs - cy) / fy
                        rx, ry = sx - sz * ub, sy - sz * vb
                        rn = np.sqrt(rx * rx + ry * ry)
                        w = w_s if rn <= cap else w_s * cap / rn
                        _row(1.0, 0.0, -ub, sx, sy, sz, t, scale, dq, row)
                        _accumulate(h, b, row, rx, w, cone_digit(c))
                        _row(0.0, 1.0, -vb, sx, sy, sz, t, scale, dq, row)
                        _accumulate(h, b, row, ry, w, cone_digit(c))
                        energy += w * (rx * rx + ry * ry)
        # joints near the network's (Huber) and near the previous frame's (temporal)
        jd_sum, jd_n = 0.0, 0
        for term in range(2):
            if term == 0:
                target, wt = cnn, weights[W_JOINT]
            else:
                target, wt = prev, weights[W_TEMP]
            if wt <= 0.0:
                continue
            for j in range(21):
                wj = wt * (cnn_w[j] if term == 0 else 1.0)
                if wj <= 0.0:
                    continue
                rx = nodes[j, 0] - target[j, 0]
                ry = nodes[j, 1] - target[j, 1]
                rz = nodes[j, 2] - target[j, 2]
                rn = np.sqrt(rx * rx + ry * ry + rz * rz)
                if term == 0:
                    jd_sum += rn
                    jd_n += 1
                    hub = weights[W_JOINT_HUBER]
                    if rn > hub:
                        wj *= hub / rn
                for k in range(NA):
                    for jj in range(3):
                        dq[k, jj] = dnodes[k, j, jj]
                for ax in range(3):
                    _row(
                        1.0 if ax == 0 else 0.0,
                        1.0 if ax == 1 else 0.0,
                        1.0 if ax == 2 else 0.0,
                        nodes[j, 0],
                        nodes[j, 1],
                        nodes[j, 2],
                        t,
                        scale,
                        dq,
                        row,
                    )
                    r = rx if ax == 0 else (ry if ax == 1 else rz)
                    _accumulate(h, b, row, r, wj, joint_digit(j))
                energy += wj * rn * rn
        # articulation prior (Gaussian), joint limits (one-sided quadratic), scale prior
        wp = weights[W_PRIOR]
        for k in range(NA):
            dk = ang[2 + k] - prior_mu[k]
            for j in range(NA):
                pkj = wp * prior_p[k, j]
                b[7 + k] += pkj * (ang[2 + j] - prior_mu[j])
                if j >= k:
                    h[7 + k, 7 + j] += pkj
                energy += 0.5 * pkj * dk * (ang[2 + j] - prior_mu[j])
            lo, hi = limits[k, 0], limits[k, 1]
            if ang[2 + k] < lo or ang[2 + k] > hi:
                over = ang[2 + k] - (lo if ang[2 + k] < lo else hi)
                h[7 + k, 7 + k] += weights[W_LIMIT]
                b[7 + k] += weights[W_LIMIT] * over
                energy += weights[W_LIMIT] * over * over
        h[6, 6] += weights[W_SCALE]
        b[6] += weights[W_SCALE] * (scale - weights[W_SCALE_MU])
        # solve with Levenberg–Marquardt damping; fixed parameters stay
        lam = weights[W_LAMBDA]
        for k in range(NP):
            fixed = free_mask[k] == 0.0 or (it < rigid_iters and k >= 7)
            if fixed:
                for j in range(NP):
                    h[k, j] = 0.0
                    h[j, k] = 0.0
                b[k] = 0.0
                damp[k] = 1.0
            else:
                damp[k] = lam * h[k, k] + (1e-3 if k >= 7 else (1e2 if k < 3 else (1e-3 if k < 6 else 1e2)))
        if not _solve(h, b, damp, delta):
            break
        # apply, with bounded steps
        wn = np.sqrt(delta[0] ** 2 + delta[1] ** 2 + delta[2] ** 2)
        if wn > 0.2:
            for k in range(3):
                delta[k] *= 0.2 / wn
        _rodrigues(delta[0], delta[1], delta[2], drot)
        rot[:, :] = drot @ rot
        for k in range(3):
            t[k] += min(max(delta[3 + k], -20.0), 20.0)
        scale = min(max(scale + min(max(delta[6], -0.05), 0.05), 0.6), 1.4)
        for k in range(NA):
            a_new = ang[2 + k] + min(max(delta[7 + k], -20.0), 20.0)
            ang[2 + k] = min(max(a_new, limits[k, 0]), limits[k, 1])
        stats[ST_RESIDUAL] = res_sum / inliers if inliers > 0 else np.nan
        stats[ST_INLIERS] = inliers
        stats[ST_POINTS] = n_pts
        stats[ST_FREE_VIOL] = n_viol
        stats[ST_FREE_SAMPLES] = n_samp
        stats[ST_JOINT_DIST] = jd_sum / jd_n if jd_n > 0 else np.nan
        stats[ST_ENERGY] = energy
    state[0] = scale
    state[1:] = ang
