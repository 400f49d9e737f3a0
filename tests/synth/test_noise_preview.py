from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.geometry.camera import INTRINSICS
from depthhand.synth.noise import render_noise_preview
from depthhand.synth.noise_preview import LABEL_BOX, LABEL_PLANE, LABEL_SPHERE, PreviewScene, render_scene


def test_scene_depth_is_analytic() -> None:
    k = INTRINSICS["astra"]
    scene = PreviewScene()
    depth, labels = render_scene(k, scene)
    assert depth.dtype == np.float32 and depth.shape == (k.height, k.width)
    assert set(np.unique(labels)) == {LABEL_PLANE, LABEL_BOX, LABEL_SPHERE}
    # Sphere front point on the ray through its centre: |c| - R along that ray; z = that times c_z / |c|.
    c = np.array(scene.sphere_center_xyz_mm)
    u, v = k.fx * c[0] / c[2] + k.cx, k.fy * c[1] / c[2] + k.cy
    ui, vi = round(u), round(v)
    ray = np.array([(ui - k.cx) / k.fx, (vi - k.cy) / k.fy, 1.0])
    b = ray @ c
    t = (b - np.sqrt(b * b - (ray @ ray) * (c @ c - scene.sphere_radius_mm**2))) / (ray @ ray)
    assert labels[vi, ui] == LABEL_SPHERE
    assert depth[vi, ui] == pytest.approx(t, abs=1e-3)
    # Box front face is fronto-parallel at its min z.
    box_u = round(k.fx * -150.0 / 600.0 + k.cx)
    box_v = round(k.fy * 40.0 / 600.0 + k.cy)
    assert labels[box_v, box_u] == LABEL_BOX and depth[box_v, box_u] == pytest.approx(600.0, abs=1e-3)


