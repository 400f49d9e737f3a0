"""Training data of the learned hand detector: synthetic frames, caches, real box labels, augmentation, targets.

Data: full synthetic frames from :mod:`depthhand.synth.scenes` (all families, distractors, randomised sensor noise,
randomised camera presets, a random far cut-off that mimics short-range sensors dropping the background, a few
frames without any hand), downscaled with :func:`depthhand.detect.cnn_decode.downscale_depth` and cached as uint16
mm arrays; optionally a fraction of frames from the hard scene cases of :mod:`depthhand.synth.hard_scenes` (arms from
any edge, bodies, fists, held objects, egocentric, clutter, 12 sensor modes; generator branches that never meet the
held-out hard set's); optionally a fraction of *live-style* frames, random moments of the animated top-down
source (:mod:`depthhand.train.detector_live`: hands entering and leaving among the table's objects, labelled by the
live benchmark's rule); optionally real frames with box labels from a JSON file (format:
:mod:`depthhand.evaluate.real_labels`).
Targets follow CenterNet (Zhou et al. 2019): a Gaussian at the projected palm centre, sub-cell offset, box edge
distances and a right-hand logit at the centre cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.detect.cnn_decode import INPUT_HEIGHT, INPUT_WIDTH, STRIDE, downscale_depth, encode_center

F32 = npt.NDArray[np.float32]
MAX_LABELS = 4
CAMERAS = ("nyu", "astra", "sr305", "fpha", None)
SCENE_WEIGHTS = {"frontal": 0.45, "topdown": 0.3, "egocentric": 0.25}
HARD_STREAM = 9_000
"""Offset of the hard-scene case numbers in training generators (keeps them off the held-out set's keys)."""
CACHE_META = "cache.json"


@dataclass(frozen=True, slots=True)
class DetectorSample:
    """One training frame at network resolution (K labelled hands, K ≤ :data:`MAX_LABELS`).

    Attributes:
        depth_mm: (INPUT_HEIGHT, INPUT_WIDTH) float32 downscaled depth, mm, 0 = invalid.
        centers_uv: (K, 2) projected palm centres, input pixels.
        boxes_xyxy: (K, 4) hand boxes (edge coordinates), input pixels.
        right: (K,) bool, True for a right hand.
    """

    depth_mm: F32
    centers_uv: npt.NDArray[np.float64]
    boxes_xyxy: npt.NDArray[np.float64]
    right: npt.NDArray[np.bool_]


def sample_synthetic_frame(rng: np.random.Generator, p_empty: float = 0.05) -> tuple[Any, F32]:
    """Render one random synthetic frame (random family, camera, noise, far cut-off; sometimes no hand).

    Args:
        rng: The only source of randomness.
        p_empty: Probability of removing the labelled hands (and their arms) to make a negative frame.

    Returns:
        ``(sample, depth_mm)``: the :class:`depthhand.synth.scenes.SynthSample` and its (H, W) depth after the
        random far cut-off.
    """
    from dataclasses import replace

    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.scenes import render_scene, sample_scene

    fams = list(SCENE_WEIGHTS)
    family = str(rng.choice(fams, p=np.array(list(SCENE_WEIGHTS.values()))))
    cam = CAMERAS[int(rng.integers(len(CAMERAS)))]
    scene = sample_scene(family, rng, INTRINSICS[cam] if cam else None, distractors=rng.random() < 0.9)
    if rng.random() < p_empty:
        scene = replace(scene, hands=(), geometries=())
    sample = render_scene(scene, rng, noise="random" if rng.random() < 0.9 else None)
    depth = sample.depth_mm
    if rng.random() < 0.35:  # short-range sensor: the background beyond a cut-off is invalid
        nearest_far = float(sample.center_xyz_mm[:, 2].max()) + 150.0 if len(sample.handedness) else 500.0
        cut = max(nearest_far, float(rng.uniform(700.0, 1800.0)))
        depth = np.where(depth <= cut, depth, np.float32(0.0)).astype(np.float32)
    return sample, depth


def labelled_hands(sample: Any) -> npt.NDArray[np.bool_]:
    """(K,) which hands of a ``SynthSample`` count as labels: centre inside the image, ≥ 4 visible joints."""
    from depthhand.geometry.camera import xyz_to_uvd

    intr = sample.intrinsics
    k = len(sample.handedness)
    if k == 0:
        return np.zeros(0, bool)
    uvd = xyz_to_uvd(sample.center_xyz_mm, intr)
    inside = (uvd[:, 0] >= 0) & (uvd[:, 0] < intr.width) & (uvd[:, 1] >= 0) & (uvd[:, 1] < intr.height)
    out: npt.NDArray[np.bool_] = inside & (sample.visibility.sum(axis=1) >= 4)
    return out


def render_detector_sample(rng: np.random.Generator, p_empty: float = 0.05) -> DetectorSample:
    """One random synthetic frame (:func:`sample_synthetic_frame`) at network resolution with detector labels."""
    sample, depth = sample_synthetic_frame(rng, p_empty)
    return detector_sample(sample, depth)


def render_hard_detector_sample(seed: int, index: int) -> DetectorSample:
    """Frame ``index`` of a hard-scene training stream (case cycled, sensor family cycled) with detector labels.

    The generator is ``default_rng([seed, HARD_STREAM + case_number, index])``: never the held-out hard set's
    ``[HARD_SEED, case_number, i]`` (nor any other seed's hard set, whose second entry is below 9).

    Raises:
        ValueError: ``seed`` is the held-out hard set's seed.
    """
    from depthhand.evaluate.hard_set import HARD_SEED
    from depthhand.synth.hard_scenes import HARD_CASES, render_hard_scene, sample_hard_scene

    if seed == HARD_SEED:
        raise ValueError(f"seed {seed} is the held-out hard set's seed; train on another")
    c = index % len(HARD_CASES)
    rng = np.random.default_rng([seed, HARD_STREAM + c, index // len(HARD_CASES)])
    hs = sample_hard_scene(HARD_CASES[c], rng, index // len(HARD_CASES))
    sample, depth = render_hard_scene(hs, rng)
    return detector_sample(sample, depth)


def detector_sample(
    sample: Any, depth: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_] | None = None
) -> DetectorSample:
    """A rendered ``SynthSample`` and its (H, W) sensor depth (mm) → network-resolution sample with labels.

    Args:
        sample: The rendered ``SynthSample`` (K hands).
        depth: (H, W) depth, mm, 0 = invalid.
        keep: (K,) which hands are labels (default :func:`labelled_hands`).
    """
    from depthhand.geometry.camera import xyz_to_uvd
    from depthhand.structures import Handedness

    k = len(sample.handedness)
    keep = labelled_hands(sample) if keep is None else np.asarray(keep, bool)
    small, box = downscale_depth(depth)
    centers, boxes, right = [], [], []
    intr = sample.intrinsics
    for i in range(k):
        if not keep[i]:
            continue
        uvd = xyz_to_uvd(sample.center_xyz_mm[i], intr)
        centers.append(box.to_input(uvd[:2]))
        b = sample.boxes_xyxy[i].astype(np.float64)
        boxes.append(np.concatenate([box.to_input(b[:2]), box.to_input(b[2:])]))
        right.append(sample.handedness[i] == Handedness.RIGHT)
    return DetectorSample(
        depth_mm=small,
        centers_uv=np.array(centers, np.float64).reshape(-1, 2),
        boxes_xyxy=np.array(boxes, np.float64).reshape(-1, 4),
        right=np.array(right, bool),
    )


def _pack(samples: list[DetectorSample]) -> dict[str, npt.NDArray[Any]]:
    n = len(samples)
    out: dict[str, npt.NDArray[Any]] = {
        "depth_mm": np.zeros((n, INPUT_HEIGHT, INPUT_WIDTH), np.uint16),
        "centers_uv": np.full((n, MAX_LABELS, 2), np.nan, np.float32),
        "boxes_xyxy": np.full((n, MAX_LABELS, 4), np.nan, np.float32),
        "right": np.full((n, MAX_LABELS), -1, np.int8),
    }
    for i, s in enumerate(samples):
        out["depth_mm"][i] = np.clip(np.round(s.depth_mm), 0, 65535).astype(np.uint16)
        k = min(len(s.right), MAX_LABELS)
        out["centers_uv"][i, :k] = s.centers_uv[:k]
        out["boxes_xyxy"][i, :k] = s.boxes_xyxy[:k]
        out["right"][i, :k] = s.right[:k]
    return out


def unpack(arrays: dict[str, npt.NDArray[Any]], i: int) -> DetectorSample:
    """Sample ``i`` of packed arrays (inverse of the cache packing)."""
    keep = arrays["right"][i] >= 0
    return DetectorSample(
        depth_mm=arrays["depth_mm"][i].astype(np.float32),
        centers_uv=arrays["centers_uv"][i][keep].astype(np.float64),
        boxes_xyxy=arrays["boxes_xyxy"][i][keep].astype(np.float64),
        right=arrays["right"][i][keep] == 1,
    )


def is_hard_frame(seed: int, index: int, hard_fraction: float) -> bool:
    """Whether cache frame ``index`` comes from the hard scenes (a fixed draw per frame; never for fraction 0)."""
    if hard_fraction <= 0.0:
        return False
    return hard_fraction >= 1.0 or float(np.random.default_rng([seed, index, HARD_STREAM]).random()) < hard_fraction


def generate_cache(
    out_dir: str | Path,
    count: int,
    seed: int,
    chunk: int = 500,
    progress: bool = True,
    hard_fraction: float = 0.0,
    live_fraction: float = 0.0,
) -> Path:
    """Render ``count`` synthetic detector samples into ``out_dir/chunk_XXXX.npz`` (atomic; resumable).

    Sample ``i`` is a live-style frame (:func:`depthhand.train.detector_live.render_live_detector_sample`
    ``(seed, i)``) where :func:`~depthhand.train.detector_live.is_live_frame` says so, else a hard-scene frame
    (:func:`render_hard_detector_sample` ``(seed, i)``) where :func:`is_hard_frame` says so, otherwise a standard
    one from ``default_rng([seed, i])`` (with both fractions 0, exactly the frames of earlier versions).
    ``out_dir/cache.json`` records seed, count and fractions (the live one only when > 0, so folders rendered
    before it existed still match); existing chunks are kept.

    Raises:
        ValueError: A fraction outside [0, 1], or the folder was rendered with other settings.
    """
    from tqdm import tqdm

    for name, frac in (("hard_fraction", hard_fraction), ("live_fraction", live_fraction)):
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {frac}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"seed": seed, "count": count, "chunk": chunk, "hard_fraction": hard_fraction}
    if live_fraction > 0.0:
        meta["live_fraction"] = live_fraction
    meta_path = out / CACHE_META
    if meta_path.is_file():
        import json

        old = json.loads(meta_path.read_text())
        if old != meta:
            raise ValueError(f"{meta_path}: cache rendered with {old}, asked for {meta}; use another folder")
    else:
        atomic.write_json(meta_path, meta)
    bar = tqdm(total=count, desc=f"render detector frames (seed {seed})", disable=not progress)
    from depthhand.train.detector_live import is_live_frame, render_live_detector_sample

    for c0 in range(0, count, chunk):
        path = out / f"chunk_{c0 // chunk:04d}.npz"
        n = min(chunk, count - c0)
        if path.exists():
            bar.update(n)
            continue
        samples = []
        for i in range(c0, c0 + n):
            if is_live_frame(seed, i, live_fraction):
                samples.append(render_live_detector_sample(seed, i))
            elif is_hard_frame(seed, i, hard_fraction):
                samples.append(render_hard_detector_sample(seed, i))
            else:
                samples.append(render_detector_sample(np.random.default_rng([seed, i])))
            bar.update(1)
        with atomic.atomic_path(path) as tmp:
            np.savez_compressed(tmp, **_pack(samples))  # type: ignore[arg-type]
    bar.close()
    return out


def load_cache(dirs: list[Path]) -> dict[str, npt.NDArray[Any]]:
    """Concatenate all chunks of the cache folders."""
    parts: dict[str, list[npt.NDArray[Any]]] = {}
    for d in dirs:
        files = sorted(Path(d).glob("chunk_*.npz"))
        if not files:
            raise FileNotFoundError(f"no chunk_*.npz detector cache files in {d}")
        for f in files:
            with np.load(f) as z:
                for k in z.files:
                    parts.setdefault(k, []).append(z[k])
    return {k: np.concatenate(v) for k, v in parts.items()}


def load_real_labels(labels_json: str | Path, frames_dir: str | Path, camera: str) -> list[DetectorSample]:
    """Real frames with box labels → detector samples (the file format: :mod:`depthhand.evaluate.real_labels`).

    Raises:
        ValueError: Unknown camera or a malformed label file.
        FileNotFoundError: A labelled frame is missing or unreadable.
    """
    from depthhand.evaluate.real_labels import load_box_labels

    out = []
    for lab in load_box_labels(labels_json, frames_dir, camera):
        b = lab.box_xyxy
        small, lb = downscale_depth(lab.frame.depth_mm)
        out.append(
            DetectorSample(
                depth_mm=small,
                centers_uv=lb.to_input(lab.center_uv)[None],
                boxes_xyxy=np.concatenate([lb.to_input(b[:2]), lb.to_input(b[2:])])[None],
                right=np.array([lab.handedness.value == "right"]),
            )
        )
    return out


def augment_sample(sample: DetectorSample, rng: np.random.Generator) -> DetectorSample:
    """Random mirror (swaps handedness), zoom 0.8–1.25 with shift, depth scale, jitter and invalid cut-outs."""
    import cv2

    d = sample.depth_mm.copy()
    c, b, right = sample.centers_uv.copy(), sample.boxes_xyxy.copy(), sample.right.copy()
    h, w = d.shape
    if rng.random() < 0.5:
        d = d[:, ::-1].copy()
        c[:, 0] = (w - 1) - c[:, 0]
        b[:, [0, 2]] = (w - 1) - b[:, [2, 0]]
        right = ~right
    if rng.random() < 0.7:
        s = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
        tx = rng.uniform(-0.15, 0.15) * w + (1 - s) * (w - 1) / 2
        ty = rng.uniform(-0.15, 0.15) * h + (1 - s) * (h - 1) / 2
        m = np.array([[s, 0.0, tx], [0.0, s, ty]])
        d = np.asarray(cv2.warpAffine(d, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0.0), np.float32)
        c = c * s + [tx, ty]
        b = b * s + [tx, ty, tx, ty]
    valid = d > 0
    d = np.where(valid, d * rng.uniform(0.9, 1.1) + rng.normal(0, rng.uniform(0, 8), d.shape), 0).astype(np.float32)
    for _ in range(int(rng.poisson(1.0))):
        cu, cv, rw, rh = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 12), rng.uniform(2, 12)
        d[int(max(0, cv - rh)) : int(cv + rh), int(max(0, cu - rw)) : int(cu + rw)] = 0.0
    keep = (c[:, 0] >= 0) & (c[:, 0] < w) & (c[:, 1] >= 0) & (c[:, 1] < h)
    return DetectorSample(np.maximum(d, 0), c[keep], b[keep], right[keep])


def make_targets(sample: DetectorSample, stride: int = STRIDE) -> dict[str, F32]:
    """CenterNet targets on the (H/stride, W/stride) grid of one sample.

    Returns:
        ``heat`` (1, Hg, Wg) Gaussian peaks (1 at each centre cell), ``right`` (1, Hg, Wg) 0/1 handedness,
        ``right_w`` (1, Hg, Wg) handedness weight, ``offset`` (2, Hg, Wg), ``ltrb`` (4, Hg, Wg) log edge distances
        and ``mask`` (1, Hg, Wg) 1 at centre cells.
    """
    hg, wg = sample.depth_mm.shape[0] // stride, sample.depth_mm.shape[1] // stride
    t = {
        "heat": np.zeros((1, hg, wg), np.float32),
        "right": np.zeros((1, hg, wg), np.float32),
        "right_w": np.zeros((1, hg, wg), np.float32),
        "offset": np.zeros((2, hg, wg), np.float32),
        "ltrb": np.zeros((4, hg, wg), np.float32),
        "mask": np.zeros((1, hg, wg), np.float32),
    }
    gy, gx = np.mgrid[0:hg, 0:wg] + 0.5
    for c, b, r in zip(sample.centers_uv, sample.boxes_xyxy, sample.right, strict=True):
        row, col, ox, oy = encode_center(c, stride)
        if not (0 <= row < hg and 0 <= col < wg):
            continue
        side = max(1.0, min(b[2] - b[0], b[3] - b[1])) / stride
        sigma = max(0.75, 0.15 * side)
        g = np.exp(-((gx - c[0] / stride) ** 2 + (gy - c[1] / stride) ** 2) / (2 * sigma**2)).astype(np.float32)
        g[row, col] = 1.0
        t["heat"][0] = np.maximum(t["heat"][0], g)
        near = g > 0.3
        t["right"][0][near] = float(r)
        t["right_w"][0][near] = np.maximum(t["right_w"][0][near], g[near])
        t["offset"][:, row, col] = (ox, oy)
        dist = np.array([c[0] - b[0], c[1] - b[1], b[2] - c[0], b[3] - c[1]])
        t["ltrb"][:, row, col] = np.log(np.maximum(dist, 1.0))
        t["mask"][0, row, col] = 1.0
    return t
