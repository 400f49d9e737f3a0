"""The fused detector input (``detect.cnn_input``) against the pre-fusion formula and a float64 re-computation.

``old_*`` below are the detector's pre-processing and box depth as they were before the fusion, kept verbatim
(they must not follow later changes of the package).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.detect.cnn import CnnHandDetector
from depthhand.detect.cnn_decode import Letterbox, decode_outputs, surface_depth
from depthhand.detect.cnn_input import DetectorInput
from depthhand.geometry.camera import INTRINSICS, parse_intrinsics, uvd_to_xyz
from depthhand.structures import DepthFrame


def old_downscale_depth(depth_mm: np.ndarray, width: int, height: int) -> tuple[np.ndarray, Letterbox]:
    d = np.asarray(depth_mm, np.float32)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d > 0)
    d = np.where(ok, d, np.float32(0.0))
    h, w = d.shape
    scale = min(width / w, height / h)
    nw, nh = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    sd = cv2.resize(d, (nw, nh), interpolation=interp)
    sv = cv2.resize(ok.astype(np.float32), (nw, nh), interpolation=interp)
    small = np.where(sv >= 0.25, sd / np.maximum(sv, 1e-6), 0.0).astype(np.float32)
    out = np.zeros((height, width), np.float32)
    out[:nh, :nw] = small
    return out, Letterbox(scale=float(scale), width=width, height=height)


def old_normalize_depth(depth_small_mm: np.ndarray, far_mm: float) -> np.ndarray:
    d = np.asarray(depth_small_mm, np.float32)
    valid = d > 0
    inv = np.where(valid, np.clip(1.0 - d / np.float32(far_mm), 0.0, 1.0), 0.0)
    return np.stack([inv, valid]).astype(np.float32)


def old_prepare(
    depth: np.ndarray, near: float, far: float, width: int = 160, height: int = 120, norm_far: float = 3000.0
) -> tuple[np.ndarray, Letterbox, np.ndarray] | None:
    """The pre-fusion ``CnnHandDetector.detect`` up to the network: (input, letterbox, masked full frame)."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(depth) & (depth >= near) & (depth <= far)
    if not ok.any():
        return None
    depth = np.where(ok, depth, np.float32(0.0)).astype(np.float32)
    small, box = old_downscale_depth(depth, width, height)
    return old_normalize_depth(small, norm_far)[None], box, depth


def old_surface_depth(depth_mm: np.ndarray, center_uv: np.ndarray, radius_px: int, layer_mm: float = 60.0) -> float:
    h, w = depth_mm.shape
    u, v = (round(float(x)) for x in np.asarray(center_uv, np.float64))
    r = max(1, int(radius_px))
    u0, u1, v0, v1 = max(0, u - r), min(w, u + r + 1), max(0, v - r), min(h, v + r + 1)
    if u0 >= u1 or v0 >= v1:
        return 0.0
    win = np.asarray(depth_mm[v0:v1, u0:u1], np.float64)
    with np.errstate(invalid="ignore"):
        vals = win[np.isfinite(win) & (win > 0)]
    if vals.size == 0:
        return 0.0
    near = float(np.percentile(vals, 10))
    return float(np.median(vals[vals <= near + layer_mm]))


def float64_input(depth: np.ndarray, near: float, far: float, norm_far: float = 3000.0) -> np.ndarray:
    """The documented formula in float64 for a 640×480 frame (area mean over exact 4×4 blocks)."""
    d = depth.astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(d) & (d >= np.float32(near)) & (d <= np.float32(far)) & (d > 0)
    masked = np.where(valid, d, 0.0)
    sd = masked.reshape(120, 4, 160, 4).mean(axis=(1, 3))
    sv = valid.astype(np.float64).reshape(120, 4, 160, 4).mean(axis=(1, 3))
    small = np.where(sv >= 0.25, sd / np.maximum(sv, 1e-6), 0.0)
    inv = np.where(small > 0, np.clip(1.0 - small / norm_far, 0.0, 1.0), 0.0)
    return np.stack([inv, small > 0])[None]