VMIN, VMAX = 450.0, 1100.0  # the full-frame panels' colour range (mm); the zooms use 500-950
ZOOM_VMIN, ZOOM_VMAX = 500.0, 950.0
ZOOM = (slice(150, 330), slice(40, 220))
MODELS = ("none", "structured_light", "active_stereo", "tof")


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _decode(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB image, per-pixel viridis position in [0, 1] (NaN off the colormap) and a black (invalid depth) mask."""
    import matplotlib
    from scipy.spatial import cKDTree

    image = cv2.imread(str(path))
    assert image is not None
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float64)
    lut = matplotlib.colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3] * 255
    dist, idx = cKDTree(lut).query(rgb.reshape(-1, 3))
    level = np.where(dist < 8, idx / 255.0, np.nan).reshape(rgb.shape[:2])
    return rgb, level, rgb.sum(axis=2) < 60


def _panels(level: np.ndarray, black: np.ndarray) -> tuple[list[tuple[slice, slice]], list[tuple[slice, slice]]]:
    """The top (full-frame) and bottom (zoom) rows of image panels, found from where depth is drawn.

    A panel's pixels are colormapped depth or black (invalid depth, and the axes' frame); figure background, text
    and the white zoom frame are neither.
    """
    drawn = np.isfinite(level)
    rows = _runs(drawn.mean(axis=1) > 0.3)
    assert len(rows) == 2, rows  # a row of full frames above a row of zooms
    out = []
    for r0, r1 in rows:
        inked = (drawn | black)[r0:r1].mean(axis=0) > 0.5
        cols = [c for c in _runs(inked) if c[1] - c[0] > 0.5 * (r1 - r0)]  # not the colorbar
        out.append([(slice(r0 + 1, r1 - 1), slice(c0 + 2, c1 - 2)) for c0, c1 in cols])  # off the frame lines
    return out[0], out[1]


def test_render_noise_preview(tmp_path: Path) -> None:
    path = render_noise_preview(tmp_path / "sub" / "noise.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 800
    assert not list(tmp_path.glob("sub/*.tmp*"))

    rgb, level, black = _decode(path)
    assert rgb.std() > 20 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100  # a figure, not a blank canvas
    top, bottom = _panels(level, black)
    assert len(top) == len(bottom) == len(MODELS), (top, bottom)  # one column per noise model
    k = INTRINSICS["astra"]
    depth, _ = render_scene(k, PreviewScene())
    for rs, cs in top:  # full frames, 640x480 shown at the frame's aspect
        assert (cs.stop - cs.start) / (rs.stop - rs.start) == pytest.approx(k.width / k.height, rel=0.03)
    for rs, cs in bottom:  # 180x180 zooms
        assert (cs.stop - cs.start) / (rs.stop - rs.start) == pytest.approx(1.0, rel=0.03)

    def shown_mm(panel: tuple[slice, slice], lo: float, hi: float) -> np.ndarray:
        return lo + level[panel] * (hi - lo)

    def truth(panel: tuple[slice, slice], analytic: np.ndarray, lo: float, hi: float) -> np.ndarray:
        rs, cs = panel
        return cv2.resize(
            np.clip(analytic, lo, hi), (cs.stop - cs.start, rs.stop - rs.start), interpolation=cv2.INTER_AREA
        )

    # Every panel depicts the analytic scene (sphere + box on a tilted plane): decoded through the colormap, the
    # drawn depth matches the ray-cast one, to the colormap's 2.5 mm steps and the downsampling at the edges.
    for panel, zoom in zip(top, bottom, strict=True):
        drawn = np.isfinite(level[panel])
        assert drawn.mean() > 0.85  # colormapped depth fills the panel (the rest: invalid pixels, the zoom frame)
        err = np.abs(shown_mm(panel, VMIN, VMAX) - truth(panel, depth, VMIN, VMAX))[drawn]
        assert np.median(err) < 10 and np.percentile(err, 90) < 25, (np.median(err), np.percentile(err, 90))
        zdrawn = np.isfinite(level[zoom])
        zerr = np.abs(shown_mm(zoom, ZOOM_VMIN, ZOOM_VMAX) - truth(zoom, depth[ZOOM], ZOOM_VMIN, ZOOM_VMAX))[zdrawn]
        assert np.median(zerr) < 10 and np.percentile(zerr, 90) < 25, (np.median(zerr), np.percentile(zerr, 90))
    # The clean panel has no invalid (black) pixels; structured light and active stereo drop a few percent
    # (shadows beside the box and sphere, speckle).
    dropped = [float(black[p].mean()) for p in top]
    assert dropped[0] < 0.002 and dropped[1] > 0.01 and dropped[2] > 0.01, dict(zip(MODELS, dropped, strict=True))
    # Each zoom shows its own model's invalid pixels: its black mask overlaps that model's dropped pixels (the
    # noise applied here with the preview's seed) best, and the models' masks differ, so the columns do too.
    from depthhand.synth.noise import SensorModel, apply_noise, default_params

    _, labels = render_scene(k, PreviewScene())
    invalid = [
        apply_noise(depth, k, np.random.default_rng(0), default_params(SensorModel(m)), labels)[ZOOM] == 0
        for m in MODELS
    ]
    assert not invalid[0].any()
    for col, (rs, cs) in enumerate(bottom):
        shown = black[rs, cs]
        ious = []
        for mask in invalid[1:]:
            ref = cv2.resize(mask.astype(np.uint8), (shown.shape[1], shown.shape[0]), interpolation=cv2.INTER_NEAREST)
            ious.append(float((shown & (ref > 0)).sum() / max(1, (shown | (ref > 0)).sum())))
        if col == 0:
            assert shown.mean() < 0.002, shown.mean()
        else:
            assert int(np.argmax(ious)) == col - 1 and ious[col - 1] > 0.2, (MODELS[col], ious)

    # Deterministic per seed; another seed draws other noise over the same clean scene.
    np.testing.assert_array_equal(cv2.imread(str(render_noise_preview(tmp_path / "again.png", seed=0))), image)
    other = cv2.cvtColor(cv2.imread(str(render_noise_preview(tmp_path / "seed1.png", seed=1))), cv2.COLOR_BGR2RGB)
    assert other.shape == rgb.shape
    np.testing.assert_array_equal(other[top[0]], rgb[top[0]])  # "none": no randomness
    for panel in top[1:]:
        assert np.mean(np.any(other[panel] != rgb[panel], axis=-1)) > 0.005
