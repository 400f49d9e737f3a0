"""numba kernels of :mod:`depthhand.pose.refine` (imported lazily: importing this module imports numba).

The fitted model is the synthetic generator's sphere-mesh hand (:mod:`depthhand.synth.hand_model`,
``kinematics.forward_kinematics``) without its forearm: 30 *nodes* (the 21 canonical joints, the five fingertip
sphere centres and four palm points) and 27 round cones between them. Parameters ``x`` (:data:`NP` = 27): a
rotation increment (3, radians, composed on the left), the wrist translation (3, mm), the overall scale (1) and
the 20 hand articulations (degrees, ``Dof.THUMB_CMC_FLEX`` … ``Dof.PINKY_DIP``; the wrist DOF only move the forearm).

Functions compile on first call; ``cache=True`` keeps the machine code between processes.
"""

# mypy: ignore-errors
from __future__ import annotations

import numpy as np
from numba import njit

NN = 30  # nodes
NC = 27  # round cones
NA = 20  # articulations in the fit (Dof 2 … 21)
NP = 27  # parameters: 3 rotation + 3 translation + 1 scale + 20 articulations
FD_DEG = 1e-3  # finite-difference step of the articulation Jacobian, degrees

# packed shape vector (base hand at scale 1), see refine_model.pack_shape
S_FL, S_FR, S_MCP, S_SPLAY, S_TL, S_TR, S_CMC, S_PALM_T, S_WRIST_R = 0, 12, 28, 40, 44, 47, 51, 54, 55
N_SHAPE = 56

# weights vector, see refine.RefineWeights.pack
W_DATA, W_DATA_GATE, W_JOINT, W_JOINT_HUBER, W_FREE, W_FREE_TOL, W_FREE_CAP, W_TEMP = 0, 1, 2, 3, 4, 5, 6, 7
W_PRIOR, W_LIMIT, W_SCALE, W_LAMBDA, W_FRONT, W_FOREARM, W_SCALE_MU, W_FREE_INVALID = 8, 9, 10, 11, 12, 13, 14, 15
N_WEIGHTS = 16

# stats vector written by fit()
ST_RESIDUAL, ST_INLIERS, ST_POINTS, ST_FREE_VIOL, ST_FREE_SAMPLES, ST_JOINT_DIST, ST_ENERGY = 0, 1, 2, 3, 4, 5, 6
N_STATS = 8


@njit(cache=True, fastmath=True)
def _thumb(shp, ang, out):
    """Thumb nodes 1–4 and 21 of :func:`local_nodes`."""
    # frame = rz(cmc_flex − 45) rx(−cmc_abd − 10) ry(55 + 0.3 cmc_abd); its columns 1 and 2 are needed
    r1, r2, r3 = np.radians(ang[2] - 45.0), np.radians(-ang[3] - 10.0), np.radians(55.0 + 0.3 * ang[3])
    c1, s1, c2, s2, c3, s3 = np.cos(r1), np.sin(r1), np.cos(r2), np.sin(r2), np.cos(r3), np.sin(r3)
    # rz rx = [[c1, -s1 c2, s1 s2], [s1, c1 c2, -c1 s2], [0, s2, c2]]; times ry: column 1 = (rz rx)[:, 1]
    y0, y1, y2 = -s1 * c2, c1 * c2, s2
    # column 2 = (rz rx) @ (s3, 0, c3)
    z0, z1, z2 = c1 * s3 + s1 * s2 * c3, s1 * s3 - c1 * s2 * c3, c2 * c3
    for i in range(3):
        out[1, i] = shp[S_CMC + i]
    cum = 0.0
    for k in range(3):
        if k == 1:
            cum = np.radians(ang[4])
        elif k == 2:
            cum = np.radians(ang[4] + ang[5])
        c, s = np.cos(cum), np.sin(cum)
        dx, dy, dz = c * y0 - s * z0, c * y1 - s * z1, c * y2 - s * z2
        length = shp[S_TL + k]
        out[2 + k, 0] = out[1 + k, 0] + length * dx
        out[2 + k, 1] = out[1 + k, 1] + length * dy
        out[2 + k, 2] = out[1 + k, 2] + length * dz
        if k == 2:
            back = length - shp[S_TR + 3]
            out[21, 0] = out[3, 0] + back * dx
            out[21, 1] = out[3, 1] + back * dy
            out[21, 2] = out[3, 2] + back * dz