def real_frames(shared_data: Path) -> list[np.ndarray]:
    folder = shared_data / "real/sr305-desk/frames"
    raws = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.png"))]
    assert len(raws) == 11
    return [raw.astype(np.float32) * np.float32(0.125) for raw in raws]


def synthetic_frames() -> list[np.ndarray]:
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng(11)
    frames = []
    for family, n_hands in (("topdown", 1), ("topdown", 2), ("frontal", 1), ("egocentric", 2)):
        frames.append(render_scene(sample_scene(family, rng, n_hands=n_hands), rng, noise="default").depth_mm)
    return frames


def test_bit_identical_to_the_old_formula_on_real_and_synthetic_frames(shared_data: Path) -> None:
    prep = DetectorInput(100.0, 8000.0)
    frames = real_frames(shared_data) + synthetic_frames()
    for depth in frames:
        old = old_prepare(depth, 100.0, 8000.0)
        assert old is not None
        new = prep(depth)
        assert new is not None
        assert new[0].dtype == np.float32 and new[0].shape == (1, 2, 120, 160)
        assert np.array_equal(new[0], old[0])  # bit for bit
        assert new[1] == old[1]
        ref = float64_input(depth, 100.0, 8000.0)
        np.testing.assert_array_equal(new[0][:, 1], ref[:, 1])
        np.testing.assert_allclose(new[0][:, 0], ref[:, 0], rtol=0, atol=2e-6)


@pytest.mark.parametrize(
    ("shape", "near", "far"),
    [
        ((480, 640), 100.0, 8000.0),
        ((480, 640), 0.0, 8000.0),  # near 0: zeros stay invalid
        ((480, 640), 100.1, 1234.567),  # bounds that are not float32 numbers
        ((480, 640), 100.0, float("inf")),  # inf pixels stay invalid
        ((200, 320), 100.0, 8000.0),  # letterbox padding below
        ((90, 100), 100.0, 8000.0),  # smaller than the input: nearest upscaling
        ((481, 641), 100.0, 8000.0),  # not a multiple of the input size
    ],
)
def test_bit_identical_on_edge_cases_and_unchecked_frames(shape: tuple[int, int], near: float, far: float) -> None:
    rng = np.random.default_rng(shape[0] + int(near))
    depth = rng.uniform(0, 9000, shape).astype(np.float32)
    depth[rng.random(shape) < 0.3] = 0.0
    depth[:, :5] = np.float32(near)  # exactly on the bounds
    depth[:5, :] = np.float32(far) if np.isfinite(far) else np.float32(7999.0)
    prep = DetectorInput(near, far)
    for bad in (None, np.nan, np.inf, -np.inf, -50.0):  # an unchecked frame: NaN/inf/negative pixels
        d = depth.copy()
        if bad is not None:
            d[rng.random(shape) < 0.05] = bad
        old, new = old_prepare(d, near, far), prep(d)
        assert old is not None and new is not None
        assert np.array_equal(new[0], old[0]), bad
        assert new[1] == old[1]


def test_no_valid_pixel_gives_none() -> None:
    prep = DetectorInput(100.0, 8000.0)
    assert prep(np.zeros((480, 640), np.float32)) is None
    assert prep(np.full((480, 640), np.nan, np.float32)) is None
    assert prep(np.full((480, 640), 9000.0, np.float32)) is None
    with pytest.raises(ValueError, match="float32"):
        prep(np.zeros((480, 640), np.float64))


def test_surface_depth_equals_numpy_percentile_and_median() -> None:
    rng = np.random.default_rng(5)
    for trial in range(200):
        depth = rng.normal(600, 80, (60, 60)).astype(np.float32)
        depth[rng.random(depth.shape) < rng.uniform(0, 0.99)] = 0.0
        if trial % 4 == 0:
            depth[rng.random(depth.shape) < 0.1] = np.nan
        center = rng.uniform(-5, 65, 2)
        radius = int(rng.integers(1, 25))
        old = old_surface_depth(depth, center, radius)
        new = surface_depth(depth, center, radius)
        assert new == pytest.approx(old, rel=1e-12, abs=0.0), trial


