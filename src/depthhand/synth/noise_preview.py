"""A small analytic test scene (tilted plane, box, sphere) and the noise-model preview figure.

The scene is ray cast in closed form with numpy so the noise models can be previewed, tested and benchmarked
without the hand renderer. Not a substitute for :mod:`depthhand.synth` scenes: no hand, no occluders beyond one
box and one sphere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.structures import CameraIntrinsics

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

LABEL_PLANE = 0
LABEL_BOX = 1
LABEL_SPHERE = 2


@dataclass(frozen=True, slots=True)
class PreviewScene:
    """Geometry of the preview scene, camera frame, mm.

    Attributes:
        plane_point_xyz_mm: A point on the background plane.
        plane_normal_xyz: Unit normal of the plane (facing the camera).
        box_min_xyz_mm: Box corner with the smallest coordinates.
        box_max_xyz_mm: Opposite box corner.
        sphere_center_xyz_mm: Sphere centre.
        sphere_radius_mm: Sphere radius.
    """

    plane_point_xyz_mm: tuple[float, float, float] = (0.0, 0.0, 900.0)
    plane_normal_xyz: tuple[float, float, float] = (0.0, -0.5, -0.866)
    box_min_xyz_mm: tuple[float, float, float] = (-230.0, -60.0, 600.0)
    box_max_xyz_mm: tuple[float, float, float] = (-60.0, 140.0, 700.0)
    sphere_center_xyz_mm: tuple[float, float, float] = (110.0, 10.0, 520.0)
    sphere_radius_mm: float = 70.0


def _rays(intrinsics: CameraIntrinsics) -> tuple[F64, F64]:
    u = (np.arange(intrinsics.width, dtype=np.float64) - intrinsics.cx) / intrinsics.fx
    v = (np.arange(intrinsics.height, dtype=np.float64) - intrinsics.cy) / intrinsics.fy
    ru, rv = np.meshgrid(u, v)
    return ru, rv


def render_scene(intrinsics: CameraIntrinsics, scene: PreviewScene | None = None) -> tuple[F32, npt.NDArray[np.int32]]:
    """Ray cast the scene at pixel centres.

    Args:
        intrinsics: Camera intrinsics (any size).
        scene: Scene geometry; the default when None.

    Returns:
        Depth float32 (H, W) mm (0 = nothing hit) and int32 labels (H, W) (``LABEL_*``).
    """
    s = scene or PreviewScene()
    ru, rv = _rays(intrinsics)
    inf = np.inf
    # Plane: n·(t r - p) = 0 → t = n·p / n·r (r_z = 1, so t is the depth z).
    n = np.asarray(s.plane_normal_xyz)
    denom = n[0] * ru + n[1] * rv + n[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_plane = np.where(np.abs(denom) > 1e-9, float(n @ np.asarray(s.plane_point_xyz_mm)) / denom, inf)
    t_plane = np.where(t_plane > 0, t_plane, inf)
    # Box: slab method per axis.
    lo, hi = np.asarray(s.box_min_xyz_mm), np.asarray(s.box_max_xyz_mm)
    t_near = np.full(ru.shape, -inf)
    t_far = np.full(ru.shape, inf)
    for comp, a in ((ru, 0), (rv, 1), (np.ones_like(ru), 2)):
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = lo[a] / comp, hi[a] / comp
        zero = comp == 0
        t1 = np.where(zero, np.where((lo[a] <= 0) & (hi[a] >= 0), -inf, inf), t1)
        t2 = np.where(zero, np.where((lo[a] <= 0) & (hi[a] >= 0), inf, -inf), t2)
        t_near = np.maximum(t_near, np.minimum(t1, t2))
        t_far = np.minimum(t_far, np.maximum(t1, t2))
    t_box = np.where((t_near <= t_far) & (t_near > 0), t_near, inf)
    # Sphere: |t r - c|² = R².
    c = np.asarray(s.sphere_center_xyz_mm)
    rr = ru * ru + rv * rv + 1.0
    b = ru * c[0] + rv * c[1] + c[2]
    disc = b * b - rr * (float(c @ c) - s.sphere_radius_mm**2)
    t_sphere = np.where(disc >= 0, (b - np.sqrt(np.maximum(disc, 0.0))) / rr, inf)
    stack = np.stack([t_plane, t_box, t_sphere])
    labels = np.argmin(stack, axis=0).astype(np.int32)
    depth = np.min(stack, axis=0)
    depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)
    return depth, labels


def render_preview(path: Path, seed: int = 0) -> Path:
    """Save a 2×4 figure: the scene clean and with each noise model (default parameters), full frame and zoom.

    Args:
        path: Output PNG path (written to a temp file, then renamed).
        seed: Random seed.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.noise import SensorModel, apply_noise, default_params

    intrinsics = INTRINSICS["astra"]
    depth, labels = render_scene(intrinsics)
    models = [SensorModel.NONE, SensorModel.STRUCTURED_LIGHT, SensorModel.ACTIVE_STEREO, SensorModel.TOF]
    fig, axes = plt.subplots(2, len(models), figsize=(4.2 * len(models), 7.0), constrained_layout=True)
    zoom = (slice(150, 330), slice(40, 220))
    for col, model in enumerate(models):
        noisy = apply_noise(depth, intrinsics, np.random.default_rng(seed), default_params(model), labels)
        shown = np.ma.masked_equal(noisy, 0.0)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="black")
        axes[0, col].imshow(shown, cmap=cmap, vmin=450, vmax=1100)
        axes[0, col].add_patch(
            Rectangle((zoom[1].start, zoom[0].start), 180, 180, fill=False, edgecolor="white", linewidth=1)
        )
        invalid = 100.0 * float(np.mean((noisy == 0) & (depth > 0)))
        axes[0, col].set_title(f"{model.value}  ({invalid:.1f} % dropped)")
        im = axes[1, col].imshow(shown[zoom], cmap=cmap, vmin=500, vmax=950, interpolation="nearest")
        axes[1, col].set_title("zoom (black = invalid)")
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="depth (mm)")
    fig.suptitle("depthhand.synth.noise: default parameters, Astra intrinsics 640×480, sphere + box on a plane")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path, suffix=".png") as tmp:  # savefig picks the format from the suffix: always PNG
        fig.savefig(tmp, dpi=80)
        plt.close(fig)
    return path
