"""On-the-fly labelled training crops: render only a window around the hand, noise it, crop it.

:func:`generate_crops` samples a scene, renders only the native-resolution image window that the hand's metric
cube covers (exactly the pixels ``geometry.crop.crop_depth`` would read from a full frame), applies the sensor
noise model to that window and normalises it with ``crop_depth``; joints come back cube-normalised
(``geometry.crop.joints_to_crop``), so a network trained on these patches sees the same convention as on crops
of real frames. The window's noise misses projector shadows cast by objects outside the window.

When the window is larger than the patch (a near hand), it is rendered and noised with k-times larger pixels (a
camera with ``fx / k``, k ≥ 1 continuous) so that it keeps about ``1.25 · crop_size`` pixels per side;
nearest-neighbour cropping reads only about one pixel in k² anyway. The noise model then sees a k-times coarser
sensor (a k× larger disparity step in mm), which stays within the randomised noise ranges; ``render_scale=1``
renders at the sensor's own resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import inside_image
from depthhand.geometry.crop import apply_affine_uv, bounds_affine, crop_bounds, crop_depth, joints_to_crop
from depthhand.structures import CameraIntrinsics, HandCrop, Handedness
from depthhand.synth.raycast import render_depth
from depthhand.synth.scenes import Scene, apply_sensor_noise, palm_center, sample_scene

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CropMeta:
    """Labels and provenance of a batch of crops (N samples).

    Attributes:
        crops: Per sample, the :class:`HandCrop` in full-image coordinates (for ``joints_from_crop``, uncropping).
        joints_xyz_mm: (N, 21, 3) canonical joints, camera mm.
        center_xyz_mm: (N, 3) crop centres (palm centre + jitter), mm.
        visibility: (N, 21) bool joint visibility in the clean render (inside the window, not hidden).
        handedness: Per sample.
        intrinsics: Camera of each sample's full frame.
        family: Scene family.
        in_image: (N,) fraction of the 21 joints that project inside the full camera image
            (:func:`joints_in_image`).
    """

    crops: tuple[HandCrop, ...]
    joints_xyz_mm: F64
    center_xyz_mm: F64
    visibility: npt.NDArray[np.bool_]
    handedness: tuple[Handedness, ...]
    intrinsics: tuple[CameraIntrinsics, ...]
    family: str
    in_image: F64

    def centre_in_image(self) -> npt.NDArray[np.bool_]:
        """(N,) whether each crop's centre projects inside its camera image.

        Only such crops occur at run time: a detected hand centre is an image pixel plus a depth.
        """
        return np.array(
            [bool(inside_image(c, k)) for c, k in zip(self.center_xyz_mm, self.intrinsics, strict=True)], bool
        )


MAX_SCENE_TRIES = 200
"""Scenes drawn per crop before :func:`generate_crops` gives up on ``min_in_image``."""


def joints_in_image(joints_xyz_mm: npt.ArrayLike, intrinsics: CameraIntrinsics) -> F64:
    """Fraction of joints in front of the camera whose projection falls inside the image.

    A joint counts as :func:`depthhand.geometry.camera.inside_image` says (``z > 0`` and the pixel inside the
    image's pixel area).

    Args:
        joints_xyz_mm: (..., J, 3) joints, camera mm.
        intrinsics: The camera.

    Returns:
        (...) float64 fractions in [0, 1].
    """
    out: F64 = inside_image(joints_xyz_mm, intrinsics).mean(axis=-1)
    return out


def window_intrinsics(bounds_uv: F64, intrinsics: CameraIntrinsics) -> tuple[CameraIntrinsics, int, int] | None:
    """The sub-image covering ``bounds_uv`` (edge coordinates), clipped to the image, as its own camera.

    Returns:
        ``(window_intrinsics, u0, v0)`` with the window's top-left pixel in the full image, or None when the
        bounds miss the image.
    """
    w, h = intrinsics.width, intrinsics.height
    u0 = min(max(math.floor(bounds_uv[0]), 0), w)
    v0 = min(max(math.floor(bounds_uv[1]), 0), h)
    u1 = min(max(math.ceil(bounds_uv[2]) + 1, 0), w)
    v1 = min(max(math.ceil(bounds_uv[3]) + 1, 0), h)
    if u1 <= u0 or v1 <= v0:
        return None
    win = CameraIntrinsics(
        intrinsics.fx, intrinsics.fy, intrinsics.cx - u0, intrinsics.cy - v0, u1 - u0, v1 - v0, intrinsics.depth_unit_mm
    )
    return win, u0, v0


def shift_crop(crop: HandCrop, u0: int, v0: int, scale: float = 1.0) -> HandCrop:
    """The same crop on a window whose pixel (0, 0) is image pixel (u0, v0), with ``scale``-times larger pixels.

    Window pixel p maps to image pixel ``u0 + (p + 0.5)·scale − 0.5`` (pixel-centre convention, as
    ``CameraIntrinsics.scaled``).
    """
    k = float(scale)
    to_image = np.array([[k, 0.0, u0 + (k - 1) / 2], [0.0, k, v0 + (k - 1) / 2], [0.0, 0.0, 1.0]])
    return HandCrop(crop.center_xyz_mm, crop.cube_mm, crop.image_to_crop @ to_image, crop.crop_size)


def coarse_window(win: CameraIntrinsics, scale: float) -> CameraIntrinsics:
    """``win`` seen by a camera with ``scale``-times larger pixels (image size rounded down, at least 1)."""
    if scale == 1.0:
        return win
    k = float(scale)
    return CameraIntrinsics(
        win.fx / k,
        win.fy / k,
        (win.cx + 0.5) / k - 0.5,
        (win.cy + 0.5) / k - 0.5,
        max(int(win.width / k), 1),
        max(int(win.height / k), 1),
        win.depth_unit_mm,
    )


def fast_crop_depth(depth_mm: F32, crop: HandCrop) -> F32:
    """``geometry.crop.crop_depth`` for axis-aligned crops (no rotation), via separable row/column indices.

    Gives the same patch as ``crop_depth`` (tested); falls back to it when the crop is rotated.
    """
    a = crop.crop_to_image
    if abs(a[0, 1]) > 1e-12 or abs(a[1, 0]) > 1e-12:
        return crop_depth(depth_mm, crop)
    size = crop.crop_size
    idx = np.arange(size, dtype=np.float64)
    u = np.floor(a[0, 0] * idx + a[0, 2] + 0.5).astype(np.int64)
    v = np.floor(a[1, 1] * idx + a[1, 2] + 0.5).astype(np.int64)
    h, w = depth_mm.shape
    ok_u, ok_v = (u >= 0) & (u < w), (v >= 0) & (v < h)
    patch = depth_mm[np.clip(v, 0, h - 1)[:, None], np.clip(u, 0, w - 1)[None, :]].astype(np.float64)
    patch[~(ok_v[:, None] & ok_u[None, :])] = 0.0
    norm = (patch - crop.center_xyz_mm[2]) / (crop.cube_mm[2] / 2)
    background = (patch <= 0) | (norm > 1.0)
    norm = np.clip(norm, -1.0, 1.0)
    norm[background] = 1.0
    out: F32 = norm.astype(np.float32)
    return out


def render_crop(
    scene: Scene,
    crop: HandCrop,
    rng: np.random.Generator,
    noise: str | None = "default",
    render_scale: float | None = None,
) -> tuple[F32, F32 | None, CameraIntrinsics | None]:
    """Render only the image window under ``crop`` and cut the normalised patch from it.

    With ``noise=None`` and ``render_scale=1`` the patch equals ``crop_depth`` of the full clean frame (tested).

    Returns:
        ``(patch, clean_window_mm, window_intrinsics)``; the last two are None when the crop misses the image.
    """
    intr, size = scene.intrinsics, crop.crop_size
    bounds = np.array(apply_affine_uv(np.array([[-0.5, -0.5], [size - 0.5, size - 0.5]]), crop.crop_to_image)).reshape(
        -1
    )
    win = window_intrinsics(bounds, intr)
    if win is None:
        return np.ones((size, size), np.float32), None, None
    w_full, u0, v0 = win
    k = render_scale or max(1.0, min(w_full.width, w_full.height) / (1.25 * size))
    if k < 1.0:
        raise ValueError(f"render_scale must be >= 1, got {render_scale}")
    w_intr = coarse_window(w_full, k)
    clean, tag = render_depth(scene.primitives(), w_intr, max_depth_mm=8000.0)
    depth = apply_sensor_noise(clean, w_intr, rng, noise, tag + 1, scene.noise_model)
    return fast_crop_depth(depth, shift_crop(crop, u0, v0, k)), clean, w_intr


def generate_crops(
    n: int,
    rng: np.random.Generator,
    scene: str = "topdown",
    crop_size: int = 96,
    cube_mm: float | tuple[float, float, float] = 250.0,
    intrinsics: CameraIntrinsics | None = None,
    noise: str | None = "random",
    center_jitter_mm: float = 8.0,
    render_scale: float | None = None,
    min_in_image: float = 0.0,
    max_in_image: float = 1.0,
) -> tuple[F32, F32, CropMeta]:
    """Render ``n`` labelled, noisy hand crops in memory.

    Args:
        n: Number of crops.
        rng: Random generator (same state → same crops).
        scene: Scene family (``scenes.SCENES``).
        crop_size: Side S of the square patches.
        cube_mm: Metric cube (x, y, z) around the hand, mm (scalar = cube).
        intrinsics: Camera of the full frame (default: the family's).
        noise: Sensor family, ``"default"`` (the scene's), ``"random"`` or None (clean).
        center_jitter_mm: σ of the Gaussian offset added to the palm centre (mimics detector error).
        render_scale: Pixel-size factor (≥ 1) of the rendered window; None = automatic (see the module docstring).
        min_in_image: Redraw a scene until at least this fraction of its hand's joints lies inside the camera
            image (1.0 = the whole hand in view, as in the public benchmarks' test frames). The default 0 keeps
            every scene and draws exactly the random numbers earlier versions drew.
        max_in_image: Redraw a scene until at most this fraction of its hand's joints lies inside the image (below
            1: hands reaching in over the image edge only, to train on them more often than scenes draw them).

    Returns:
        ``(patches, joints_crop, meta)``: (N, S, S) float32 in [−1, 1] (background +1), (N, 21, 3) float32
        cube-normalised joints of the first hand of each scene, and :class:`CropMeta`.

    Example:
        >>> patches, joints, meta = generate_crops(2, np.random.default_rng(0))
        >>> patches.shape, joints.shape
        ((2, 96, 96), (2, 21, 3))
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n}")
    if not 0.0 <= min_in_image <= 1.0:
        raise ValueError(f"min_in_image must be a fraction in [0, 1], got {min_in_image}")
    if not min_in_image <= max_in_image <= 1.0:
        raise ValueError(f"max_in_image must be a fraction in [min_in_image={min_in_image}, 1], got {max_in_image}")
    patches = np.empty((n, crop_size, crop_size), np.float32)
    joints_crop = np.empty((n, 21, 3), np.float32)
    joints = np.empty((n, 21, 3))
    centers = np.empty((n, 3))
    vis = np.zeros((n, 21), bool)
    in_image = np.empty(n)
    crops, hands, intrs = [], [], []
    for i in range(n):
        sc, in_image[i] = _scene_in_view(scene, rng, intrinsics, min_in_image, max_in_image)
        intr = sc.intrinsics
        j = sc.geometries[0].joints_xyz_mm
        center = palm_center(j) + rng.normal(0, center_jitter_mm, 3)
        center[2] = max(center[2], 100.0)
        bounds = crop_bounds(center, cube_mm, intr)
        crop = HandCrop(center, _cube(cube_mm), bounds_affine(bounds, crop_size), crop_size)
        patch, clean, w_intr = render_crop(sc, crop, rng, noise, render_scale)
        if clean is not None and w_intr is not None:
            vis[i] = _visible(clean, j, sc.geometries[0].joint_radii_mm, w_intr)
        patches[i] = patch
        joints_crop[i] = joints_to_crop(j, crop)
        joints[i], centers[i] = j, center
        crops.append(crop)
        hands.append(sc.hands[0].handedness)
        intrs.append(intr)
    meta = CropMeta(tuple(crops), joints, centers, vis, tuple(hands), tuple(intrs), scene, in_image)
    return patches, joints_crop, meta


def _scene_in_view(
    family: str,
    rng: np.random.Generator,
    intrinsics: CameraIntrinsics | None,
    min_in_image: float,
    max_in_image: float = 1.0,
) -> tuple[Scene, float]:
    """The first sampled scene whose first hand has ``min_in_image`` to ``max_in_image`` of its joints in the image."""
    for _ in range(MAX_SCENE_TRIES):
        sc = sample_scene(family, rng, intrinsics)
        frac = float(joints_in_image(sc.geometries[0].joints_xyz_mm, sc.intrinsics))
        if min_in_image <= frac <= max_in_image:
            return sc, frac
    raise RuntimeError(
        f"no {family} scene in {MAX_SCENE_TRIES} draws had {min_in_image:.0%} to {max_in_image:.0%} of the hand in view"
    )


def _cube(cube_mm: float | tuple[float, float, float]) -> F64:
    cube = np.broadcast_to(np.asarray(cube_mm, np.float64), (3,)).copy()
    if not np.all(np.isfinite(cube)) or np.any(cube <= 0):
        raise ValueError(f"cube_mm must be positive sizes in mm (scalar or (3,)), got {cube_mm!r}")
    return cube


def _visible(clean: F32, joints_xyz_mm: F64, radii_mm: F64, intr: CameraIntrinsics) -> npt.NDArray[np.bool_]:
    z = joints_xyz_mm[:, 2]
    u = np.floor(joints_xyz_mm[:, 0] / z * intr.fx + intr.cx + 0.5).astype(np.int64)
    v = np.floor(joints_xyz_mm[:, 1] / z * intr.fy + intr.cy + 0.5).astype(np.int64)
    h, w = clean.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (z > 0)
    surface = clean[np.clip(v, 0, h - 1), np.clip(u, 0, w - 1)]
    out: npt.NDArray[np.bool_] = inside & (surface > 0) & (surface >= z - radii_mm - 10.0)
    return out


@dataclass(frozen=True, slots=True)
class CropsSpec:
    """A request for in-memory crops, parsed from ``@COUNT?scenes=a,b&seed=S&noise=N&in_image=F&centre_in_image=B``.

    Attributes:
        count: Crops (per scene for evaluation, in total for training).
        scenes: Scene families.
        seed: Random seed.
        noise: Sensor family, ``"random"``, ``"default"`` or None (clean).
        min_in_image: ``generate_crops``'s ``min_in_image`` (``in_image=1``: whole hands in view only).
        centre_in_image: ``centre_in_image=1``: keep only the crops whose centre projects inside the image (the
            crops the pipeline can cut), a subset of the same crops; the count per scene drops accordingly.
    """

    count: int
    scenes: tuple[str, ...]
    seed: int
    noise: str | None
    min_in_image: float = 0.0
    centre_in_image: bool = False


def parse_crops_spec(text: str, default_scenes: tuple[str, ...], default_seed: int = 0) -> CropsSpec:
    """Parse ``@COUNT?scenes=...&seed=...&noise=...&in_image=...&centre_in_image=...`` (after ``synth:``).

    Raises:
        ValueError: For a bad count, an unknown parameter or an unknown scene (naming what is accepted).
    """
    from depthhand.synth.scenes import SCENES

    if not text.startswith("@"):
        raise ValueError(f"synth:{text}: expected synth:@COUNT[?scenes=...&seed=...&noise=...]")
    count_text, _, query = text[1:].partition("?")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    accepted = ("scenes", "seed", "noise", "in_image", "centre_in_image")
    unknown = set(params) - set(accepted)
    if unknown:
        raise ValueError(f"synth:{text}: unknown parameter(s) {sorted(unknown)}; accepted: {', '.join(accepted)}")
    centre = params.get("centre_in_image", "0")
    if centre not in ("0", "1"):
        raise ValueError(f"synth:{text}: centre_in_image must be 0 or 1, got {centre!r}")
    try:
        count, seed = int(count_text), int(params.get("seed", default_seed))
    except ValueError:
        raise ValueError(f"synth:{text}: COUNT and seed must be integers") from None
    if count <= 0:
        raise ValueError(f"synth:{text}: COUNT must be positive")
    scenes = tuple(params.get("scenes", ",".join(default_scenes)).split(","))
    for s in scenes:
        if s not in SCENES:
            raise ValueError(f"synth:{text}: unknown scene {s!r}; expected some of {SCENES}")
    noise = params.get("noise", "random")
    try:
        in_image = float(params.get("in_image", 0.0))
    except ValueError:
        in_image = math.nan
    if not 0.0 <= in_image <= 1.0:
        raise ValueError(f"synth:{text}: in_image must be a fraction in [0, 1], got {params['in_image']!r}")
    return CropsSpec(count, scenes, seed, None if noise == "none" else noise, in_image, centre == "1")
