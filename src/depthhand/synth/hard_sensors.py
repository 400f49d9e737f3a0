"""Sensor families of the hard synthetic scenes: intrinsics presets, noise models and the extra artefacts.

Each :class:`SensorFamily` names an intrinsics preset of :data:`depthhand.geometry.camera.INTRINSICS` and a noise
model of :mod:`depthhand.synth.noise` with the family's own figures (``shared/reference/synthetic-hands.md`` §5):

* structured light (Kinect v1 / Astra, f ≈ 570–590 px at 640×480, baseline 75 mm; their 320×240 modes);
* SR300 / SR305 (coded light, f ≈ 475, 1/8 mm depth unit): a fine disparity grid plus *spatially correlated* noise
  (a smooth random field of σ 0.4–1.2 mm with a correlation length of 6–16 px);
* active stereo (D415 b 55 mm, D435 b 50 mm; 640×480 and 848×480);
* time of flight (Kinect v2 512×424, Azure Kinect NFOV 640×576 and binned 320×288).

On top of the family's noise, :func:`apply_extras` adds what every real sensor shows and the base models only partly
cover: flying (mixed) pixels at depth edges for every family (ToF has its own, stronger ones), missing pixels on dark
surfaces (primitives marked dark in the scene: hair, dark objects, sleeves), a wider grazing-angle dropout on oblique
surfaces, and for SR30x the correlated field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SensorFamily:
    """One sensor mode of the hard scenes.

    Attributes:
        name: Family name (table rows).
        preset: Key of :data:`depthhand.geometry.camera.INTRINSICS`.
        model: Noise model name (``structured_light``, ``active_stereo``, ``tof``).
        baseline_mm: Baseline of a disparity model (None: the sampled value).
        min_range_mm: Nearest depth the mode measures.
        max_range_mm: Farthest depth the mode measures.
        correlated_sigma_mm: (lo, hi) σ of the spatially correlated depth field (0, 0 = none).
        flying_prob: (lo, hi) probability that an edge pixel becomes a mixed pixel (extra to the model's own).
    """

    name: str
    preset: str
    model: str
    baseline_mm: float | None = None
    min_range_mm: float = 200.0
    max_range_mm: float = 4000.0
    correlated_sigma_mm: tuple[float, float] = (0.0, 0.0)
    flying_prob: tuple[float, float] = (0.02, 0.15)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """The preset's camera."""
        from depthhand.geometry.camera import INTRINSICS

        return INTRINSICS[self.preset]


SENSOR_FAMILIES: dict[str, SensorFamily] = {
    f.name: f
    for f in (
        SensorFamily("kinect_v1", "nyu", "structured_light", 75.0, 400.0, 4000.0),
        SensorFamily("astra", "astra", "structured_light", 75.0, 350.0, 4000.0),
        SensorFamily("sr305", "sr305", "structured_light", 40.0, 200.0, 1500.0, (0.4, 1.2), (0.02, 0.1)),
        SensorFamily("sr300", "sr300", "structured_light", 40.0, 200.0, 1500.0, (0.4, 1.2), (0.02, 0.1)),
        SensorFamily("d415", "d415", "active_stereo", 55.0, 300.0, 4000.0),
        SensorFamily("d435", "d435", "active_stereo", 50.0, 200.0, 4000.0),
        SensorFamily("d435_848", "d435_848", "active_stereo", 50.0, 280.0, 4000.0),
        SensorFamily("kinect_v2", "kinect_v2", "tof", None, 500.0, 4500.0, flying_prob=(0.0, 0.0)),
        SensorFamily("azure_nfov", "azure_nfov", "tof", None, 250.0, 3860.0, flying_prob=(0.0, 0.0)),
        SensorFamily("astra_320", "astra_320", "structured_light", 75.0, 350.0, 4000.0),
        SensorFamily("kinect_v1_320", "kinect_v1_320", "structured_light", 75.0, 400.0, 4000.0),
        SensorFamily("azure_nfov_binned", "azure_nfov_binned", "tof", None, 250.0, 5460.0, flying_prob=(0.0, 0.0)),
    )
}
"""Every sensor mode the hard set covers (name → family)."""

CLOSE_RANGE = ("sr305", "sr300", "d435", "azure_nfov")
"""Families that measure at 250 mm (egocentric views)."""


def family_noise_params(family: SensorFamily, rng: np.random.Generator) -> object:
    """Randomised noise parameters of the family's model: its baseline and range, a wider grazing dropout."""
    from depthhand.synth import noise

    p = noise.sample_params(family.model, rng)
    changes: dict[str, object] = {
        "min_range_mm": family.min_range_mm,
        "max_range_mm": family.max_range_mm,
        "grazing_start_deg": float(rng.uniform(60.0, 72.0)),
        "grazing_end_deg": float(rng.uniform(78.0, 86.0)),
    }
    if family.baseline_mm is not None:
        changes["baseline_mm"] = family.baseline_mm
    if family.correlated_sigma_mm[1] > 0:  # SR30x: a finer disparity grid, little white noise
        changes["disparity_step_px"] = 1.0 / 32.0
        changes["disparity_sigma_px"] = float(rng.uniform(0.02, 0.05))
    return dataclasses.replace(p, **changes)  # type: ignore[arg-type]


def correlated_field(shape: tuple[int, int], rng: np.random.Generator, sigma_mm: float, length_px: float) -> F32:
    """A smooth zero-mean Gaussian random field of standard deviation ``sigma_mm`` and correlation ``length_px``.

    White noise on a grid ``length_px`` coarser than ``shape``, bicubically upsampled and rescaled to ``sigma_mm``.
    """
    import cv2

    h, w = shape
    gh, gw = max(2, int(np.ceil(h / length_px)) + 1), max(2, int(np.ceil(w / length_px)) + 1)
    coarse = rng.normal(0.0, 1.0, (gh, gw)).astype(np.float32)
    field = np.asarray(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    sd = float(field.std())
    out: F32 = (field * (sigma_mm / sd if sd > 0 else 0.0)).astype(np.float32)
    return out


def flying_pixels(depth_mm: F32, rng: np.random.Generator, prob: float, jump_mm: float = 30.0) -> F32:
    """Mixed pixels at depth edges: with probability ``prob`` an edge pixel takes a value between its 3×3 min and max.

    An edge pixel is a valid pixel whose valid 3×3 neighbourhood spans more than ``jump_mm``. Returns a new array.
    """
    import cv2

    if prob <= 0:
        return depth_mm.copy()
    valid = depth_mm > 0
    kernel = np.ones((3, 3), np.uint8)
    zmax = cv2.dilate(depth_mm, kernel)
    zmin = cv2.erode(np.where(valid, depth_mm, np.float32(1e9)), kernel)
    edge = valid & (zmax - zmin > jump_mm) & (zmin < 1e8)
    pick = edge & (rng.random(depth_mm.shape) < prob)
    t = rng.random(depth_mm.shape).astype(np.float32)
    out = depth_mm.copy()
    out[pick] = (zmin + t * (zmax - zmin))[pick]
    return out


def apply_extras(
    depth_mm: F32,
    clean_mm: F32,
    dark_mm: F32 | None,
    family: SensorFamily,
    rng: np.random.Generator,
) -> F32:
    """The artefacts on top of the family's noise (see the module docstring); returns a new array.

    Args:
        depth_mm: (H, W) noisy depth from the family's model, mm.
        clean_mm: (H, W) the clean render, mm.
        dark_mm: (H, W) render of the scene's dark primitives alone (None: none); a pixel whose clean surface is one of
            them (depths within 0.5 mm) is dropped with a probability of 0.5–0.95.
        family: The sensor family.
        rng: Random generator.
    """
    out = depth_mm.copy()
    valid = out > 0
    lo, hi = family.correlated_sigma_mm
    if hi > 0:
        field = correlated_field(out.shape, rng, float(rng.uniform(lo, hi)), float(rng.uniform(6.0, 16.0)))
        out = np.where(valid, out + field, np.float32(0.0)).astype(np.float32)
    out = flying_pixels(out, rng, float(rng.uniform(*family.flying_prob)))
    if dark_mm is not None:
        on_dark = (dark_mm > 0) & (np.abs(dark_mm - clean_mm) < 0.5)
        out[on_dark & (rng.random(out.shape) < rng.uniform(0.5, 0.95))] = 0.0
    result: F32 = np.maximum(out, 0.0).astype(np.float32)
    return result


__all__ = [
    "CLOSE_RANGE",
    "SENSOR_FAMILIES",
    "SensorFamily",
    "apply_extras",
    "correlated_field",
    "family_noise_params",
    "flying_pixels",
]