@njit(cache=True, fastmath=True)
def _finger(shp, ang, fi, out):
    """Nodes of finger ``fi`` (MCP, PIP, DIP, tip, tip centre) of :func:`local_nodes`."""
    sgn = 1.0 if fi < 2 else -1.0
    base = 6 + 4 * fi
    phi = np.radians(-shp[S_SPLAY + fi] - sgn * ang[base + 1])
    sp, cp = np.sin(phi), np.cos(phi)
    n0 = 5 + 4 * fi
    for i in range(3):
        out[n0, i] = shp[S_MCP + 3 * fi + i]
    cum = 0.0
    for k in range(3):
        cum += np.radians(ang[base] if k == 0 else ang[base + 1 + k])
        c, s = np.cos(cum), np.sin(cum)
        length = shp[S_FL + 3 * fi + k]
        dx, dy, dz = -sp * c, cp * c, -s
        out[n0 + k + 1, 0] = out[n0 + k, 0] + length * dx
        out[n0 + k + 1, 1] = out[n0 + k, 1] + length * dy
        out[n0 + k + 1, 2] = out[n0 + k, 2] + length * dz
        if k == 2:
            back = length - shp[S_FR + 4 * fi + 3]
            out[22 + fi, 0] = out[n0 + 2, 0] + back * dx
            out[22 + fi, 1] = out[n0 + 2, 1] + back * dy
            out[22 + fi, 2] = out[n0 + 2, 2] + back * dz


@njit(cache=True, fastmath=True)
def local_nodes(shp, ang, out):
    """Nodes (NN, 3) in the unscaled, unmirrored hand frame for the (22,) angles ``ang`` (degrees)."""
    out[0, :] = 0.0
    _thumb(shp, ang, out)
    for fi in range(4):
        _finger(shp, ang, fi, out)
    # palm points (constant in the hand frame)
    my = shp[S_MCP + 4]
    out[26, 0], out[26, 1], out[26, 2] = 0.55 * shp[S_MCP + 0], 0.15 * my, -1.0
    out[27, 0], out[27, 1], out[27, 2] = 0.55 * shp[S_MCP + 9], 0.15 * my, -1.0
    out[28, 0], out[28, 1], out[28, 2] = 0.0, 0.45 * my, -2.0
    out[29, 0], out[29, 1], out[29, 2] = 0.0, 0.3 * 0.45 * my, -0.6


@njit(cache=True, fastmath=True, inline="always")
def _digit_node(k, m):
    """The m-th (0–3) node that articulation ``k`` (0–19) moves: its digit's distal nodes and tip centre."""
    if k < 4:
        return 2 + m if m < 3 else 21
    fi = (k - 4) // 4
    return 6 + 4 * fi + m if m < 3 else 22 + fi


