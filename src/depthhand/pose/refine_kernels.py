"""numba model kernels of :mod:`depthhand.pose.refine` (imported lazily: importing this module imports numba).

The fitted model is the synthetic generator's sphere-mesh hand (:mod:`depthhand.synth.hand_model`,
``kinematics.forward_kinematics``) without its forearm: 30 *nodes* (the 21 canonical joints, the five fingertip
sphere centres and four palm points) and 27 round cones between them. Parameters ``x`` (:data:`NP` = 27): a
rotation increment (3, radians, composed on the left), the wrist translation (3, mm), the overall scale (1) and
the 20 hand articulations (degrees, ``Dof.THUMB_CMC_FLEX`` … ``Dof.PINKY_DIP``; the wrist DOF only move the forearm).

The start and the observation are :mod:`depthhand.pose.refine_start`, the fit :mod:`depthhand.pose.refine_solver`.
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
