"""Training data, loop and ONNX export of the learned depth-only hand detector (``depthhand train-detector``).

Data: full synthetic frames from :mod:`depthhand.synth.scenes` (all families, distractors, randomised sensor noise,
randomised camera presets, a random far cut-off that mimics short-range sensors dropping the background, a few
frames without any hand), downscaled with :func:`depthhand.detect.cnn_decode.downscale_depth` and cached as uint16
mm arrays; optionally real frames with box labels from a JSON file (format of ``tests/data/sr305_boxes.json``).
Targets follow CenterNet (Zhou et al. 2019): a Gaussian at the projected palm centre, sub-cell offset, box edge
distances and a right-hand logit at the centre cell. Loss: penalty-reduced focal loss on the heat map, L1 on the
offset and log edge distances, binary cross-entropy on handedness.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.detect.cnn_decode import FAR_MM, INPUT_HEIGHT, INPUT_WIDTH, STRIDE, downscale_depth, encode_center

F32 = npt.NDArray[np.float32]
MAX_LABELS = 4
CAMERAS = ("nyu", "astra", "sr305", "fpha", None)
SCENE_WEIGHTS = {"frontal": 0.45, "topdown": 0.3, "egocentric": 0.25}


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
    from depthhand.geometry.camera import xyz_to_uvd
    from depthhand.structures import Handedness

    sample, depth = sample_synthetic_frame(rng, p_empty)
    k = len(sample.handedness)
    keep = labelled_hands(sample)
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


def generate_cache(out_dir: str | Path, count: int, seed: int, chunk: int = 500, progress: bool = True) -> Path:
    """Render ``count`` synthetic detector samples into ``out_dir/chunk_XXXX.npz`` (atomic; resumable).

    Sample ``i`` comes from ``default_rng([seed, i])``; existing chunks are kept.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=count, desc=f"render detector frames (seed {seed})", disable=not progress)
    for c0 in range(0, count, chunk):
        path = out / f"chunk_{c0 // chunk:04d}.npz"
        n = min(chunk, count - c0)
        if path.exists():
            bar.update(n)
            continue
        samples = []
        for i in range(c0, c0 + n):
            samples.append(render_detector_sample(np.random.default_rng([seed, i])))
            bar.update(1)
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
        np.savez_compressed(tmp, **_pack(samples))  # type: ignore[arg-type]
        tmp.replace(path)
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
    """Real frames with box labels → detector samples.

    ``labels_json`` holds ``{"frames": {"<name>": {"box_xyxy": [u0, v0, u1, v1], "center_uvd": [u, v, d],
    "handedness": "right"}}}`` (handedness optional, default right; centre optional, default box centre); frame
    ``<name>`` is read from ``frames_dir/<name>.png`` (16-bit, raw units × the camera's ``depth_unit_mm``).
    """
    import cv2

    from depthhand.geometry.camera import INTRINSICS

    if camera not in INTRINSICS:
        raise ValueError(f"camera must be one of {sorted(INTRINSICS)}, got {camera!r}")
    unit = INTRINSICS[camera].depth_unit_mm
    data = json.loads(Path(labels_json).read_text())
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, dict):
        raise ValueError(f"{labels_json}: expected an object with a 'frames' mapping")
    out = []
    for name, lab in frames.items():
        path = Path(frames_dir) / f"{name}.png"
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FileNotFoundError(f"{labels_json}: frame {name!r} not found or unreadable at {path}")
        if "box_xyxy" not in lab:
            raise ValueError(f"{labels_json}: frame {name!r} has no 'box_xyxy'")
        b = np.asarray(lab["box_xyxy"], np.float64)
        c = np.asarray(lab.get("center_uvd", [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]), np.float64)[:2]
        small, lb = downscale_depth(raw.astype(np.float32) * unit)
        out.append(
            DetectorSample(
                depth_mm=small,
                centers_uv=lb.to_input(c)[None],
                boxes_xyxy=np.concatenate([lb.to_input(b[:2]), lb.to_input(b[2:])])[None],
                right=np.array([lab.get("handedness", "right") == "right"]),
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


def detector_loss(out: dict[str, Any], tgt: dict[str, Any]) -> tuple[Any, dict[str, float]]:
    """Focal heat-map loss + L1 offset/size + weighted BCE handedness (torch tensors, logits in ``out``)."""
    import torch
    from torch.nn import functional as F

    p = torch.sigmoid(out["heat"]).clamp(1e-4, 1 - 1e-4)
    pos = tgt["heat"].eq(1).float()
    n_pos = pos.sum().clamp(min=1.0)
    focal = -(pos * (1 - p) ** 2 * torch.log(p) + (1 - pos) * (1 - tgt["heat"]) ** 4 * p**2 * torch.log(1 - p))
    l_heat = focal.sum() / n_pos
    m = tgt["mask"]
    l_off = (m * (torch.sigmoid(out["offset"]) - tgt["offset"]).abs()).sum() / n_pos
    l_size = (m * (out["ltrb"] - tgt["ltrb"]).abs()).sum() / n_pos
    bce = F.binary_cross_entropy_with_logits(out["right"], tgt["right"], reduction="none")
    l_hand = (tgt["right_w"] * bce).sum() / tgt["right_w"].sum().clamp(min=1.0)
    total = l_heat + l_off + 0.5 * l_size + 0.5 * l_hand
    parts = {"heat": l_heat, "off": l_off, "size": l_size, "hand": l_hand}
    return total, {k: float(v.detach()) for k, v in parts.items()}


@dataclass(frozen=True, slots=True)
class DetectorTrainConfig:
    """Settings of ``depthhand train-detector``.

    Attributes:
        cache_dirs: Folders of rendered synthetic samples (rendered first when missing).
        out: ONNX file to write.
        render_count: Frames rendered into an empty cache folder (per folder, seed = 1000 + folder number).
        epochs: Passes over the data.
        batch_size: Frames per step.
        lr: Peak AdamW learning rate (cosine decay).
        width: Network width (:func:`depthhand.models.detector.build_detector`).
        threads: Torch CPU threads.
        seed: Training randomness (augmentation, order, initialisation).
        max_minutes: Wall-time limit; training stops early (and still exports) when reached.
        max_steps: Optional step limit (tests).
        real_labels: Optional JSON of real frames with box labels (see :func:`load_real_labels`).
        real_frames: Folder of the real PNG frames.
        real_camera: Camera preset of the real frames.
        real_repeat: How often each real frame appears per epoch.
        checkpoint: Checkpoint path (written atomically after every epoch); default ``out`` with ``.pt``.
    """

    cache_dirs: tuple[Path, ...]
    out: Path
    render_count: int = 6000
    epochs: int = 6
    batch_size: int = 32
    lr: float = 3e-3
    width: int = 32
    threads: int = 2
    seed: int = 0
    max_minutes: float = 25.0
    max_steps: int | None = None
    real_labels: Path | None = None
    real_frames: Path | None = None
    real_camera: str = "sr305"
    real_repeat: int = 20
    checkpoint: Path | None = None


def export_detector_onnx(net: Any, path: str | Path, metadata: dict[str, str]) -> Path:
    """Export ``net`` (a :class:`HandDetectorNet`) to ONNX with ``metadata`` as model properties (atomic)."""
    import onnx
    import torch

    from depthhand.models.detector import OUTPUT_NAMES, ExportWrapper

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.onnx")
    wrapper = ExportWrapper(net).eval()
    dummy = torch.zeros(1, 2, INPUT_HEIGHT, INPUT_WIDTH)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(tmp),
            input_names=["depth"],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={"depth": {0: "batch"}, **{n: {0: "batch"} for n in OUTPUT_NAMES}},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(tmp))
    for k, v in metadata.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = k, v
    onnx.save(model, str(tmp))
    tmp.replace(path)
    return path


def default_metadata(width: int) -> dict[str, str]:
    """ONNX metadata read by :class:`depthhand.detect.cnn.CnnHandDetector`."""
    return {
        "depthhand.model": "hand_detector",
        "input_width": str(INPUT_WIDTH),
        "input_height": str(INPUT_HEIGHT),
        "stride": str(STRIDE),
        "far_mm": str(FAR_MM),
        "normalisation": "channels: valid ? clip(1 - depth_mm / far_mm, 0, 1) : 0, and the validity mask; "
        "valid-aware area downscale, letterbox at top-left",
        "classes": json.dumps(["hand"]),
        "handedness": json.dumps(["left", "right"]),
        "outputs": "heat, right (probabilities), offset (cells), ltrb (log input px)",
        "width": str(width),
        "palm_offset_mm": "14.0",
    }


def learning_rate(peak: float, step: int, total_steps: int, elapsed_s: float, limit_s: float) -> float:
    """Linear warm-up over the first 3 %, then cosine decay to 1 % of ``peak``.

    Progress is the larger of the step fraction and the wall-time fraction, so a run stopped by its time limit
    still ends annealed.
    """
    progress = min(1.0, max(step / max(1, total_steps), elapsed_s / max(1e-9, limit_s)))
    if progress < 0.03:
        return peak * max(0.05, progress / 0.03)
    return peak * (0.01 + 0.99 * 0.5 * (1 + float(np.cos(np.pi * (progress - 0.03) / 0.97))))


def _batch(samples: list[DetectorSample]) -> tuple[Any, dict[str, Any]]:
    import torch

    from depthhand.detect.cnn_decode import normalize_depth

    x = torch.from_numpy(np.stack([normalize_depth(s.depth_mm) for s in samples]))
    tg = [make_targets(s) for s in samples]
    return x, {k: torch.from_numpy(np.stack([t[k] for t in tg])) for k in tg[0]}


def train_detector(cfg: DetectorTrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train the detector, export ONNX to ``cfg.out``; returns a summary (steps, losses, time, sizes)."""
    import time

    import torch
    from tqdm import tqdm

    from depthhand.models.detector import build_detector

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    for i, d in enumerate(cfg.cache_dirs):
        if not any(Path(d).glob("chunk_*.npz")):
            generate_cache(d, cfg.render_count, 1000 + i, chunk=min(500, cfg.render_count), progress=progress)
    arrays = load_cache(list(cfg.cache_dirs))
    n_syn = len(arrays["right"])
    n_val = min(256, n_syn // 10)
    train_idx = list(range(n_syn - n_val))
    real = []
    if cfg.real_labels is not None:
        if cfg.real_frames is None:
            raise ValueError("real_labels needs real_frames (the folder of the labelled PNG frames)")
        real = load_real_labels(cfg.real_labels, cfg.real_frames, cfg.real_camera)
    items: list[int] = train_idx + [-(j + 1) for j in range(len(real))] * cfg.real_repeat
    rng = np.random.default_rng(cfg.seed)
    net = build_detector(cfg.width)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps_per_epoch = max(1, len(items) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    ckpt = cfg.checkpoint or cfg.out.with_suffix(".pt")
    t0, step, history = time.monotonic(), 0, []
    bar = tqdm(total=total, desc="train detector", disable=not progress)
    stop = False
    for epoch in range(cfg.epochs):
        net.train()
        order = rng.permutation(len(items))
        for s0 in range(0, steps_per_epoch * cfg.batch_size, cfg.batch_size):
            batch = [
                augment_sample(unpack(arrays, items[j]) if items[j] >= 0 else real[-items[j] - 1], rng)
                for j in order[s0 : s0 + cfg.batch_size]
            ]
            x, tgt = _batch(batch)
            loss, parts = detector_loss(net(x), tgt)
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg.lr, step, total, time.monotonic() - t0, cfg.max_minutes * 60)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
            if step >= total or time.monotonic() - t0 > cfg.max_minutes * 60:
                stop = True
                break
        net.eval()
        with torch.no_grad():
            xv, tv = _batch([unpack(arrays, i) for i in range(n_syn - n_val, n_syn)])
            vloss, vparts = detector_loss(net(xv), tv)
        history.append({"epoch": epoch, "step": step, "val_loss": float(vloss), **vparts})
        bar.write(f"epoch {epoch}: step {step}, val loss {float(vloss):.4f} {vparts}")
        tmp = ckpt.with_name(f".{ckpt.name}.tmp{os.getpid()}")
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "step": step}, tmp)
        tmp.replace(ckpt)
        if stop:
            break
    bar.close()
    export_detector_onnx(net, cfg.out, default_metadata(cfg.width))
    return {
        "steps": step,
        "epochs_run": len(history),
        "train_frames": len(train_idx),
        "real_frames": len(real),
        "minutes": (time.monotonic() - t0) / 60,
        "history": history,
        "parameters": sum(p.numel() for p in net.parameters()),
        "onnx_bytes": cfg.out.stat().st_size,
    }