@njit(cache=True, fastmath=True)
def pose_nodes(shp, rot, t, scale, mirror, ang, nodes, dnodes, derivatives=True):
    """Camera-frame nodes (NN, 3) and, if ``derivatives``, their derivatives (NA, NN, 3) per articulation degree.

    An articulation moves only its own digit's distal nodes; the other derivatives are zero.
    """
    loc = np.empty((NN, 3))
    local_nodes(shp, ang, loc)
    for n in range(NN):
        lx, ly, lz = mirror * loc[n, 0] * scale, loc[n, 1] * scale, loc[n, 2] * scale
        for i in range(3):
            nodes[n, i] = rot[i, 0] * lx + rot[i, 1] * ly + rot[i, 2] * lz + t[i]
    if not derivatives:
        return
    loc2 = loc.copy()
    a = ang.copy()
    dnodes[:, :, :] = 0.0
    for k in range(NA):
        a[2 + k] += FD_DEG
        if k < 4:
            _thumb(shp, a, loc2)
        else:
            _finger(shp, a, (k - 4) // 4, loc2)
        a[2 + k] = ang[2 + k]
        for m in range(4):
            n = _digit_node(k, m)
            dx = mirror * (loc2[n, 0] - loc[n, 0]) * scale / FD_DEG
            dy = (loc2[n, 1] - loc[n, 1]) * scale / FD_DEG
            dz = (loc2[n, 2] - loc[n, 2]) * scale / FD_DEG
            for i in range(3):
                dnodes[k, n, i] = rot[i, 0] * dx + rot[i, 1] * dy + rot[i, 2] * dz


@njit(cache=True, fastmath=True, inline="always")
def _row(nx, ny, nz, qx, qy, qz, t, scale, dq, row):
    """Jacobian row of ``n · q`` for a point q whose articulation derivatives are ``dq`` (NA, 3)."""
    wx, wy, wz = qx - t[0], qy - t[1], qz - t[2]
    row[0] = wy * nz - wz * ny
    row[1] = wz * nx - wx * nz
    row[2] = wx * ny - wy * nx
    row[3], row[4], row[5] = nx, ny, nz
    row[6] = (nx * wx + ny * wy + nz * wz) / scale
    for k in range(NA):
        row[7 + k] = nx * dq[k, 0] + ny * dq[k, 1] + nz * dq[k, 2]


@njit(cache=True, fastmath=True, inline="always")
def _accumulate(h, b, row, r, w, digit):
    """H += w row rowᵀ, b += w row r over the global columns and those of ``digit`` (−1: none, 0 thumb, 1–4)."""
    n = 7 if digit < 0 else 11
    for ii in range(n):
        i = ii if ii < 7 else 7 + 4 * digit + ii - 7
        ri = row[i] * w
        b[i] += ri * r
        for jj in range(ii, n):
            j = jj if jj < 7 else 7 + 4 * digit + jj - 7
            h[i, j] += ri * row[j]


@njit(cache=True, fastmath=True, inline="always")
def cone_digit(c):
    """Digit whose articulations move cone ``c``: 0 thumb, 1–4 index…pinky, −1 the palm."""
    if c < 3:
        return 0
    if c < 15:
        return 1 + (c - 3) // 3
    return -1


@njit(cache=True, fastmath=True, inline="always")
def joint_digit(j):
    """Digit whose articulations move canonical joint ``j`` (−1 for the wrist, thumb CMC and MCPs)."""
    if j < 2:
        return -1
    if j < 5:
        return 0
    if (j - 5) % 4 == 0:
        return -1
    return 1 + (j - 5) // 4


@njit(cache=True, fastmath=True)
def closest_on_cones(px, py, pz, nodes, cone_nodes, cone_rad, scale, bounds, out):
    """Signed distance from a point to the union of round cones, with the closest surface point and its normal.

    ``bounds`` (NC, 4) are bounding spheres of the cones (:func:`cone_bounds`; (0, 4) for none): cones that cannot
    be closer than the best so far are skipped. Writes ``out`` = (distance, qx, qy, qz, nx, ny, nz, cone index, tau
    along the cone) and returns the distance.
    """
    best = 1e30
    for c in range(NC):
        ia, ib = cone_nodes[c, 0], cone_nodes[c, 1]
        if bounds.shape[0] > 0:
            ex, ey, ez = px - bounds[c, 0], py - bounds[c, 1], pz - bounds[c, 2]
            if np.sqrt(ex * ex + ey * ey + ez * ez) - bounds[c, 3] > best:
                continue
        r1, r2 = cone_rad[c, 0] * scale, cone_rad[c, 1] * scale
        ax, ay, az = nodes[ia, 0], nodes[ia, 1], nodes[ia, 2]
        ux, uy, uz = nodes[ib, 0] - ax, nodes[ib, 1] - ay, nodes[ib, 2] - az
        length = np.sqrt(ux * ux + uy * uy + uz * uz)
        vx, vy, vz = px - ax, py - ay, pz - az
        if length <= abs(r1 - r2) + 1e-6:
            # one sphere holds the other: the bigger one
            if r2 > r1:
                vx, vy, vz = px - nodes[ib, 0], py - nodes[ib, 1], pz - nodes[ib, 2]
            dist = np.sqrt(vx * vx + vy * vy + vz * vz) + 1e-12
            d = dist - max(r1, r2)
            if d < best:
                best = d
                out[0] = d
                out[4], out[5], out[6] = vx / dist, vy / dist, vz / dist
                out[1], out[2], out[3] = px - d * out[4], py - d * out[5], pz - d * out[6]
                out[7] = c
                out[8] = 1.0 if r2 > r1 else 0.0
            continue
        ux, uy, uz = ux / length, uy / length, uz / length
        h = vx * ux + vy * uy + vz * uz
        wx, wy, wz = vx - h * ux, vy - h * uy, vz - h * uz
        rho = np.sqrt(wx * wx + wy * wy + wz * wz)
        if rho > 1e-9:
            ex, ey, ez = wx / rho, wy / rho, wz / rho
        else:  # on the axis: any perpendicular
            if abs(ux) < 0.9:
                ex, ey, ez = 0.0, -uz, uy
            else:
                ex, ey, ez = uz, 0.0, -ux
            en = np.sqrt(ex * ex + ey * ey + ez * ez)
            ex, ey, ez = ex / en, ey / en, ez / en
        sin_a = (r1 - r2) / length
        cos_a = np.sqrt(1.0 - sin_a * sin_a)
        s_t = -rho * sin_a + h * cos_a  # coordinate along the tangent line from sphere a's tangent point
        if s_t < 0.0:
            dist = np.sqrt(vx * vx + vy * vy + vz * vz) + 1e-12
            d = dist - r1
            nx, ny, nz = vx / dist, vy / dist, vz / dist
            tau = 0.0
        elif s_t > length * cos_a:
            bx, by, bz = px - nodes[ib, 0], py - nodes[ib, 1], pz - nodes[ib, 2]
            dist = np.sqrt(bx * bx + by * by + bz * bz) + 1e-12
            d = dist - r2
            nx, ny, nz = bx / dist, by / dist, bz / dist
            tau = 1.0
        else:
            d = rho * cos_a + h * sin_a - r1
            nx, ny, nz = cos_a * ex + sin_a * ux, cos_a * ey + sin_a * uy, cos_a * ez + sin_a * uz
            tau = s_t / (length * cos_a)
        if d < best:
            best = d
            out[0] = d
            out[1], out[2], out[3] = px - d * nx, py - d * ny, pz - d * nz
            out[4], out[5], out[6] = nx, ny, nz
            out[7] = c
            out[8] = tau
    return best


@njit(cache=True, fastmath=True)
def cone_bounds(nodes, cone_nodes, cone_rad, scale, out):
    """Bounding sphere (centre, radius) of each round cone into ``out`` (NC, 4)."""
    for c in range(NC):
        ia, ib = cone_nodes[c, 0], cone_nodes[c, 1]
        hx = 0.5 * (nodes[ib, 0] - nodes[ia, 0])
        hy = 0.5 * (nodes[ib, 1] - nodes[ia, 1])
        hz = 0.5 * (nodes[ib, 2] - nodes[ia, 2])
        out[c, 0] = nodes[ia, 0] + hx
        out[c, 1] = nodes[ia, 1] + hy
        out[c, 2] = nodes[ia, 2] + hz
        out[c, 3] = np.sqrt(hx * hx + hy * hy + hz * hz) + max(cone_rad[c, 0], cone_rad[c, 1]) * scale


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
def _solve(h, b, damp, delta):
    """(H + D) δ = −b by Cholesky (H upper triangle filled); returns False when not positive definite."""
    n = NP
    a = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            a[i, j] = h[i, j]
            a[j, i] = h[i, j]
        a[i, i] += damp[i]
    low = np.zeros((n, n))
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        if s <= 0.0:
            return False
        low[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= low[i, k] * low[j, k]
            low[i, j] = s / low[j, j]
    y = np.empty(n)
    for i in range(n):
        s = -b[i]
        for k in range(i):
            s -= low[i, k] * y[k]
        y[i] = s / low[i, i]
    for i in range(n - 1, -1, -1):
        s = y[i]
        for k in range(i + 1, n):
            s -= low[k, i] * delta[k]
        delta[i] = s / low[i, i]
    return True


@njit(cache=True, fastmath=True)
def _rodrigues(wx, wy, wz, out):
    th = np.sqrt(wx * wx + wy * wy + wz * wz)
    out[:, :] = 0.0
    out[0, 0] = out[1, 1] = out[2, 2] = 1.0
    if th < 1e-12:
        return
    kx, ky, kz = wx / th, wy / th, wz / th
    s, c = np.sin(th), 1.0 - np.cos(th)
    out[0, 0] = 1.0 - c * (ky * ky + kz * kz)
    out[1, 1] = 1.0 - c * (kx * kx + kz * kz)
    out[2, 2] = 1.0 - c * (kx * kx + ky * ky)
    out[0, 1] = -s * kz + c * kx * ky
    out[1, 0] = s * kz + c * kx * ky
    out[0, 2] = s * ky + c * kx * kz
    out[2, 0] = -s * ky + c * kx * kz
    out[1, 2] = -s * kx + c * ky * kz
    out[2, 1] = s * kx + c * ky * kz


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