def test_surface_depth_range_matches_the_masked_frame() -> None:
    rng = np.random.default_rng(6)
    depth = rng.uniform(0, 1500, (80, 80)).astype(np.float32)
    masked = np.where((depth >= 300.0) & (depth <= 900.0), depth, np.float32(0.0))
    for _ in range(50):
        center, radius = rng.uniform(0, 80, 2), int(rng.integers(1, 30))
        new = surface_depth(depth, center, radius, near_mm=300.0, far_mm=900.0)
        assert new == pytest.approx(old_surface_depth(masked, center, radius), rel=1e-12, abs=0.0)


def test_detector_boxes_equal_the_old_pre_processing(shared_data: Path) -> None:
    """End to end: the old input and old box depth give the same boxes as ``detect`` (real and synthetic)."""
    det = CnnHandDetector(threads=1)
    k = parse_intrinsics("sr305", width=640, height=480)
    frames = [DepthFrame(d, k) for d in real_frames(shared_data)[::3]]
    frames += [DepthFrame(d, INTRINSICS["sr305"]) for d in synthetic_frames()]
    n_boxes = 0
    for frame in frames:
        old = old_prepare(frame.depth_mm, det.near_mm, det.far_mm)
        assert old is not None
        x, lb, masked = old
        heat, right, offset, ltrb = det._session.run(None, {det._input_name: x})
        peaks = decode_outputs(heat[0, 0], right[0, 0], offset[0], ltrb[0], det.score_threshold, det.max_hands)
        boxes = det.detect(frame)
        old_boxes = []
        for p in peaks:
            uv = np.clip(lb.to_frame(p.center_uv), 0.0, [639, 479])
            corners = np.clip(lb.to_frame(p.box_xyxy.reshape(2, 2)).reshape(4), -0.5, [639.5, 479.5] * 2)
            radius = int(np.clip(0.2 * min(corners[2] - corners[0], corners[3] - corners[1]), 2, 24))
            z = old_surface_depth(masked, uv, radius) or old_surface_depth(masked, uv, 3 * radius)
            if z > 0:
                uvd = np.array([uv[0], uv[1], z + det.palm_offset_mm], np.float32)
                xyz = uvd_to_xyz(uvd.astype(np.float64), frame.intrinsics).astype(np.float32)
                old_boxes.append((uvd, xyz, corners.astype(np.float32), p.score))
        assert len(boxes) == len(old_boxes)
        for box, (uvd, xyz, corners, score) in zip(boxes, old_boxes, strict=True):
            np.testing.assert_allclose(box.center_uvd, uvd, rtol=1e-6)
            np.testing.assert_allclose(box.center_xyz_mm, xyz, rtol=1e-6)
            np.testing.assert_allclose(box.box_xyxy, corners, rtol=1e-6)
            assert box.score == score
        n_boxes += len(boxes)
    assert n_boxes >= len(frames)  # the comparison saw hands


