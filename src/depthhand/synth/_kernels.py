"""numba kernels of :mod:`depthhand.synth.raycast` (imported lazily: importing this module imports numba).

Functions compile on first call; ``cache=True`` keeps the machine code between processes.
"""

# mypy: ignore-errors
from __future__ import annotations

import numpy as np
from numba import njit

_FAR = 1e30


@njit(cache=True, fastmath=True, inline="always")
def sphere_hit(dx: float, dy: float, dd: float, x: float, y: float, z: float, r: float) -> float:
    b = dx * x + dy * y + z
    c = x * x + y * y + z * z - r * r
    disc = b * b - dd * c
    if disc < 0.0:
        return _FAR
    t = (b - np.sqrt(disc)) / dd
    return t if t > 0.0 else _FAR


@njit(cache=True, fastmath=True)
def box_hit(dx: float, dy: float, b: np.ndarray) -> float:
    tmin, tmax = -_FAR, _FAR
    for i in range(3):
        ux, uy, uz = b[3 + 3 * i], b[4 + 3 * i], b[5 + 3 * i]
        o = -(b[0] * ux + b[1] * uy + b[2] * uz)
        d = dx * ux + dy * uy + uz
        h = b[12 + i]
        if abs(d) < 1e-12:
            if o < -h or o > h:
                return _FAR
            continue
        t1, t2 = (-h - o) / d, (h - o) / d
        if t1 > t2:
            t1, t2 = t2, t1
        tmin, tmax = max(tmin, t1), min(tmax, t2)
        if tmin > tmax:
            return _FAR
    return tmin if tmin > 0.0 else _FAR


@njit(cache=True, fastmath=True)
def rect(fx, fy, cx, cy, w, h, x0, y0, z0, x1, y1, z1):
    """Pixel rectangle (u0, v0, u1, v1), end-exclusive, covering the projection of a 3-D box (mm)."""
    if z1 <= 1.0:
        return 0, 0, 0, 0
    if z0 <= 1.0:
        return 0, 0, w, h
    umin = fx * min(x0 / z0, x0 / z1) + cx
    umax = fx * max(x1 / z0, x1 / z1) + cx
    vmin = fy * min(y0 / z0, y0 / z1) + cy
    vmax = fy * max(y1 / z0, y1 / z1) + cy
    u0 = min(max(int(np.floor(umin)), 0), w)
    v0 = min(max(int(np.floor(vmin)), 0), h)
    u1 = max(min(int(np.ceil(umax)) + 1, w), u0)
    v1 = max(min(int(np.ceil(vmax)) + 1, h), v0)
    return u0, v0, u1, v1


