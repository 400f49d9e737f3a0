"""Parameter sets of the depth-sensor noise models and their per-sample randomisation.

Defaults are the reference figures of ``shared/reference/synthetic-hands.md`` §5; :func:`sample_params` draws a
parameter set within documented ranges for domain randomisation. Used through :mod:`depthhand.synth.noise`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class SensorModel(enum.Enum):
    """Sensor families with a noise model."""

    STRUCTURED_LIGHT = "structured_light"
    ACTIVE_STEREO = "active_stereo"
    TOF = "tof"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class HoleParams:
    """Random holes (dark / specular patches, low-texture speckle) shared by all models.

    Attributes:
        density_per_mpx: Mean number of elliptic holes per million pixels (Poisson), so crops get proportionally
            fewer than full frames.
        radius_px: (min, max) semi-axis length of a hole, px, drawn uniformly.
        on_labels_frac: With ``labels`` given, the fraction of holes centred on labelled (> 0) pixels.
        pixel_dropout_prob: Probability that any single pixel is dropped.
    """

    density_per_mpx: float = 10.0
    radius_px: tuple[float, float] = (1.0, 5.0)
    on_labels_frac: float = 0.5
    pixel_dropout_prob: float = 0.001


@dataclass(frozen=True, slots=True)
class StructuredLightParams:
    """PrimeSense / Kinect v1 / Astra class structured light. Defaults: reference §5.1 and §5.4.

    Attributes:
        baseline_mm: Camera–projector baseline, mm (≈75).
        disparity_step_px: Disparity quantisation step, px (1/8).
        disparity_sigma_px: σ of the Gaussian disparity noise before quantisation, px (1/6 step).
        lateral_sigma_px: σ of the nearest-sample lateral jitter, px (0.5).
        projector_side: +1: projector at +u of the camera, shadows fall left of foreground edges; -1: the mirror.
        edge_dropout_prob: Probability of dropping a pixel whose clean 3×3 window jumps by more than the threshold.
        edge_jump_mm: Absolute jump threshold, mm.
        edge_jump_rel: Relative jump threshold (fraction of z); the larger threshold applies.
        grazing_start_deg: Incidence angle where grazing dropout starts (probability 0).
        grazing_end_deg: Incidence angle where grazing dropout reaches probability 1.
        min_range_mm: Nearest valid depth, mm.
        max_range_mm: Farthest valid depth, mm.
        output_unit_mm: Round output depth to this unit (e.g. 1.0 for OpenNI mm streams); 0 keeps exact values on
            the disparity grid.
        holes: Random holes.
    """

    baseline_mm: float = 75.0
    disparity_step_px: float = 0.125
    disparity_sigma_px: float = 0.125 / 6.0
    lateral_sigma_px: float = 0.5
    projector_side: int = 1
    edge_dropout_prob: float = 0.5
    edge_jump_mm: float = 10.0
    edge_jump_rel: float = 0.03
    grazing_start_deg: float = 70.0
    grazing_end_deg: float = 85.0
    min_range_mm: float = 350.0
    max_range_mm: float = 4000.0
    output_unit_mm: float = 0.0
    holes: HoleParams = HoleParams()

    @property
    def model(self) -> SensorModel:
        """The sensor family."""
        return SensorModel.STRUCTURED_LIGHT


@dataclass(frozen=True, slots=True)
class ActiveStereoParams:
    """RealSense D4xx active stereo. Defaults: D435 figures from reference §5.2.

    Attributes:
        baseline_mm: Stereo baseline, mm (D435 50, D415 55).
        disparity_sigma_px: Subpixel matching error σ, px (≈0.08 in good texture).
        disparity_step_px: Disparity quantisation, px (1/32 assumed; far below σ, so it barely matters).
        lateral_sigma_px: σ of the nearest-sample lateral jitter, px.
        occlusion_side: +1: the matching camera sits at +u of the reference (left) camera, invalid bands fall
            left of foreground edges; -1: the mirror.
        fatten_px: Foreground edges grow by this many pixels into the background (block-matching window).
        edge_invalid_prob: Probability that a pixel in the edge/fattened band is invalid.
        edge_jump_mm: Absolute jump threshold for edges, mm.
        edge_jump_rel: Relative jump threshold (fraction of z).
        grazing_start_deg: Incidence angle where grazing dropout starts.
        grazing_end_deg: Incidence angle where grazing dropout reaches 1.
        min_range_mm: Nearest valid depth (D435 at 848×480 ≈ 280 mm), mm.
        max_range_mm: Farthest valid depth, mm.
        output_unit_mm: Output rounding unit, mm (0 = none).
        holes: Speckle holes (low texture).
    """

    baseline_mm: float = 50.0
    disparity_sigma_px: float = 0.08
    disparity_step_px: float = 1.0 / 32.0
    lateral_sigma_px: float = 0.0
    occlusion_side: int = 1
    fatten_px: int = 2
    edge_invalid_prob: float = 0.3
    edge_jump_mm: float = 10.0
    edge_jump_rel: float = 0.03
    grazing_start_deg: float = 75.0
    grazing_end_deg: float = 88.0
    min_range_mm: float = 280.0
    max_range_mm: float = 4000.0
    output_unit_mm: float = 0.0
    holes: HoleParams = HoleParams(density_per_mpx=20.0, radius_px=(1.0, 4.0), pixel_dropout_prob=0.003)

    @property
    def model(self) -> SensorModel:
        """The sensor family."""
        return SensorModel.ACTIVE_STEREO


@dataclass(frozen=True, slots=True)
class TofParams:
    """Time of flight. Defaults: Fankhauser et al. 2015 (Kinect v2) axial noise, reference §5.3.

    Attributes:
        sigma_coeffs: (c0, c1, c2, c_angle) of σ = c0 + c1·z + c2·z² + c_angle·z^1.5·θ²/(π/2 − θ)² mm, z in m.
        sigma_scale: Factor on σ (close-range ToF is noisier than Kinect v2).
        flying_prob: Probability that a pixel at a depth edge becomes a mixed ("flying") pixel.
        flying_radius_px: Window radius for edges and mixing, px (1 → 3×3, streaks of ≈1–2 px per side).
        edge_jump_mm: Absolute jump threshold for edges, mm.
        edge_jump_rel: Relative jump threshold (fraction of z).
        grazing_start_deg: Incidence angle where grazing dropout starts.
        grazing_end_deg: Incidence angle where grazing dropout reaches 1.
        min_range_mm: Nearest valid depth (close-range ToF ≈150, Kinect v2 500), mm.
        max_range_mm: Farthest valid depth, mm.
        output_unit_mm: Output rounding unit, mm (0 = none).
        holes: Random holes (dark / low-amplitude patches).
    """

    sigma_coeffs: tuple[float, float, float, float] = (1.5, -0.5, 0.3, 0.1)
    sigma_scale: float = 1.0
    flying_prob: float = 0.7
    flying_radius_px: int = 1
    edge_jump_mm: float = 10.0
    edge_jump_rel: float = 0.03
    grazing_start_deg: float = 75.0
    grazing_end_deg: float = 88.0
    min_range_mm: float = 150.0
    max_range_mm: float = 4500.0
    output_unit_mm: float = 0.0
    holes: HoleParams = HoleParams(density_per_mpx=5.0)

    @property
    def model(self) -> SensorModel:
        """The sensor family."""
        return SensorModel.TOF


@dataclass(frozen=True, slots=True)
class NoNoiseParams:
    """No noise: :func:`apply_noise` returns a copy."""

    @property
    def model(self) -> SensorModel:
        """The sensor family."""
        return SensorModel.NONE


NoiseParams = StructuredLightParams | ActiveStereoParams | TofParams | NoNoiseParams


def as_model(model: SensorModel | str) -> SensorModel:
    """The :class:`SensorModel` named by ``model``; ValueError listing the names otherwise."""
    try:
        return SensorModel(model)
    except ValueError:
        names = ", ".join(m.value for m in SensorModel)
        raise ValueError(f"sensor model must be one of {names}, got {model!r}") from None


def default_params(model: SensorModel | str) -> NoiseParams:
    """The reference-figure defaults of ``model`` (no randomisation)."""
    m = as_model(model)
    if m is SensorModel.STRUCTURED_LIGHT:
        return StructuredLightParams()
    if m is SensorModel.ACTIVE_STEREO:
        return ActiveStereoParams()
    if m is SensorModel.TOF:
        return TofParams()
    return NoNoiseParams()


def sample_params(model: SensorModel | str, rng: np.random.Generator) -> NoiseParams:
    """Randomise the parameters of ``model`` for one sample (domain randomisation).

    Ranges (uniform unless stated; reference §5.4 plus the widening noted):

    * structured light: baseline 55–80 mm; disparity σ 0.1–0.6 step (the reference suggests 0.1–0.3; the upper
      end reaches Nguyen et al.'s measured σ_z ≈ 1.9 mm at 1 m); lateral σ 0.3–0.8 px; projector side ±1
      (50/50); edge dropout 0.2–0.8; holes 0–30 per Mpx of radius 1–6 px; pixel dropout 0–0.003; min range
      300–400 mm; max range 1400–4000 mm.
    * active stereo: baseline 50–55 mm; subpixel σ 0.05–0.15 px; fattening 0–3 px; edge invalid 0.1–0.5; speckle
      holes 0–60 per Mpx of radius 1–4 px; pixel dropout 0–0.01; min range 200–300 mm; max 2000–4000 mm.
    * ToF: σ scale 0.8–2.0; flying probability 0.3–1.0; window radius 1 or 2 px; holes 0–15 per Mpx; pixel
      dropout 0–0.003; min range 100–200 mm; max 1000–4500 mm.

    Args:
        model: Sensor family (enum or its name).
        rng: Random generator.

    Returns:
        A parameter set; ``NoNoiseParams`` for ``none``.

    Raises:
        ValueError: If ``model`` is not a known sensor family.
    """
    m = as_model(model)

    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    if m is SensorModel.STRUCTURED_LIGHT:
        step = 0.125
        return StructuredLightParams(
            baseline_mm=u(55.0, 80.0),
            disparity_step_px=step,
            disparity_sigma_px=step * u(0.1, 0.6),
            lateral_sigma_px=u(0.3, 0.8),
            projector_side=1 if rng.random() < 0.5 else -1,
            edge_dropout_prob=u(0.2, 0.8),
            min_range_mm=u(300.0, 400.0),
            max_range_mm=u(1400.0, 4000.0),
            holes=HoleParams(density_per_mpx=u(0.0, 30.0), radius_px=(1.0, 6.0), pixel_dropout_prob=u(0.0, 0.003)),
        )
    if m is SensorModel.ACTIVE_STEREO:
        return ActiveStereoParams(
            baseline_mm=u(50.0, 55.0),
            disparity_sigma_px=u(0.05, 0.15),
            fatten_px=int(rng.integers(0, 4)),
            edge_invalid_prob=u(0.1, 0.5),
            min_range_mm=u(200.0, 300.0),
            max_range_mm=u(2000.0, 4000.0),
            holes=HoleParams(density_per_mpx=u(0.0, 60.0), radius_px=(1.0, 4.0), pixel_dropout_prob=u(0.0, 0.01)),
        )
    if m is SensorModel.TOF:
        return TofParams(
            sigma_scale=u(0.8, 2.0),
            flying_prob=u(0.3, 1.0),
            flying_radius_px=int(rng.integers(1, 3)),
            min_range_mm=u(100.0, 200.0),
            max_range_mm=u(1000.0, 4500.0),
            holes=HoleParams(density_per_mpx=u(0.0, 15.0), pixel_dropout_prob=u(0.0, 0.003)),
        )
    return NoNoiseParams()
