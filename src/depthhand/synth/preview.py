"""Preview galleries: depth images with skeleton overlays (matplotlib, imported when drawing)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand import atomic

NOISE_MODELS = (None, "structured_light", "active_stereo", "tof")


def _draw(ax: object, depth_mm: npt.NDArray[np.floating], joints_uvd: npt.NDArray[np.floating], title: str) -> None:
    from depthhand.skeleton import CANONICAL21

    d = np.where(depth_mm > 0, depth_mm, np.nan)
    ax.imshow(d, cmap="turbo_r", interpolation="nearest")  # type: ignore[attr-defined]
    ax.set_facecolor("black")  # type: ignore[attr-defined]
    for hand in joints_uvd:
        for a, b in CANONICAL21.bones:
            ax.plot(hand[[a, b], 0], hand[[a, b], 1], "-", color="white", lw=0.8)  # type: ignore[attr-defined]
        ax.plot(hand[:, 0], hand[:, 1], ".", color="red", ms=2)  # type: ignore[attr-defined]
    ax.set_title(title, fontsize=8)  # type: ignore[attr-defined]
    ax.set_axis_off()  # type: ignore[attr-defined]


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)  # type: ignore[attr-defined]
        plt.close(fig)  # type: ignore[arg-type]
    return path


def scene_gallery(
    out_path: str | Path,
    seed: int = 0,
    scenes: Sequence[str] | None = None,
    noise_models: Sequence[str | None] = NOISE_MODELS,
) -> Path:
    """One row per scene family, one column per noise model (the same sampled scene across a row).

    Returns:
        The written PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from depthhand.synth.scenes import SCENES, render_scene, sample_scene

    fams = tuple(scenes or SCENES)
    fig, axes = plt.subplots(len(fams), len(noise_models), figsize=(3.2 * len(noise_models), 2.6 * len(fams)))
    axes = np.atleast_2d(axes)
    for r, fam in enumerate(fams):
        scene = sample_scene(fam, np.random.default_rng([seed, r]))
        for c, model in enumerate(noise_models):
            s = render_scene(scene, np.random.default_rng([seed, r, c]), model)
            _draw(axes[r, c], s.depth_mm, s.joints_uvd, f"{fam} · {model or 'clean'}")
    fig.tight_layout()
    return _save(fig, Path(out_path))


def samples_gallery(
    out_path: str | Path,
    depths: Sequence[npt.NDArray[np.floating]],
    joints_uvd: Sequence[npt.NDArray[np.floating]],
    titles: Sequence[str],
    cols: int = 4,
) -> Path:
    """A grid of depth images with (K, 21, 3) uvd skeletons."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(depths)
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows))
    flat = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(flat):
        if i < n:
            _draw(ax, depths[i], joints_uvd[i], titles[i])
        else:
            ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, Path(out_path))


def crops_gallery(out_path: str | Path, seed: int = 0, scene: str = "topdown", n: int = 16) -> Path:
    """Training crops from :func:`depthhand.synth.crops.generate_crops` with their joints (crop pixels)."""
    from depthhand.geometry.camera import xyz_to_uvd
    from depthhand.geometry.crop import image_to_crop_uvd
    from depthhand.synth.crops import generate_crops

    patches, _, meta = generate_crops(n, np.random.default_rng(seed), scene=scene)
    uvd = [
        image_to_crop_uvd(xyz_to_uvd(meta.joints_xyz_mm[i], meta.intrinsics[i]), meta.crops[i])[None] for i in range(n)
    ]
    titles = [f"{scene} crop {i} ({meta.handedness[i].value})" for i in range(n)]
    depths = [np.where(p < 1, p + 2.0, 0.0) for p in patches]
    return samples_gallery(out_path, depths, uvd, titles)
