"""``depthhand train``: train a pose network (single process, or under ``torchrun`` for DDP)."""

from __future__ import annotations

import argparse

NAME = "train"
HELP = "Train a pose network on nyu:/icvl:/msra:/hands17:/crops:/synth: data (torchrun for several processes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("--data", help="nyu:DIR | icvl:DIR | msra:DIR[:fold] | hands17:DIR | "
                        "crops:FILE.npz[,FILE2.npz...] | synth:DIR")  # fmt: skip
    parser.add_argument("--val-data", help="separate validation data (default: hold out --val-fraction)")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="held-out tail of the training data")
    parser.add_argument("--model", default="depthhand_fast", help="registry name (see --list-models)")
    parser.add_argument("--joint-set", help="output skeleton for models that take one (depthhand_fast)")
    parser.add_argument("--cube", type=float, help="cube side in mm (default: the model's)")
    parser.add_argument("--cube-jitter", type=int, default=0, help="NYU recipe: per-sample cube + 10·randint(0..N) mm")
    parser.add_argument("--augment", choices=("none", "crossinfonet", "combined"), default="crossinfonet",
                        help="one mode per sample (CrossInfoNet) or shift+rotation+scale together; "
                        "crops: files are augmented in the crop frame")  # fmt: skip
    parser.add_argument("--rotation-deg", type=float, default=180.0,
                        help="augmentation: in-plane rotation drawn uniformly in ±DEG (CrossInfoNet: 180)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=0.96)
    parser.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                        help="validate, select and save an exponential moving average of the weights updated "
                        "every step with this decay, e.g. 0.999 (default 0 = off)")  # fmt: skip
    parser.add_argument("--joint-loss", choices=("smooth_l1", "euclidean"),
                        help="depthhand_fast: joint term of the loss (default smooth_l1; euclidean = the mean "
                        "per-joint distance, the evaluation metric)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=23455)
    parser.add_argument("--out", default="runs/train", help="checkpoints, metrics.csv and TensorBoard logs")
    parser.add_argument("--resume", help="continue from a last.pt (model, optimiser, epoch and schedule)")
    parser.add_argument("--init-weights", help="start from a checkpoint's weights with a fresh optimiser and schedule")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="auto = fp16 mixed precision on CUDA, fp32 on CPU; bf16 = bfloat16 autocast (CPU or CUDA)",
    )
    parser.add_argument("--no-amp", action="store_true", help="same as --precision fp32")
    parser.add_argument("--max-steps", type=int, help="cut each epoch short (smoke runs)")
    parser.add_argument("--threads", type=int, help="torch CPU threads per process")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--list-models", action="store_true", help="list the models and exit")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from typing import Any

    import torch
    from torch.utils.data import Dataset

    from depthhand.geometry.augment import AugmentRecipe
    from depthhand.models.registry import create_model, get_model_cfg, list_models
    from depthhand.skeleton import get_joint_set
    from depthhand.train.checkpoint import init_from_checkpoint
    from depthhand.train.data import SampleConfig
    from depthhand.train.distributed import cleanup_distributed, setup_distributed
    from depthhand.train.engine import TrainConfig, fit
    from depthhand.train.spec import crop_file_paths, open_training_data, split_train_val

    if args.list_models:
        print("\n".join(list_models()))
        return 0
    if not args.data:
        raise ValueError("--data is required (nyu:DIR, icvl:DIR, msra:DIR[:fold], hands17:DIR, crops:FILE.npz)")
    if args.threads:
        torch.set_num_threads(args.threads)
    kwargs = {"joint_set": args.joint_set} if args.joint_set else {}
    if args.joint_loss:
        if args.model != "depthhand_fast":
            raise ValueError(f"--joint-loss applies to depthhand_fast, not {args.model}")
        kwargs["joint_loss"] = args.joint_loss
    if args.cube:
        kwargs["cube_mm"] = args.cube
    elif args.data.startswith("crops:"):  # pre-cut crops fix the cube: the model (and its export) must use it
        import numpy as np

        paths = crop_file_paths(args.data.partition(":")[2])  # none: open_training_data says so below
        if paths:
            with np.load(paths[0]) as data:
                if "cube_mm" in data:
                    kwargs["cube_mm"] = float(data["cube_mm"])
    info = setup_distributed(args.device)
    try:
        torch.manual_seed(args.seed)
        model = create_model(args.model, **kwargs)
        if args.init_weights:
            if args.resume:
                raise ValueError("give --resume (continue a run) or --init-weights (fine-tune), not both")
            init_from_checkpoint(model, args.init_weights)
        cfg = get_model_cfg(model)
        if not 0 <= args.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (0 = off), got {args.ema}")
        if not 0 <= args.rotation_deg <= 180:
            raise ValueError(f"--rotation-deg must be in [0, 180], got {args.rotation_deg}")
        recipe = None
        if args.augment != "none":
            recipe = AugmentRecipe(rotation_max_deg=args.rotation_deg, combine=args.augment == "combined")
        sample_cfg = SampleConfig(get_joint_set(cfg.joint_set), cfg.input_size, cfg.cube_mm, args.cube_jitter,
                                  recipe, cfg.heatmaps, args.seed)  # fmt: skip
        train_set = open_training_data(args.data, sample_cfg)
        val_set: Dataset[Any] | None
        if args.val_data:
            val_cfg = SampleConfig(sample_cfg.joint_set, cfg.input_size, cfg.cube_mm, heatmaps=cfg.heatmaps)
            val_set = open_training_data(args.val_data, val_cfg)
        else:
            train_set, val_set = split_train_val(train_set, args.val_fraction)
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay, workers=args.workers,
            seed=args.seed, out_dir=args.out, precision="fp32" if args.no_amp else args.precision,
            max_steps_per_epoch=args.max_steps, progress=not args.no_progress, ema_decay=args.ema,
        )  # fmt: skip
        history = fit(model, train_set, val_set, config, info, resume=args.resume)
        if info.is_main and history:
            last = history[-1]
            err = last.get("val_mean_err_mm", float("nan"))
            print(f"trained {len(history)} epoch(s); last train loss {last['train_loss']:.5g}, val error {err:.2f} mm")
            print(f"checkpoints in {args.out}/ (last.pt, best.pt), metrics in {args.out}/metrics.csv")
    finally:
        cleanup_distributed()
    return 0
