"""Training loop, loss and ONNX export of the learned depth-only hand detector (``depthhand train-detector``).

The data side (synthetic frames, caches, real labels, augmentation, CenterNet targets) is in
:mod:`depthhand.train.detector_data`. Loss: penalty-reduced focal loss on the heat map, L1 on the offset and log
edge distances, binary cross-entropy on handedness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.detect.cnn_decode import FAR_MM, INPUT_HEIGHT, INPUT_WIDTH, STRIDE
from depthhand.train.detector_data import (
    DetectorSample,
    augment_sample,
    generate_cache,
    load_cache,
    load_real_labels,
    make_targets,
    unpack,
)

F32 = npt.NDArray[np.float32]


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
        hard_fraction: Fraction of hard-scene frames in caches rendered here
            (:func:`~depthhand.train.detector_data.generate_cache`; 0 = the standard scenes only).
        live_fraction: Fraction of live-style frames (random moments of ``SyntheticLive``) in caches rendered here.
        cache_seed: Seed of the first rendered cache folder (folder ``i`` gets ``cache_seed + i``).
        init: Start from these weights (a ``.pt`` checkpoint or a detector ONNX export,
            :func:`~depthhand.train.detector_init.init_detector_weights`) instead of a random initialisation.
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
    hard_fraction: float = 0.0
    live_fraction: float = 0.0
    cache_seed: int = 1000
    init: Path | None = None


def export_detector_onnx(net: Any, path: str | Path, metadata: dict[str, str]) -> Path:
    """Export ``net`` (a :class:`HandDetectorNet`) to ONNX with ``metadata`` as model properties (atomic)."""
    import onnx
    import torch

    from depthhand.models.detector import OUTPUT_NAMES, ExportWrapper

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportWrapper(net).eval()
    dummy = torch.zeros(1, 2, INPUT_HEIGHT, INPUT_WIDTH)
    with atomic.atomic_path(path, suffix=".onnx") as tmp:
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


def render_caches(cfg: DetectorTrainConfig, progress: bool = True) -> None:
    """Render every empty cache folder of ``cfg`` (``render_count`` frames, seed ``cache_seed + i``)."""
    for i, d in enumerate(cfg.cache_dirs):
        if not any(Path(d).glob("chunk_*.npz")):
            generate_cache(d, cfg.render_count, cfg.cache_seed + i, chunk=min(500, cfg.render_count),
                           progress=progress, hard_fraction=cfg.hard_fraction,
                           live_fraction=cfg.live_fraction)  # fmt: skip


def train_detector(cfg: DetectorTrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train the detector, export ONNX to ``cfg.out``; returns a summary (steps, losses, time, sizes)."""
    import time

    import torch
    from tqdm import tqdm

    from depthhand.models.detector import build_detector

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    render_caches(cfg, progress)
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
    init_kind = None
    if cfg.init is not None:
        from depthhand.train.detector_init import init_detector_weights

        calib = rng.choice(len(train_idx), size=min(64, len(train_idx)), replace=False)
        xc, _ = _batch([augment_sample(unpack(arrays, train_idx[int(j)]), rng) for j in calib])
        init_kind = init_detector_weights(net, cfg.init, xc)
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
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_path(ckpt) as tmp:
            torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "step": step}, tmp)
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
        "init": None if cfg.init is None else f"{init_kind}:{cfg.init}",
    }
