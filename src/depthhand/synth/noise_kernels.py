"""Numba kernels behind :mod:`depthhand.synth.noise` (one fused pass per sensor family).

Randomness inside the kernels comes from a counter-based hash (the splitmix64 finaliser applied to
``seed + pixel index``), so a frame's noise depends only on the seed drawn from the caller's
``numpy.random.Generator``: the same generator state gives bit-identical frames, whatever the thread count.
One 64-bit hash yields four 16-bit draws; a 16-bit draw becomes a standard normal through a 65,536-entry table of
normal quantiles (exactly Gaussian up to ±4.2 σ, rescaled to unit variance), or a uniform in [0, 1).

Ideas: row-wise projector/second-camera occlusion sweep, 1/8-px disparity quantisation with sub-step Gaussian
disparity noise, edge and grazing dropout and ToF mixed pixels follow the published Kinect simulation recipes
(Barron & Malik; Handa et al. ICL-NUIM; Nguyen, Izadi & Lovell 2012; Fankhauser et al. 2015) as summarised in
``shared/reference/synthetic-hands.md`` §5; the code is written from those descriptions.

This module imports numba at import time; :mod:`depthhand.synth.noise` imports it only when noise is applied.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S16 = np.uint64(16)
_S32 = np.uint64(32)
_S48 = np.uint64(48)
_MASK16 = np.uint64(0xFFFF)
_MASK8 = np.uint64(0xFF)
_ONE = np.uint64(1)


@functools.cache
def normal_table() -> F32:
    """Standard-normal quantiles at the 65,536 bin midpoints, rescaled to unit variance, float32 (65536,)."""
    from scipy.special import ndtri

    p = (np.arange(65536, dtype=np.float64) + 0.5) / 65536.0
    q = ndtri(p)
    q /= np.sqrt(np.mean(q * q))
    return q.astype(np.float32)


def jitter_table(sigma_px: float) -> npt.NDArray[np.int64]:
    """Nearest-sample lateral offsets: round(σ·n) at 256 equiprobable normal quantiles, int64 (256,) px."""
    if sigma_px <= 0.0:
        return np.zeros(256, np.int64)
    from scipy.special import ndtri

    q = ndtri((np.arange(256, dtype=np.float64) + 0.5) / 256.0)
    return np.floor(sigma_px * q + 0.5).astype(np.int64)


@functools.cache
def angle_term_table(n: int = 2048) -> npt.NDArray[np.float64]:
    """Fankhauser's angle term θ²/(π/2 − θ)² sampled at cos²θ = i/n, i = 0..n, θ capped at 85°, float64 (n+1,)."""
    c2 = np.linspace(0.0, 1.0, n + 1)
    theta = np.arccos(np.sqrt(np.maximum(c2, math.cos(math.radians(85.0)) ** 2)))
    return np.asarray(theta**2 / (0.5 * np.pi - theta) ** 2, dtype=np.float64)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _hash(seed: np.uint64, counter: np.uint64) -> np.uint64:
    x = seed + counter * _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def occlusion_mask(depth_mm: F32, k_px_mm: float, side: int) -> U8:
    """Pixels hidden from a second viewpoint offset by the baseline along u (projector or right camera).

    Row sweep in the second view's coordinate ``u' = u - side * k / z`` (k = f·b in px·mm): walking away from the
    second viewpoint's side, a pixel whose ``u'`` lies beyond the running extreme is occluded by a closer pixel.

    Args:
        depth_mm: Clean depth (H, W), mm, 0 = no surface (never occludes).
        k_px_mm: Focal length times baseline, px·mm.
        side: +1 when the second viewpoint sits at +u (shadows fall left of foreground edges), -1 for -u.

    Returns:
        uint8 (H, W), 1 = occluded.
    """
    h, w = depth_mm.shape
    mask = np.zeros((h, w), dtype=np.uint8)
    for v in range(h):
        if side > 0:
            run = np.inf
            for u in range(w - 1, -1, -1):
                z = depth_mm[v, u]
                if z <= 0.0:
                    continue
                up = u - k_px_mm / z
                if up > run:
                    mask[v, u] = 1
                else:
                    run = up
        else:
            run = -np.inf
            for u in range(w):
                z = depth_mm[v, u]
                if z <= 0.0:
                    continue
                up = u + k_px_mm / z
                if up < run:
                    mask[v, u] = 1
                else:
                    run = up
    return mask


