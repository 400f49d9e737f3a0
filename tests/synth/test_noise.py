"""Depth-sensor noise models against their analytic models and the reference figures (synthetic-hands.md §5).

σ_z definition used throughout: the standard deviation of all valid (non-zero) pixels of a fronto-parallel plane at
one true depth, i.e. the spread around the measured mean, which for the disparity models is the
quantisation-aware mean ``E[k / Q(k/z + σ n)]`` (checked separately against ``model_mean_z``). It is compared
with ``model_sigma_z``, which for the disparity models includes the quantisation (exact sum over disparity levels).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from depthhand.structures import CameraIntrinsics
from depthhand.synth.noise import (
    ActiveStereoParams,
    HoleParams,
    NoNoiseParams,
    SensorModel,
    StructuredLightParams,
    TofParams,
    apply_noise,
    default_params,
    model_mean_z,
    model_sigma_z,
    sample_params,
)

NO_HOLES = HoleParams(density_per_mpx=0.0, pixel_dropout_prob=0.0)
K580 = CameraIntrinsics(580.0, 580.0, 319.5, 239.5, 640, 480)
NYU = CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480)
MODELS = [SensorModel.STRUCTURED_LIGHT, SensorModel.ACTIVE_STEREO, SensorModel.TOF]


def plane(intrinsics: CameraIntrinsics, z_mm: float) -> np.ndarray:
    return np.full((intrinsics.height, intrinsics.width), z_mm, np.float32)


def box_scene(intrinsics: CameraIntrinsics, z_front: float, z_back: float) -> tuple[np.ndarray, slice, slice]:
    depth = plane(intrinsics, z_back)
    rows, cols = slice(200, 300), slice(300, 400)
    depth[rows, cols] = z_front
    return depth, rows, cols


def quiet(params):  # type: ignore[no-untyped-def]
    """Only the noise under test: no holes, no edge/pixel dropout, no jitter."""
    if isinstance(params, StructuredLightParams):
        return replace(params, holes=NO_HOLES, edge_dropout_prob=0.0, lateral_sigma_px=0.0)
    if isinstance(params, ActiveStereoParams):
        return replace(params, holes=NO_HOLES, edge_invalid_prob=0.0, fatten_px=0)
    return replace(params, holes=NO_HOLES, flying_prob=0.0)


# --- σ_z against the model -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("intrinsics", [K580, NYU], ids=["f580", "nyu"])
@pytest.mark.parametrize("z_mm", [500.0, 1000.0])
def test_sigma_z_matches_model_defaults(model: SensorModel, intrinsics: CameraIntrinsics, z_mm: float) -> None:
    params = default_params(model)
    noisy = apply_noise(plane(intrinsics, z_mm), intrinsics, np.random.default_rng(7), params)
    valid = noisy[noisy > 0].astype(np.float64)
    assert valid.size > 0.9 * noisy.size
    expected = model_sigma_z(model, params, z_mm, fx=intrinsics.fx)
    measured = float(valid.std())
    assert measured == pytest.approx(expected, rel=0.2, abs=1e-3)
    # The mean is the quantisation-aware one (within 4 standard errors + float32 rounding).
    se = expected / math.sqrt(valid.size)
    assert float(valid.mean()) == pytest.approx(model_mean_z(params, z_mm, intrinsics.fx), abs=4 * se + 1e-3)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigma_z_matches_model_sampled_params(model: SensorModel, seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = quiet(sample_params(model, rng))
    for z_mm in (500.0, 1000.0):
        noisy = apply_noise(plane(NYU, z_mm), NYU, rng, params)
        valid = noisy[noisy > 0].astype(np.float64)
        expected = model_sigma_z(model, params, z_mm, fx=NYU.fx)
        assert float(valid.std()) == pytest.approx(expected, rel=0.2, abs=1e-3)


def test_structured_light_sigma_grows_as_z_squared_without_quantisation() -> None:
    params = quiet(replace(StructuredLightParams(), disparity_step_px=0.0, disparity_sigma_px=0.05))
    k = NYU.fx * params.baseline_mm
    sigmas = {}
    for z_mm in (500.0, 1000.0):
        noisy = apply_noise(plane(NYU, z_mm), NYU, np.random.default_rng(3), params)
        sigmas[z_mm] = float(noisy[noisy > 0].std())
        assert sigmas[z_mm] == pytest.approx(z_mm**2 * 0.05 / k, rel=0.05)  # σ_z = z² σ_d / (f b)
    assert sigmas[1000.0] / sigmas[500.0] == pytest.approx(4.0, rel=0.05)


def test_model_sigma_reference_figures() -> None:
    # Active stereo, D435 (f 447 px, b 50 mm, 0.08 px): 0.9 mm @ 0.5 m, 3.6 mm @ 1 m (reference §5.2).
    d435 = ActiveStereoParams()
    assert model_sigma_z("active_stereo", d435, 500.0, fx=447.0) == pytest.approx(0.9, rel=0.03)
    assert model_sigma_z("active_stereo", d435, 1000.0, fx=447.0) == pytest.approx(3.6, rel=0.03)
    # D415 (f 1005, b 55): 0.36 mm @ 0.5 m, 1.45 mm @ 1 m.
    d415 = replace(d435, baseline_mm=55.0)
    assert model_sigma_z("active_stereo", d415, 500.0, fx=1005.0) == pytest.approx(0.36, rel=0.05)
    assert model_sigma_z("active_stereo", d415, 1000.0, fx=1005.0) == pytest.approx(1.45, rel=0.05)
    # ToF (Fankhauser): ≈1.3 mm at 0.5–1 m, 1.7 mm at 2 m, fronto-parallel.
    tof = TofParams()
    for z_mm, sigma in ((500.0, 1.3), (1000.0, 1.3), (2000.0, 1.7)):
        assert model_sigma_z("tof", tof, z_mm) == pytest.approx(sigma, abs=0.05)
    assert model_sigma_z("tof", tof, 1000.0, incidence_deg=60.0) > model_sigma_z("tof", tof, 1000.0)
    # Structured light, σ_d ≫ step: Sheppard's correction σ² + Δ²/12 on average over sub-step offsets.
    sl = StructuredLightParams(disparity_sigma_px=0.2)
    k = 580.0 * 75.0
    zs = np.linspace(950.0, 1050.0, 41)
    mean_sigma = np.mean([model_sigma_z("structured_light", sl, z, fx=580.0) / z**2 for z in zs])
    assert mean_sigma * k == pytest.approx(math.sqrt(0.2**2 + 0.125**2 / 12), rel=0.02)
    assert model_sigma_z("none", NoNoiseParams(), 800.0) == 0.0
    with pytest.raises(ValueError, match="does not match"):
        model_sigma_z("tof", sl, 500.0)


def test_tof_tilted_plane_sigma_includes_angle_term() -> None:
    # Plane through (0, 0, 800) tilted 60° about the y axis: σ on the central column follows the angle term.
    k = NYU
    theta = math.radians(60.0)
    u = (np.arange(k.width) - k.cx) / k.fx
    depth = np.broadcast_to(800.0 / (1.0 + np.tan(theta) * u), (k.height, k.width)).astype(np.float32)
    params = quiet(TofParams())
    noisy = apply_noise(depth, k, np.random.default_rng(0), params)
    cols = slice(int(k.cx) - 2, int(k.cx) + 3)
    resid = (noisy[:, cols] - depth[:, cols]).astype(np.float64)
    # Incidence varies slightly with v along the column; compare with the model at the centre ray.
    assert float(resid.std()) == pytest.approx(model_sigma_z("tof", params, 800.0, incidence_deg=60.0), rel=0.2)


# --- quantisation -------------------------------------------------------------------------------------------


def test_structured_light_depths_lie_on_disparity_grid() -> None:
    k = K580
    ramp = np.linspace(450.0, 1500.0, k.width, dtype=np.float32)
    depth = np.broadcast_to(ramp, (k.height, k.width)).copy()
    params = StructuredLightParams()
    noisy = apply_noise(depth, k, np.random.default_rng(0), params)
    z = noisy[noisy > 0].astype(np.float64)
    levels = k.fx * params.baseline_mm / z / params.disparity_step_px
    assert np.abs(levels - np.round(levels)).max() < 2e-3
    # Steps between occupied levels match Δz = z² / (8 f b): 0.72 mm @ 0.5 m, 2.87 mm @ 1 m (reference §5.1).
    for z_mm, step in ((500.0, 0.72), (1000.0, 2.87)):
        near = np.unique(np.round(z[np.abs(z - z_mm) < 15.0], 3))
        gaps = np.diff(near)
        assert np.median(gaps) == pytest.approx(step, abs=0.02)


# --- shadows / occlusion bands ----------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [1, -1])
def test_projector_shadow_side_and_width(side: int) -> None:
    z_front, z_back = 600.0, 1000.0
    depth, rows, cols = box_scene(K580, z_front, z_back)
    params = replace(quiet(StructuredLightParams()), projector_side=side, disparity_sigma_px=0.0)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    width = K580.fx * params.baseline_mm * (1 / z_front - 1 / z_back)  # 29 px
    for v in range(rows.start, rows.stop, 7):
        row = noisy[v]
        invalid = np.flatnonzero(row == 0)
        if side > 0:
            assert invalid.max() == cols.start - 1
            assert np.all(invalid < cols.start)
        else:
            assert invalid.min() == cols.stop
            assert np.all(invalid >= cols.stop)
        assert np.all(np.diff(invalid) == 1)  # one contiguous band
        assert abs(invalid.size - width) <= 1.0 + 1e-6  # pixel centres: the band holds ceil(w) - 1 or so
    assert np.all(noisy[: rows.start - 1] > 0) and np.all(noisy[rows.stop + 1 :] > 0)


def test_stereo_occlusion_band_left_of_foreground() -> None:
    z_front, z_back = 500.0, 800.0
    depth, rows, cols = box_scene(K580, z_front, z_back)
    params = replace(quiet(ActiveStereoParams()), disparity_sigma_px=0.0)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    width = K580.fx * params.baseline_mm * (1 / z_front - 1 / z_back)  # 21.75 px
    band = noisy[rows, : cols.start] == 0
    assert np.all(band.sum(axis=1) >= math.floor(width) - 1) and np.all(band.sum(axis=1) <= math.ceil(width))
    assert np.all(noisy[rows, cols.stop :] > 0)


def test_stereo_fattening_grows_foreground() -> None:
    depth, rows, cols = box_scene(K580, 500.0, 800.0)
    params = replace(quiet(ActiveStereoParams()), fatten_px=3, occlusion_side=-1)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    # Left of the box there is no occlusion band now (side -1): 3 px of background take foreground depth.
    strip = noisy[rows.start + 5 : rows.stop - 5, cols.start - 3 : cols.start]
    assert np.all(np.abs(strip - 500.0) < 10.0)
    assert np.all(np.abs(noisy[rows.start + 5 : rows.stop - 5, cols.start - 4] - 800.0) < 20.0)


# --- edges, flying pixels, grazing, labels -------------------------------------------------------------------


@pytest.mark.parametrize("radius", [1, 2])
def test_tof_flying_pixels_only_near_edges(radius: int) -> None:
    depth, _, _ = box_scene(K580, 600.0, 1000.0)
    params = replace(quiet(TofParams()), flying_prob=1.0, flying_radius_px=radius)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    size = 2 * radius + 1
    jump = ndimage.maximum_filter(depth, size) - ndimage.minimum_filter(depth, size)
    near_edge = jump > 10.0
    far_off = np.abs(noisy - depth) > 8 * model_sigma_z("tof", params, 1000.0)
    assert far_off.sum() > 100
    assert not np.any(far_off & ~near_edge)
    mixed = noisy[far_off]
    assert mixed.min() > 600.0 - 10 and mixed.max() < 1000.0 + 10
    # Mixed values spread between the surfaces, not just the two depths.
    assert np.mean((mixed > 650) & (mixed < 950)) > 0.5


def test_structured_light_edge_dropout_only_at_edges() -> None:
    depth, _, _ = box_scene(K580, 600.0, 1000.0)
    params = replace(quiet(StructuredLightParams()), edge_dropout_prob=1.0, projector_side=-1)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    jump = ndimage.maximum_filter(depth, 3) - ndimage.minimum_filter(depth, 3)
    edge = jump > 10.0
    shadow = np.zeros_like(edge)
    shadow[200:300, 400:430] = True
    assert np.all(noisy[edge] == 0)
    assert np.all(noisy[~edge & ~shadow] > 0)


def test_labels_make_edges_and_attract_holes() -> None:
    depth = plane(K580, 700.0)
    labels = np.zeros(depth.shape, np.int32)
    labels[100:200, 100:200] = 3
    params = replace(quiet(StructuredLightParams()), edge_dropout_prob=1.0)
    without = apply_noise(depth, K580, np.random.default_rng(0), params)
    with_labels = apply_noise(depth, K580, np.random.default_rng(0), params, labels)
    assert np.all(without > 0)
    boundary = ndimage.maximum_filter(labels, 3) != ndimage.minimum_filter(labels, 3)
    assert np.all(with_labels[boundary] == 0) and np.all(with_labels[~boundary] > 0)
    holes = HoleParams(density_per_mpx=200.0, radius_px=(2.0, 2.0), on_labels_frac=1.0, pixel_dropout_prob=0.0)
    holed = apply_noise(depth, K580, np.random.default_rng(0), replace(quiet(StructuredLightParams()), holes=holes))
    holed_lab = apply_noise(
        depth, K580, np.random.default_rng(0), replace(quiet(StructuredLightParams()), holes=holes), labels
    )
    assert np.sum(holed == 0) > 0
    near_labels = ndimage.binary_dilation(labels > 0, iterations=3)
    assert np.all(near_labels[holed_lab == 0])


def test_grazing_dropout_follows_incidence_ramp() -> None:
    k = NYU
    theta = math.radians(78.0)
    u = (np.arange(k.width) - k.cx) / k.fx
    v = (np.arange(k.height) - k.cy) / k.fy
    denom = 1.0 + np.tan(theta) * u
    row = np.where(denom > 0.3, 800.0 / np.maximum(denom, 0.3), 0.0)
    depth = np.broadcast_to(row, (k.height, k.width)).astype(np.float32)
    params = replace(quiet(StructuredLightParams()), projector_side=-1, disparity_sigma_px=0.0, max_range_mm=1e5)
    noisy = apply_noise(depth, k, np.random.default_rng(0), params)
    # Analytic incidence from the plane normal (sin θ, 0, cos θ) and each pixel's ray.
    normal = np.array([math.sin(theta), 0.0, math.cos(theta)])
    ru, rv = np.meshgrid(u, v)
    cos_inc = np.abs(normal[0] * ru + normal[2]) / np.sqrt(ru**2 + rv**2 + 1)
    cs, ce = math.cos(math.radians(70.0)), math.cos(math.radians(85.0))
    p_drop = np.clip((cs - cos_inc) / (cs - ce), 0.0, 1.0)
    window = (slice(100, 380), slice(250, 390))
    assert float(np.mean(noisy[window] == 0)) == pytest.approx(float(p_drop[window].mean()), abs=0.03)
    assert float(p_drop[window].mean()) > 0.2


# --- range limits, crops, determinism, validation ---------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_range_limits(model: SensorModel) -> None:
    # 16 fronto-parallel strips 40 px wide from 100 mm to 6 m, increasing to the right (no shadows with side +1).
    ramp = np.repeat(np.geomspace(100.0, 6000.0, 16), 40).astype(np.float32)
    depth = np.broadcast_to(ramp, (K580.height, K580.width)).copy()
    params = default_params(model)
    noisy = apply_noise(depth, K580, np.random.default_rng(0), params)
    lo, hi = params.min_range_mm, params.max_range_mm  # type: ignore[union-attr]
    valid = noisy > 0
    assert np.all((noisy[valid] >= lo) & (noisy[valid] <= hi))
    # Away from strip edges (where jitter, fattening and mixed pixels legitimately borrow a neighbour's depth).
    interior = np.zeros(K580.width, bool)
    for start in range(0, K580.width, 40):
        interior[start + 3 : start + 37] = True
    out_of_range = (ramp < 0.9 * lo) | (ramp > 1.1 * hi)
    assert not np.any(valid[:, interior & out_of_range])
    in_range = interior & (ramp > 1.1 * lo) & (ramp < 0.9 * hi)
    assert in_range.sum() >= 5 * 34
    assert np.mean(valid[:, in_range]) > 0.95


@pytest.mark.parametrize("model", [*MODELS, SensorModel.NONE])
def test_deterministic_and_pure(model: SensorModel) -> None:
    depth, _, _ = box_scene(K580, 600.0, 1000.0)
    before = depth.copy()
    params = sample_params(model, np.random.default_rng(11))
    a = apply_noise(depth, K580, np.random.default_rng(5), params)
    b = apply_noise(depth, K580, np.random.default_rng(5), params)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(depth, before)
    assert a.dtype == np.float32 and a.shape == depth.shape and a is not depth
    if model is SensorModel.NONE:
        np.testing.assert_array_equal(a, depth)
    else:
        assert not np.array_equal(a, apply_noise(depth, K580, np.random.default_rng(6), params))
    assert sample_params(model, np.random.default_rng(11)) == params


def test_crop_intrinsics() -> None:
    crop = CameraIntrinsics(580.0, 580.0, 47.5, 47.5, 96, 96)
    depth = np.full((96, 96), 900.0, np.float32)
    depth[30:70, 40:60] = 500.0
    for model in MODELS:
        noisy = apply_noise(depth, crop, np.random.default_rng(0), default_params(model))
        assert noisy.shape == (96, 96) and 0.5 < np.mean(noisy > 0) <= 1.0


def test_sample_params_ranges() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        sl = sample_params("structured_light", rng)
        assert isinstance(sl, StructuredLightParams)
        assert 55 <= sl.baseline_mm <= 80 and sl.projector_side in (1, -1)
        assert 0.1 * 0.125 <= sl.disparity_sigma_px <= 0.6 * 0.125
        st = sample_params(SensorModel.ACTIVE_STEREO, rng)
        assert isinstance(st, ActiveStereoParams) and 0 <= st.fatten_px <= 3
        tof = sample_params("tof", rng)
        assert isinstance(tof, TofParams) and tof.flying_radius_px in (1, 2)
        assert 100 <= tof.min_range_mm <= 200 < 1000 <= tof.max_range_mm <= 4500
    assert isinstance(sample_params("none", rng), NoNoiseParams)
    with pytest.raises(ValueError, match="sensor model must be one of"):
        sample_params("lidar", rng)


def test_bad_inputs_raise() -> None:
    rng = np.random.default_rng(0)
    params = StructuredLightParams()
    good = plane(K580, 800.0)
    with pytest.raises(ValueError, match="float32"):
        apply_noise(good.astype(np.float64), K580, rng, params)
    with pytest.raises(ValueError, match="float32"):
        apply_noise(np.stack([good, good]), K580, rng, params)
    with pytest.raises(ValueError, match="does not match"):
        apply_noise(good[:100], K580, rng, params)
    bad = good.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        apply_noise(bad, K580, rng, params)
    bad[3, 4] = -1.0
    with pytest.raises(ValueError, match="negative"):
        apply_noise(bad, K580, rng, params)
    with pytest.raises(ValueError, match="labels"):
        apply_noise(good, K580, rng, params, labels=np.zeros((10, 10), np.int32))
    with pytest.raises(ValueError, match="labels"):
        apply_noise(good, K580, rng, params, labels=np.zeros(good.shape, np.float32))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="parameter set"):
        apply_noise(good, K580, rng, object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="list"):
        apply_noise([[1.0]], K580, rng, params)  # type: ignore[arg-type]