def old_decode_outputs(heat, right, offset, ltrb, threshold=0.3, max_hands=4, nms_center_frac=0.5, stride=4):  # type: ignore[no-untyped-def]
    """The pre-audit decoding: np.pad maxima and one peak at a time."""
    h = np.nan_to_num(np.asarray(heat, np.float32), nan=0.0)
    padded = np.pad(h, 1, constant_values=-np.inf)
    hg, wg = h.shape
    is_max = h >= threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neigh = padded[1 + dy : 1 + dy + hg, 1 + dx : 1 + dx + wg]
                is_max &= (h > neigh) if (dy, dx) < (0, 0) else (h >= neigh)
    rc = np.argwhere(is_max)
    order = np.argsort(-h[rc[:, 0], rc[:, 1]], kind="stable") if len(rc) else np.zeros(0, np.int64)
    peaks = []
    for r, c in rc[order]:
        off = np.clip(np.nan_to_num(offset[:, r, c], nan=0.5), 0.0, 1.0)
        cu, cv = (c + off[0]) * stride, (r + off[1]) * stride
        dist = np.exp(np.clip(np.nan_to_num(ltrb[:, r, c]), -3.0, 8.0))
        box = np.array([cu - dist[0], cv - dist[1], cu + dist[2], cv + dist[3]], np.float64)
        if any(
            np.hypot(cu - p[0][0], cv - p[0][1]) < nms_center_frac * min(p[1][2] - p[1][0], p[1][3] - p[1][1])
            for p in peaks
        ):
            continue
        peaks.append((np.array([cu, cv]), box, float(h[r, c]), float(np.nan_to_num(right[r, c], nan=0.5))))
        if len(peaks) >= max_hands:
            break
    return peaks


def test_decode_equals_the_old_decoding_on_random_and_network_maps(shared_data: Path) -> None:
    rng = np.random.default_rng(8)
    maps = []
    for trial in range(150):
        hg, wg = 30, 40
        heat = cv2.GaussianBlur(rng.random((hg, wg)).astype(np.float32), (5, 5), 1.5)
        heat = (heat - heat.min()) / (np.ptp(heat) + 1e-6)
        if trial % 5 == 0:
            heat = np.round(heat * 4) / 4  # plateaus
        right, offset = rng.random((hg, wg)).astype(np.float32), rng.random((2, hg, wg)).astype(np.float32)
        ltrb = rng.normal(2.5, 1.0, (4, hg, wg)).astype(np.float32)
        if trial % 7 == 0:
            for arr in (heat, right, offset, ltrb):  # +inf in the heat map only every 14th map (it takes all slots)
                bad = [np.nan, np.inf, -np.inf] if arr is not heat or trial % 14 == 0 else [np.nan, -np.inf]
                arr.reshape(-1)[rng.integers(0, arr.size, 20)] = rng.choice(bad, 20)
            peak = np.isfinite(heat) & (heat >= 0.6)  # non-finite outputs at cells that decode as peaks
            offset[0][peak], right[peak], ltrb[1][peak], ltrb[2][peak] = np.nan, np.nan, np.inf, np.nan
        maps.append((heat, right, offset, ltrb))
    det = CnnHandDetector(threads=1)
    for depth in real_frames(shared_data)[::2]:
        prepared = det._prepare(depth)
        assert prepared is not None
        heat, right, offset, ltrb = det._session.run(None, {det._input_name: prepared[0]})
        maps.append((heat[0, 0], right[0, 0], offset[0], ltrb[0]))
    n_peaks = 0
    for heat, right, offset, ltrb in maps:
        for threshold, max_hands in ((0.3, 4), (0.6, 2), (0.1, 1)):
            old = old_decode_outputs(heat, right, offset, ltrb, threshold, max_hands)
            new = decode_outputs(heat, right, offset, ltrb, threshold, max_hands)
            assert len(new) == len(old)
            for p, (center, box, score, right_prob) in zip(new, old, strict=True):
                np.testing.assert_allclose(p.center_uv, center, rtol=1e-12)
                np.testing.assert_allclose(p.box_xyxy, box, rtol=1e-12)
                assert p.score == score and p.right_prob == right_prob
            n_peaks += len(new)
    assert n_peaks > len(maps)


def test_preprocess_benchmark_reports_identical_inputs() -> None:
    from depthhand.bench.core import run_benchmarks

    (result,) = run_benchmarks(["detect.preprocess"], quick=True)
    assert result.unit == "ms" and result.value > 0 and result.details["old_ms"] > 0
    n = result.details["identical_frames"].split("/")
    assert n[0] == n[1] and int(n[1]) >= 4