def window_min_max(depth_mm: F32, radius_px: int) -> tuple[F32, F32]:
    """Min and max valid depth over the (2r+1)² window of every pixel (cv2 morphology, separable and fast).

    Args:
        depth_mm: Depth (H, W), mm, 0 = invalid (ignored by both).
        radius_px: Window radius r, px.

    Returns:
        ``(zmin, zmax)``, float32 (H, W) mm; ``zmin`` is 1e9 where the window holds no valid pixel.
    """
    import cv2

    kernel = np.ones((2 * radius_px + 1, 2 * radius_px + 1), np.uint8)
    big = np.where(depth_mm > 0, depth_mm, np.float32(1e9)).astype(np.float32)
    zmin = np.asarray(cv2.erode(big, kernel), dtype=np.float32)
    zmax = np.asarray(cv2.dilate(depth_mm, kernel), dtype=np.float32)
    return zmin, zmax


def label_edges(labels: npt.NDArray[np.integer], radius_px: int) -> U8:
    """uint8 (H, W): 1 where the (2r+1)² window holds more than one label."""
    import cv2

    kernel = np.ones((2 * radius_px + 1, 2 * radius_px + 1), np.uint8)
    lab = labels.astype(np.float32)
    edges: U8 = (cv2.dilate(lab, kernel) != cv2.erode(lab, kernel)).astype(np.uint8)
    return edges


@numba.njit(cache=True, nogil=True, error_model="numpy")
def cos2_incidence(depth_mm: F32, intr: npt.NDArray[np.float64]) -> F32:
    """Squared cosine between each pixel's viewing ray and the surface normal of the clean depth.

    Per axis the one-sided difference of smaller magnitude, so a pixel beside a depth discontinuity takes the
    slope of its own surface (a steep but continuous surface still grazes; an occluding edge does not count as a
    grazing surface); 1.0 on the image border and where a 4-neighbour is invalid. With the ray
    ``r = (rx, ry, 1)``, ``P = z r`` and depth gradients ``a = fx ∂z/∂u``, ``b = fy ∂z/∂v``, the normal
    ``∂P/∂u × ∂P/∂v`` is parallel to ``(-a, -b, a rx + b ry + z)`` and its dot product with ``r`` is ``z``.

    Args:
        depth_mm: Clean depth (H, W), mm.
        intr: float64 [fx, fy, cx, cy].

    Returns:
        cos²θ, float32 (H, W).
    """
    h, w = depth_mm.shape
    fx, fy, cx, cy = intr[0], intr[1], intr[2], intr[3]
    out = np.ones((h, w), dtype=np.float32)
    rx = ((np.arange(w) - cx) / fx).astype(np.float32)
    for v in range(1, h - 1):
        ry = np.float32((v - cy) / fy)
        for u in range(1, w - 1):
            zl = depth_mm[v, u - 1]
            zr = depth_mm[v, u + 1]
            zt = depth_mm[v - 1, u]
            zb = depth_mm[v + 1, u]
            z = depth_mm[v, u]
            dl, dr, dt, db = z - zl, zr - z, z - zt, zb - z
            a = np.float32(fx) * (dl if abs(dl) < abs(dr) else dr)
            b = np.float32(fy) * (dt if abs(dt) < abs(db) else db)
            c = a * rx[u] + b * ry + z
            den = (a * a + b * b + c * c) * (rx[u] * rx[u] + ry * ry + np.float32(1.0))
            ok = (zl > 0) & (zr > 0) & (zt > 0) & (zb > 0) & (den > 0)
            out[v, u] = z * z / den if ok else np.float32(1.0)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def keep_map(
    depth_mm: F32,
    zmin: F32,
    zmax: F32,
    edge_extra: U8,
    occluded: U8,
    cos2: F32,
    edge_jump_mm: float,
    edge_jump_rel: float,
    edge_dropout_prob: float,
    cos_start: float,
    cos_end: float,
    pixel_dropout_prob: float,
) -> tuple[F32, U8]:
    """Per-pixel probability that a measurement survives, and the edge flag (branch-free, vectorised pass).

    ``keep = (1 - p_pixel) · (0 if occluded) · (1 - p_edge if edge else 1) · (1 - p_grazing)``. A pixel is an edge when
    its window's valid depth spans more than ``max(edge_jump_mm, edge_jump_rel · z)`` or ``edge_extra`` is set.
    Grazing dropout is 0 above ``cos_start``, 1 below ``cos_end`` and linear in cos θ in between (over 70–85° cos θ
    is within 2 % of linear in θ, i.e. the reference's angle ramp).

    Args:
        depth_mm: Clean depth (H, W), mm.
        zmin: Window minimum of valid clean depth, (H, W) mm.
        zmax: Window maximum of valid clean depth, (H, W) mm.
        edge_extra: uint8 (H, W), 1 = edge whatever the depth jump (label change, stereo fattening band).
        occluded: uint8 (H, W), 1 = hidden from the projector / second camera.
        cos2: cos² of the incidence angle, (H, W).
        edge_jump_mm: Absolute jump threshold, mm.
        edge_jump_rel: Relative jump threshold (fraction of z).
        edge_dropout_prob: Dropout probability of edge pixels.
        cos_start: cos of the angle where grazing dropout starts (≥ 1.0: never).
        cos_end: cos of the angle where grazing dropout reaches 1.
        pixel_dropout_prob: Dropout probability of any pixel.

    Returns:
        ``(keep, edge)``: float32 (H, W) probabilities and uint8 (H, W) edge flags.
    """
    h, w = depth_mm.shape
    keep = np.empty((h, w), dtype=np.float32)
    edge = np.empty((h, w), dtype=np.uint8)
    base = np.float32(1.0 - pixel_dropout_prob)
    keep_edge = np.float32(1.0 - edge_dropout_prob)
    cs = np.float32(min(cos_start, 1.0))
    inv_span = np.float32(1.0 / max(cos_start - cos_end, 1e-6))
    jump = np.float32(edge_jump_mm)
    rel = np.float32(edge_jump_rel)
    for v in range(h):
        for u in range(w):
            z = depth_mm[v, u]
            is_edge = (edge_extra[v, u] != 0) | (zmax[v, u] - zmin[v, u] > max(jump, rel * z))
            graze = min(max((cs - np.sqrt(cos2[v, u])) * inv_span, np.float32(0.0)), np.float32(1.0))
            k = base * (keep_edge if is_edge else np.float32(1.0)) * (np.float32(1.0) - graze)
            keep[v, u] = np.float32(0.0) if occluded[v, u] != 0 else k
            edge[v, u] = 1 if is_edge else 0
    return keep, edge


