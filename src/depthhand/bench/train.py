"""Training-step benchmark: one optimiser step (forward, fp32 loss, backward, Adam) per model and precision.

* ``train.step``: batch 64 of realistic 96×96 patches with their targets, torch CPU threads as set (2 here), for
  depthhand_fast and CrossInfoNet (MSRA-21) in fp32 and bfloat16 autocast (``depthhand train --precision``).
  Headline = depthhand_fast bf16 samples/s. bf16 is reported only where the CPU runs it (it is emulated, and slow,
  without AVX-512 BF16 / AMX); the details say whether the flag is present.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from depthhand.bench.core import BenchResult, benchmark, time_calls

MODELS = ("depthhand_fast", "crossinfonet_msra21")
BATCH = 64


def _batch(model: Any) -> dict[str, Any]:
    import torch

    from depthhand.export.onnx import realistic_patches
    from depthhand.train.data import heatmaps_from_uvd_crop

    rng = np.random.default_rng(0)
    cfg = model.cfg
    n_joints = int(model.num_joints)
    joints = rng.uniform(-0.6, 0.6, (BATCH, n_joints, 3)).astype(np.float32)
    batch = {
        "patch": torch.from_numpy(realistic_patches(rng, BATCH)),
        "joints_crop": torch.from_numpy(joints),
        "joints_uvd_crop": torch.from_numpy(joints),
    }
    if cfg.heatmaps:
        maps = [heatmaps_from_uvd_crop(j, cfg.input_size) for j in joints]
        batch["heatmaps"] = torch.from_numpy(np.stack(maps).astype(np.float32))
    return batch


@benchmark("train.step", "one Adam training step, batch 64 at 96×96, both models, fp32 and bf16 autocast (samples/s)")
def bench_train_step(quick: bool) -> BenchResult:
    """Step time of :func:`depthhand.train.engine.train_one_epoch` on one batch, per model and precision."""
    import torch

    from depthhand.models.registry import create_model
    from depthhand.pose.cpu_features import cpu_has_bf16
    from depthhand.train.distributed import DistInfo
    from depthhand.train.engine import make_optimizer, train_one_epoch

    has_bf16 = cpu_has_bf16()
    precisions = ("fp32", "bf16") if has_bf16 else ("fp32",)
    details: dict[str, Any] = {"batch": BATCH, "threads": torch.get_num_threads(), "cpu_bf16": has_bf16}
    info = DistInfo()
    scaler = torch.amp.GradScaler(info.device.type, enabled=False)
    for name in MODELS:
        torch.manual_seed(0)
        model = create_model(name).train()
        batch = _batch(model)
        opt = make_optimizer(model, 1e-4, 1e-5)
        for precision in precisions:

            def step(model: Any = model, opt: Any = opt, batch: Any = batch, precision: str = precision) -> None:
                train_one_epoch(model, cast(Any, [batch]), opt, scaler, info, precision)  # a one-batch loader

            stats = time_calls(step, repeat=3 if quick else 10, warmup=1 if quick else 2)
            details[f"{name}_{precision}_step_ms"] = stats["median_ms"]
            details[f"{name}_{precision}_samples_s"] = BATCH / stats["median_ms"] * 1e3
    head = details.get("depthhand_fast_bf16_samples_s", details["depthhand_fast_fp32_samples_s"])
    return BenchResult("train.step", float(head), "samples/s", BATCH, details)
