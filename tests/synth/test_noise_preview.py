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


def test_render_noise_preview(tmp_path: Path) -> None:
    path = render_noise_preview(tmp_path / "sub" / "noise.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 800
    assert not list(tmp_path.glob("sub/*.tmp*"))