@numba.njit(cache=True, nogil=True, error_model="numpy")
def disparity_kernel(
    source_mm: F32,
    keep: F32,
    table: F32,
    seed: np.uint64,
    k_px_mm: float,
    step_px: float,
    sigma_px: float,
    jitter_px: npt.NDArray[np.int64],
    min_mm: float,
    max_mm: float,
    unit_mm: float,
) -> F32:
    """Disparity-domain noise (structured light and active stereo), one fused pass.

    Per output pixel: nearest-sample lateral jitter picks the source pixel; it survives with probability
    ``keep[source]``; ``d = k / z + σ n`` is quantised to ``step_px``; ``z' = k / d``; range clip; optional
    rounding to ``unit_mm``.

    Args:
        source_mm: Depth that is sampled (the clean depth, or the fattened depth for stereo), (H, W) mm.
        keep: Survival probability per source pixel from :func:`keep_map`, (H, W).
        table: Normal quantile table from :func:`normal_table`.
        seed: Per-frame seed.
        k_px_mm: f·b, px·mm.
        step_px: Disparity quantisation step, px (0 = none).
        sigma_px: Disparity noise σ, px.
        jitter_px: int64 (256,) lateral offsets from :func:`jitter_table` (all zero = no jitter).
        min_mm: Minimum range, mm.
        max_mm: Maximum range, mm.
        unit_mm: Output rounding unit, mm (0 = none).

    Returns:
        Noisy depth float32 (H, W), mm, 0 = invalid.
    """
    h, w = source_mm.shape
    out = np.zeros((h, w), dtype=np.float32)
    inv_step = 1.0 / step_px if step_px > 0.0 else 0.0
    jitter = np.any(jitter_px != 0)
    for v in range(h):
        for u in range(w):
            bits = _hash(seed, np.uint64(v * w + u))
            su, sv = u, v
            if jitter:
                su = min(max(u + jitter_px[(bits >> _S16) & _MASK8], 0), w - 1)
                sv = min(max(v + jitter_px[(bits >> _S32) & _MASK8], 0), h - 1)
            z = source_mm[sv, su]
            if z <= 0.0 or float(bits >> _S48) * (1.0 / 65536.0) >= keep[sv, su]:
                continue
            d = k_px_mm / z + sigma_px * table[bits & _MASK16]
            if step_px > 0.0:
                d = math.floor(d * inv_step + 0.5) * step_px
            if d <= 0.0:
                continue
            zn = k_px_mm / d
            if unit_mm > 0.0:
                zn = math.floor(zn / unit_mm + 0.5) * unit_mm
            if zn < min_mm or zn > max_mm:
                continue
            out[v, u] = zn
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def tof_kernel(
    depth_mm: F32,
    zmin: F32,
    zmax: F32,
    keep: F32,
    edge: U8,
    cos2: F32,
    table: F32,
    seed: np.uint64,
    sigma_coeffs: npt.NDArray[np.float64],
    angle_lut: npt.NDArray[np.float64],
    sigma_scale: float,
    flying_prob: float,
    min_mm: float,
    max_mm: float,
    unit_mm: float,
) -> F32:
    """Time-of-flight noise, one fused pass.

    Per pixel: survival with probability ``keep``; at edges a mixed "flying" value uniformly between the window's
    nearest and farthest depth with probability ``flying_prob``; axial Gaussian noise σ(z, θ) (Fankhauser et al.
    2015, scaled); range clip.

    Args:
        depth_mm: Clean depth (H, W), mm.
        zmin: Min valid clean depth over each pixel's (2r+1)² window, (H, W) mm.
        zmax: Max valid clean depth over the same window, (H, W) mm.
        keep: Survival probability from :func:`keep_map` (edge dropout 0), (H, W).
        edge: uint8 (H, W) edge flags from :func:`keep_map`.
        cos2: cos² of the incidence angle from :func:`cos2_incidence`, (H, W).
        table: Normal quantile table from :func:`normal_table`.
        seed: Per-frame seed.
        sigma_coeffs: float64 [c0, c1, c2, c_angle]: σ = c0 + c1 z + c2 z² + c_angle z^1.5 θ²/(π/2-θ)² mm, z in m.
        angle_lut: θ²/(π/2-θ)² against cos²θ from :func:`angle_term_table`.
        sigma_scale: Factor on σ.
        flying_prob: Probability that an edge pixel becomes a mixed pixel.
        min_mm: Minimum range, mm.
        max_mm: Maximum range, mm.
        unit_mm: Output rounding unit, mm (0 = none).

    Returns:
        Noisy depth float32 (H, W), mm, 0 = invalid.
    """
    h, w = depth_mm.shape
    out = np.zeros((h, w), dtype=np.float32)
    c0, c1, c2, ca = sigma_coeffs[0], sigma_coeffs[1], sigma_coeffs[2], sigma_coeffs[3]
    n_lut = angle_lut.shape[0] - 1
    for v in range(h):
        for u in range(w):
            z = depth_mm[v, u]
            if z <= 0.0:
                continue
            bits = _hash(seed, np.uint64(v * w + u))
            if float((bits >> _S16) & _MASK16) * (1.0 / 65536.0) >= keep[v, u]:
                continue
            if edge[v, u] != 0 and float((bits >> _S32) & _MASK16) * (1.0 / 65536.0) < flying_prob:
                lo, hi = zmin[v, u], zmax[v, u]
                z = lo + float(bits >> _S48) * (1.0 / 65536.0) * (hi - lo)
            cos2_t = cos2[v, u]
            zm = z * 1e-3
            sigma = c0 + c1 * zm + c2 * zm * zm
            if ca != 0.0 and cos2_t < 1.0:
                x = max(cos2_t, 0.0) * n_lut
                i = min(int(x), n_lut - 1)
                angle = angle_lut[i] + (x - i) * (angle_lut[i + 1] - angle_lut[i])
                sigma += ca * zm * math.sqrt(zm) * angle
            zn = z + sigma_scale * sigma * table[bits & _MASK16]
            if unit_mm > 0.0:
                zn = math.floor(zn / unit_mm + 0.5) * unit_mm
            if zn < min_mm or zn > max_mm:
                continue
            out[v, u] = zn
    return out
