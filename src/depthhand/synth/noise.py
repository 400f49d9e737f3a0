"""Depth-sensor noise models for synthetic frames: structured light, active stereo, time of flight.

Each model turns a clean rendered depth map (float32 mm, 0 = no surface) into what a real sensor of that family
would report on the same pixel grid:

* ``structured_light`` (PrimeSense / Kinect v1 / Orbbec Astra class): projector shadows (row-wise occlusion sweep
  with the projector offset by the baseline along u), nearest-sample lateral jitter, edge and grazing-angle
  dropout, Gaussian disparity noise quantised to the 1/8-px disparity grid (so σ_z grows as z²), random holes,
  range clipping.
* ``active_stereo`` (RealSense D4xx): the same disparity pipeline with D4xx figures (b 50 mm, 0.08 px subpixel
  error), invalid occlusion bands left of foreground edges (left-camera reference), edge fattening, speckle
  holes.
* ``tof`` (Kinect v2, close-range ToF as in ICVL/MSRA): axial Gaussian noise σ(z, θ) after Fankhauser et al. 2015,
  flying (mixed) pixels at depth edges, grazing dropout, range clipping.
* ``none``: an unchanged copy.

Disparity uses the given intrinsics' ``fx`` and the parameter set's baseline: ``d = fx·b / z`` px. Figures and
recipes: ``shared/reference/synthetic-hands.md`` §5 (Nguyen, Izadi & Lovell 2012; Smisek et al. 2011;
Khoshelham & Elberink 2012; Barron & Malik / ICL-NUIM Kinect simulation; Intel D4xx depth-RMS formula;
Fankhauser et al. 2015). Re-implemented from those descriptions; no code copied.

Example:
    >>> import numpy as np
    >>> from depthhand.geometry.camera import INTRINSICS
    >>> from depthhand.synth.noise import SensorModel, apply_noise, sample_params
    >>> rng = np.random.default_rng(0)
    >>> params = sample_params(SensorModel.STRUCTURED_LIGHT, rng)
    >>> noisy = apply_noise(np.full((480, 640), 800.0, np.float32), INTRINSICS["nyu"], rng, params)
    >>> noisy.shape, noisy.dtype
    ((480, 640), dtype('float32'))
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics
from depthhand.synth.noise_params import (
    ActiveStereoParams,
    HoleParams,
    NoiseParams,
    NoNoiseParams,
    SensorModel,
    StructuredLightParams,
    TofParams,
    as_model,
    default_params,
    sample_params,
)

__all__ = [
    "ActiveStereoParams",
    "HoleParams",
    "NoNoiseParams",
    "NoiseParams",
    "SensorModel",
    "StructuredLightParams",
    "TofParams",
    "apply_noise",
    "default_params",
    "model_mean_z",
    "model_sigma_z",
    "render_noise_preview",
    "sample_params",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _quantised_moments(z_mm: float, k_px_mm: float, sigma_px: float, step_px: float) -> tuple[float, float]:
    """Exact mean and σ (mm) of ``k / Q(k/z + σ n)`` with Q rounding to ``step_px`` and n standard normal."""
    d = k_px_mm / z_mm
    if step_px <= 0.0:
        return z_mm, z_mm * z_mm * sigma_px / k_px_mm
    if sigma_px <= 0.0:
        zq = k_px_mm / (math.floor(d / step_px + 0.5) * step_px)
        return zq, 0.0
    span = math.ceil(9.0 * sigma_px / step_px) + 1
    centre = math.floor(d / step_px + 0.5)
    levels = np.arange(centre - span, centre + span + 1, dtype=np.float64) * step_px
    levels = levels[levels > 0]
    erf = np.vectorize(math.erf)
    cdf_hi = 0.5 * (1.0 + erf((levels + 0.5 * step_px - d) / (sigma_px * math.sqrt(2.0))))
    cdf_lo = 0.5 * (1.0 + erf((levels - 0.5 * step_px - d) / (sigma_px * math.sqrt(2.0))))
    p = cdf_hi - cdf_lo
    p /= p.sum()
    z_levels = k_px_mm / levels
    mean = float(np.sum(p * z_levels))
    return mean, float(np.sqrt(np.sum(p * (z_levels - mean) ** 2)))


def _disparity_terms(params: NoiseParams, fx: float) -> tuple[float, float, float]:
    if not isinstance(params, StructuredLightParams | ActiveStereoParams):
        raise TypeError(f"expected a disparity-based parameter set, got {type(params).__name__}")
    return fx * params.baseline_mm, params.disparity_sigma_px, params.disparity_step_px


def model_mean_z(params: NoiseParams, z_mm: float, fx: float) -> float:
    """Expected measured depth (mm) of a fronto-parallel surface at ``z_mm``, including disparity quantisation.

    For structured light and stereo this is the quantisation-aware mean ``E[k / Q(k/z + σ n)]`` (k = fx·b), which
    differs from ``z_mm`` by up to half a quantisation step; for ToF and ``none`` it is ``z_mm``.
    """
    if isinstance(params, StructuredLightParams | ActiveStereoParams):
        return _quantised_moments(z_mm, *_disparity_terms(params, fx))[0]
    return z_mm


def model_sigma_z(
    model: SensorModel | str, params: NoiseParams, z_mm: float, fx: float = 580.0, incidence_deg: float = 0.0
) -> float:
    """The axial depth σ (mm) the model is built to produce on a fronto-parallel (or tilted, ToF) surface.

    Definitions:

    * structured light / active stereo: the exact standard deviation of ``k / Q(k/z + σ_d n)`` with
      ``k = fx·baseline``, ``Q`` rounding to the disparity step and ``n ~ N(0, 1)``: Gaussian disparity noise
      followed by quantisation, i.e. σ_z ≈ z²·σ_d/(fx·b) when σ_d ≫ step and a value between 0 and about one
      depth step otherwise (it depends on where ``k/z`` falls between two disparity levels). With step 0 it is
      exactly ``z²·σ_d/(fx·b)``.
    * ToF: ``sigma_scale·(c0 + c1 z + c2 z² + c_angle z^1.5 θ²/(π/2 − θ)²)`` (z in m, θ the incidence angle).
    * none: 0.

    Args:
        model: Sensor family; must match ``params``.
        params: Parameter set.
        z_mm: True depth, mm (> 0).
        fx: Focal length, px, that defines disparity (the intrinsics' ``fx``).
        incidence_deg: Incidence angle θ for the ToF angle term, degrees in [0, 85].

    Returns:
        σ_z in mm.

    Raises:
        ValueError: If ``model`` does not match ``params`` or ``z_mm``/``fx`` are not positive.
    """
    m = as_model(model)
    if m is not params.model:
        raise ValueError(f"model {m.value!r} does not match parameters of {params.model.value!r}")
    if not (z_mm > 0 and fx > 0):
        raise ValueError(f"z_mm and fx must be positive, got z_mm={z_mm}, fx={fx}")
    if isinstance(params, StructuredLightParams | ActiveStereoParams):
        return _quantised_moments(z_mm, *_disparity_terms(params, fx))[1]
    if isinstance(params, TofParams):
        zm = z_mm * 1e-3
        theta = math.radians(min(max(incidence_deg, 0.0), 85.0))
        c0, c1, c2, ca = params.sigma_coeffs
        angle = theta * theta / (0.5 * math.pi - theta) ** 2
        return float(params.sigma_scale * (c0 + c1 * zm + c2 * zm * zm + ca * zm * math.sqrt(zm) * angle))
    return 0.0


def apply_noise(
    depth_mm: F32,
    intrinsics: CameraIntrinsics,
    rng: np.random.Generator,
    params: NoiseParams,
    labels: npt.NDArray[np.integer] | None = None,
) -> F32:
    """Apply a sensor noise model to a clean depth map.

    Args:
        depth_mm: Clean depth, float32 (H, W), mm, 0 = no surface; H, W must equal the intrinsics' height and
            width (for a crop, pass the crop's own intrinsics). Never modified.
        intrinsics: Camera intrinsics of ``depth_mm``; ``fx`` and the baseline define disparity.
        rng: Random generator; the same state gives the same output.
        params: Parameter set from :func:`sample_params` or :func:`default_params` (its type picks the model).
        labels: Optional integer part labels (H, W), 0 = background. Label changes count as depth edges (a finger
            touching the palm drops out or flies even with a small depth gap) and ``holes.on_labels_frac`` of the
            random holes are centred on labelled pixels.

    Returns:
        Noisy depth, new float32 (H, W) array, mm, 0 = invalid.

    Raises:
        ValueError: On a wrong dtype/shape, NaN/inf or negative depth, or labels of the wrong shape/dtype.
        TypeError: If ``params`` is not a noise parameter set.
    """
    depth = _validate(depth_mm, intrinsics, labels)
    if isinstance(params, NoNoiseParams):
        return depth.copy()
    if not isinstance(params, StructuredLightParams | ActiveStereoParams | TofParams):
        raise TypeError(f"params must be a noise parameter set, got {type(params).__name__}")
    from depthhand.synth import noise_kernels as nk

    seed = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
    intr = np.array([intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy], dtype=np.float64)
    cos_start = math.cos(math.radians(params.grazing_start_deg))
    cos_end = math.cos(math.radians(params.grazing_end_deg))
    table = nk.normal_table()
    radius = params.flying_radius_px if isinstance(params, TofParams) else 1
    zmin, zmax = nk.window_min_max(depth, radius)
    edge_extra = np.zeros(depth.shape, np.uint8) if labels is None else nk.label_edges(labels, radius)
    cos2 = nk.cos2_incidence(depth, intr)
    common = (params.edge_jump_mm, params.edge_jump_rel)
    grazing = (cos_start, cos_end, params.holes.pixel_dropout_prob)
    if isinstance(params, TofParams):
        no_occlusion = np.zeros(depth.shape, np.uint8)
        keep, edge = nk.keep_map(depth, zmin, zmax, edge_extra, no_occlusion, cos2, *common, 0.0, *grazing)
        out = nk.tof_kernel(
            depth, zmin, zmax, keep, edge, cos2, table, seed, np.asarray(params.sigma_coeffs, np.float64),
            nk.angle_term_table(), params.sigma_scale, params.flying_prob, params.min_range_mm, params.max_range_mm,
            params.output_unit_mm,
        )  # fmt: skip
    else:
        k_px_mm = intrinsics.fx * params.baseline_mm
        if isinstance(params, StructuredLightParams):
            side, edge_p, source = params.projector_side, params.edge_dropout_prob, depth
        else:
            side, edge_p = params.occlusion_side, params.edge_invalid_prob
            source, band = _fatten(depth, params.fatten_px, params.edge_jump_mm, params.edge_jump_rel)
            edge_extra |= band
        occluded = nk.occlusion_mask(depth, k_px_mm, side)
        keep, _ = nk.keep_map(depth, zmin, zmax, edge_extra, occluded, cos2, *common, edge_p, *grazing)
        out = nk.disparity_kernel(
            source, keep, table, seed, k_px_mm, params.disparity_step_px, params.disparity_sigma_px,
            nk.jitter_table(params.lateral_sigma_px), params.min_range_mm, params.max_range_mm, params.output_unit_mm,
        )  # fmt: skip
    return _punch_holes(out, rng, params.holes, labels)


def _validate(depth_mm: object, intrinsics: CameraIntrinsics, labels: object) -> F32:
    if not isinstance(intrinsics, CameraIntrinsics):
        raise TypeError(f"intrinsics must be a CameraIntrinsics, got {type(intrinsics).__name__}")
    if not isinstance(depth_mm, np.ndarray) or depth_mm.dtype != np.float32 or depth_mm.ndim != 2:
        desc = f"{depth_mm.shape} {depth_mm.dtype}" if isinstance(depth_mm, np.ndarray) else type(depth_mm).__name__
        raise ValueError(f"apply_noise: depth_mm must be a float32 (H, W) array in mm, got {desc}")
    expected = (intrinsics.height, intrinsics.width)
    if depth_mm.shape != expected:
        raise ValueError(f"apply_noise: depth_mm shape {depth_mm.shape} does not match the intrinsics' {expected}")
    if not np.isfinite(depth_mm).all():
        raise ValueError("apply_noise: depth_mm contains NaN or inf; use 0 for invalid pixels")
    if (depth_mm < 0).any():
        raise ValueError("apply_noise: depth_mm contains negative depths; use 0 for invalid pixels")
    if labels is not None and not (
        isinstance(labels, np.ndarray) and labels.shape == expected and np.issubdtype(labels.dtype, np.integer)
    ):
        desc = f"{labels.shape} {labels.dtype}" if isinstance(labels, np.ndarray) else type(labels).__name__
        raise ValueError(f"apply_noise: labels must be an integer {expected} array, got {desc}")
    return np.ascontiguousarray(depth_mm)


def _fatten(depth: F32, radius_px: int, jump_mm: float, jump_rel: float) -> tuple[F32, npt.NDArray[np.uint8]]:
    """Grow foreground surfaces by ``radius_px`` into farther pixels (stereo block-matching edge fattening).

    Returns:
        The fattened depth (H, W) mm and the uint8 band mask (1 where a pixel took a nearer neighbour's depth).
    """
    if radius_px <= 0:
        return depth, np.zeros(depth.shape, np.uint8)
    import cv2

    big = np.float32(1e9)
    nearest = cv2.erode(np.where(depth > 0, depth, big), np.ones((2 * radius_px + 1,) * 2, np.uint8))
    band = (depth > 0) & (nearest < depth - np.maximum(jump_mm, jump_rel * depth))
    return np.where(band, nearest, depth).astype(np.float32), band.astype(np.uint8)


def _punch_holes(out: F32, rng: np.random.Generator, holes: HoleParams, labels: npt.NDArray[np.integer] | None) -> F32:
    """Zero ``Poisson(density · H·W / 1e6)`` random ellipses in ``out`` (in place on the kernel's fresh array)."""
    h, w = out.shape
    n = int(rng.poisson(holes.density_per_mpx * h * w * 1e-6))
    if n == 0:
        return out
    import cv2

    mask = np.zeros((h, w), np.uint8)
    fg = np.flatnonzero(labels > 0) if labels is not None else np.empty(0, np.int64)
    for _ in range(n):
        if fg.size and rng.random() < holes.on_labels_frac:
            v, u = divmod(int(fg[rng.integers(fg.size)]), w)
        else:
            v, u = int(rng.integers(h)), int(rng.integers(w))
        axes = (max(1, round(rng.uniform(*holes.radius_px))), max(1, round(rng.uniform(*holes.radius_px))))
        cv2.ellipse(mask, (u, v), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    out[mask > 0] = 0.0
    return out


def render_noise_preview(path: str | Path, seed: int = 0) -> Path:
    """Render a sphere + box on a plane with every noise model and save a 2×N PNG grid (see ``noise_preview``)."""
    from depthhand.synth.noise_preview import render_preview

    return render_preview(Path(path), seed)