@njit(cache=True, fastmath=True)
def render(fx, fy, cx, cy, spheres, stags, cones, ctags, boxes, btags, planes, ptags, zbuf, tag):
    h, w = zbuf.shape
    for j in range(h):
        dy = (j - cy) / fy
        for i in range(w):
            dx = (i - cx) / fx
            for p in range(planes.shape[0]):
                den = planes[p, 0] * dx + planes[p, 1] * dy + planes[p, 2]
                if abs(den) > 1e-12:
                    t = planes[p, 3] / den
                    if 0.0 < t < zbuf[j, i]:
                        zbuf[j, i] = t
                        tag[j, i] = ptags[p]
    for p in range(spheres.shape[0]):
        s = spheres[p]
        u0, v0, u1, v1 = rect(
            fx, fy, cx, cy, w, h, s[0] - s[3], s[1] - s[3], s[2] - s[3], s[0] + s[3], s[1] + s[3], s[2] + s[3]
        )
        for j in range(v0, v1):
            dy = (j - cy) / fy
            for i in range(u0, u1):
                dx = (i - cx) / fx
                t = sphere_hit(dx, dy, dx * dx + dy * dy + 1.0, s[0], s[1], s[2], s[3])
                if t < zbuf[j, i]:
                    zbuf[j, i] = t
                    tag[j, i] = stags[p]
    for p in range(cones.shape[0]):
        c = cones[p]
        lo0, lo1, lo2 = min(c[0] - c[3], c[4] - c[7]), min(c[1] - c[3], c[5] - c[7]), min(c[2] - c[3], c[6] - c[7])
        hi0, hi1, hi2 = max(c[0] + c[3], c[4] + c[7]), max(c[1] + c[3], c[5] + c[7]), max(c[2] + c[3], c[6] + c[7])
        u0, v0, u1, v1 = rect(fx, fy, cx, cy, w, h, lo0, lo1, lo2, hi0, hi1, hi2)
        if u1 <= u0 or v1 <= v0:
            continue
        # per-cone constants of the tangent frustum (see cone_hit)
        ax, ay, az = c[4] - c[0], c[5] - c[1], c[6] - c[2]
        length = np.sqrt(ax * ax + ay * ay + az * az)
        dr = c[3] - c[7]
        has_side = length > abs(dr) + 1e-9
        if has_side:
            ax, ay, az = ax / length, ay / length, az / length
            sin_a = dr / length
            cos_a = np.sqrt(1.0 - sin_a * sin_a)
            s1 = c[3] * sin_a
            s2 = length + c[7] * sin_a
            k = -sin_a / cos_a
            ca = c[0] * ax + c[1] * ay + c[2] * az
            b0 = c[3] * cos_a - k * (ca + s1)
            cc = c[0] * c[0] + c[1] * c[1] + c[2] * c[2] - ca * ca - b0 * b0
        for j in range(v0, v1):
            dy = (j - cy) / fy
            for i in range(u0, u1):
                dx = (i - cx) / fx
                dd = dx * dx + dy * dy + 1.0
                t = min(sphere_hit(dx, dy, dd, c[0], c[1], c[2], c[3]), sphere_hit(dx, dy, dd, c[4], c[5], c[6], c[7]))
                if has_side:
                    da = dx * ax + dy * ay + az
                    m = k * da
                    qa = dd - da * da - m * m
                    if abs(qa) > 1e-12:
                        qb = -2.0 * (dx * c[0] + dy * c[1] + c[2]) + 2.0 * da * ca - 2.0 * m * b0
                        disc = qb * qb - 4.0 * qa * cc
                        if disc >= 0.0:
                            sq = np.sqrt(disc)
                            for tt in ((-qb - sq) / (2.0 * qa), (-qb + sq) / (2.0 * qa)):
                                if 0.0 < tt < t:
                                    sa = tt * da - ca
                                    if s1 <= sa <= s2 and m * tt + b0 >= 0.0:
                                        t = tt
                if t < zbuf[j, i]:
                    zbuf[j, i] = t
                    tag[j, i] = ctags[p]
    for p in range(boxes.shape[0]):
        b = boxes[p]
        rad = np.sqrt(b[12] ** 2 + b[13] ** 2 + b[14] ** 2)
        u0, v0, u1, v1 = rect(
            fx, fy, cx, cy, w, h, b[0] - rad, b[1] - rad, b[2] - rad, b[0] + rad, b[1] + rad, b[2] + rad
        )
        for j in range(v0, v1):
            dy = (j - cy) / fy
            for i in range(u0, u1):
                dx = (i - cx) / fx
                t = box_hit(dx, dy, b)
                if t < zbuf[j, i]:
                    zbuf[j, i] = t
                    tag[j, i] = btags[p]


@njit(cache=True)
def finalize(zbuf, tag, max_depth, lut_part, lut_owner, depth, part, owner):
    """z-buffer → float32 depth (0 = miss), part and owner images via the tag lookup tables (index tag + 1)."""
    h, w = zbuf.shape
    for j in range(h):
        for i in range(w):
            z = zbuf[j, i]
            if z > max_depth:
                depth[j, i] = 0.0
                tag[j, i] = -1
            else:
                depth[j, i] = z
            t = tag[j, i] + 1
            part[j, i] = lut_part[t]
            owner[j, i] = lut_owner[t]
