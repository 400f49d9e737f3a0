from __future__ import annotations

import csv

import pytest
import torch
from torch.utils.data import default_collate

from depthhand.geometry.augment import AugmentRecipe
from depthhand.models.registry import create_model
from depthhand.skeleton import CANONICAL21
from depthhand.train.checkpoint import load_checkpoint, model_from_checkpoint
from depthhand.train.data import HandCropDataset, SampleConfig
from depthhand.train.distributed import DistInfo
from depthhand.train.engine import TrainConfig, autocast_dtype, fit, make_optimizer, train_one_epoch


@pytest.mark.slow
def test_overfit_fixed_batch(ball_samples):
    torch.manual_seed(0)
    ds = HandCropDataset(ball_samples[:8], SampleConfig(CANONICAL21))
    batch = default_collate([ds[i] for i in range(8)])
    model = create_model("depthhand_fast").train()
    opt = make_optimizer(model, 2e-3, 0.0)
    losses = []
    for _ in range(60):
        out = model(batch["patch"])
        loss, parts = model.loss(out, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(parts["joints"].detach()))
    assert losses[-1] < losses[0] / 10


def test_optimizer_decays_only_conv_linear_weights():
    model = create_model("depthhand_fast")
    opt = make_optimizer(model, 1e-3, 1e-5)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 1e-5 and no_decay["weight_decay"] == 0.0
    bn_params = {id(p) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()}
    assert bn_params and not bn_params & {id(p) for p in decay["params"]}
    n = sum(1 for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))
    assert len(decay["params"]) == n


def _config(tmp_path, name, epochs):
    return TrainConfig(
        epochs=epochs, batch_size=4, workers=0, seed=3, out_dir=str(tmp_path / name), progress=False,
        max_steps_per_epoch=2, tensorboard=False,
    )  # fmt: skip


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_run(tmp_path, ball_samples):
    cfg = SampleConfig(CANONICAL21, recipe=AugmentRecipe(), seed=3)
    train, val = HandCropDataset(ball_samples[:12], cfg), HandCropDataset(ball_samples[12:], SampleConfig(CANONICAL21))

    torch.manual_seed(0)
    straight = create_model("depthhand_fast")
    hist = fit(straight, train, val, _config(tmp_path, "a", 2))
    assert [r["epoch"] for r in hist] == [0.0, 1.0]

    torch.manual_seed(0)
    first = create_model("depthhand_fast")
    fit(first, train, val, _config(tmp_path, "b", 1))
    ckpt = tmp_path / "b" / "last.pt"
    assert load_checkpoint(ckpt)["epoch"] == 0
    resumed = create_model("depthhand_fast")
    hist2 = fit(resumed, train, val, _config(tmp_path, "b", 2), resume=ckpt)
    assert [r["epoch"] for r in hist2] == [1.0]
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    rows = list(csv.DictReader((tmp_path / "b" / "metrics.csv").open()))
    assert [float(r["epoch"]) for r in rows] == [0.0, 1.0]
    assert float(rows[1]["val_mean_err_mm"]) == pytest.approx(hist[1]["val_mean_err_mm"])
    model, state = model_from_checkpoint(tmp_path / "b" / "best.pt")
    assert state["model_cfg"]["name"] == "depthhand_fast" and not model.training


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not be read"):
        load_checkpoint(bad)


def test_precision_resolution():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype("auto", cpu) is None and autocast_dtype("auto", cuda) == torch.float16
    assert autocast_dtype("bf16", cpu) == torch.bfloat16 and autocast_dtype("fp32", cuda) is None
    with pytest.raises(ValueError, match=r"fp16.*CUDA"):
        autocast_dtype("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        autocast_dtype("half", cpu)


def test_bf16_training_runs_in_bf16_and_follows_fp32(tmp_path, ball_samples):
    """A bf16 step really computes convolutions in bfloat16, and its gradient points the same way as fp32's."""
    ds = HandCropDataset(ball_samples[:8], SampleConfig(CANONICAL21))
    batch = default_collate([ds[i] for i in range(8)])
    torch.manual_seed(0)
    start = create_model("depthhand_fast").train()
    deltas = {}
    for precision in ("fp32", "bf16"):
        model = create_model("depthhand_fast").train()
        model.load_state_dict(start.state_dict())
        seen: list[torch.dtype] = []
        hook = model.stem.register_forward_hook(lambda _m, _i, out, seen=seen: seen.append(out.dtype))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)  # update = −lr · gradient: compares the gradients
        train_one_epoch(model, [batch], opt, torch.amp.GradScaler("cpu", enabled=False), DistInfo(), precision)
        hook.remove()
        assert seen == [torch.bfloat16 if precision == "bf16" else torch.float32]
        deltas[precision] = torch.cat(
            [(p - q).flatten() for p, q in zip(model.parameters(), start.parameters(), strict=True)]
        )
    cos = torch.nn.functional.cosine_similarity(deltas["fp32"], deltas["bf16"], dim=0)
    assert cos > 0.95


def test_init_weights_fine_tunes_from_a_checkpoint(tmp_path, ball_samples):
    from depthhand.train.checkpoint import init_from_checkpoint

    cfg = SampleConfig(CANONICAL21)
    train = HandCropDataset(ball_samples[:12], cfg)
    torch.manual_seed(0)
    first = create_model("depthhand_fast")
    fit(first, train, None, _config(tmp_path, "a", 1))
    fresh = create_model("depthhand_fast")
    init_from_checkpoint(fresh, tmp_path / "a" / "last.pt")
    for p, q in zip(fresh.state_dict().values(), first.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    history = fit(fresh, train, None, _config(tmp_path, "b", 1))  # a fresh schedule: epoch 0 again
    assert [r["epoch"] for r in history] == [0.0]
    other = create_model("depthhand_fast", joint_set="nyu14")
    with pytest.raises(ValueError, match="joint_set: checkpoint 'canonical21', model 'nyu14'"):
        init_from_checkpoint(other, tmp_path / "a" / "last.pt")


def test_train_refuses_resume_with_init_weights(tmp_path, capsys):
    from depthhand.cli import main

    args = ["train", "--data", "synth:@2?seed=1", "--resume", str(tmp_path / "a.pt"), "--init-weights", "b.pt"]
    assert main([*args, "--out", str(tmp_path / "run"), "--no-progress"]) == 1
    assert "not both" in capsys.readouterr().err


@pytest.mark.slow
def test_ema_is_the_moving_average_of_the_raw_weights_and_survives_resume(tmp_path, ball_samples):
    """With one step per epoch, the average after two epochs is d·W₁ + (1 − d)·W₂ (W₁ copied at the first step)."""
    from dataclasses import replace

    from depthhand.train.engine import evaluate, make_loader

    decay = 0.75
    train = HandCropDataset(ball_samples[:12], SampleConfig(CANONICAL21))
    val = HandCropDataset(ball_samples[12:], SampleConfig(CANONICAL21))
    cfg = replace(_config(tmp_path, "a", 1), max_steps_per_epoch=1, ema_decay=decay)
    torch.manual_seed(0)
    fit(create_model("depthhand_fast"), train, val, cfg)
    first = load_checkpoint(tmp_path / "a" / "last.pt")
    assert first["ema_updates"] == 1
    for k, v in first["train_model"].items():  # the first update copies the raw weights
        assert torch.equal(first["model"][k], v), k
    hist = fit(create_model("depthhand_fast"), train, val, replace(cfg, epochs=2), resume=tmp_path / "a" / "last.pt")
    second = load_checkpoint(tmp_path / "a" / "last.pt")
    assert second["ema_updates"] == 2
    moved = 0
    for k, w2 in second["train_model"].items():
        if not w2.is_floating_point():
            continue
        w1 = first["train_model"][k].double()
        expected = decay * w1 + (1 - decay) * w2.double()
        torch.testing.assert_close(second["model"][k].double(), expected, rtol=0, atol=1e-6)
        moved += int(not torch.equal(w1.float(), w2))
    assert moved > 10  # the raw weights did change between the epochs, so the check above is not vacuous

    torch.manual_seed(0)
    straight = replace(cfg, epochs=2, out_dir=str(tmp_path / "b"))
    fit(create_model("depthhand_fast"), train, val, straight)  # the uninterrupted run ends in the same average
    for k, v in load_checkpoint(tmp_path / "b" / "last.pt")["model"].items():
        assert torch.equal(v, second["model"][k]), k

    model, _ = model_from_checkpoint(tmp_path / "a" / "last.pt")  # validation scored the averaged weights
    loader = make_loader(val, 4, False, 0, 0, 0, DistInfo())
    assert evaluate(model, loader, DistInfo())["mean_err_mm"] == pytest.approx(hist[-1]["val_mean_err_mm"], rel=1e-5)
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\)"):
        replace(cfg, ema_decay=1.0)


def test_train_cli_checks_ema(tmp_path, capsys):
    from depthhand.cli import main

    args = ["train", "--data", "synth:@2?seed=1", "--ema", "1.5", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(args) == 1
    assert "--ema must be in [0, 1)" in capsys.readouterr().err


def test_train_cli_joint_loss(tmp_path, capsys):
    from depthhand.cli import main
    from depthhand.models.registry import create_model

    assert create_model("depthhand_fast", joint_loss="euclidean").joint_loss == "euclidean"
    assert create_model("depthhand_fast").joint_loss == "smooth_l1"
    with pytest.raises(ValueError, match="joint_loss must be one of"):
        create_model("depthhand_fast", joint_loss="l3")
    base = ["train", "--data", "synth:@2?seed=1", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main([*base, "--model", "crossinfonet", "--joint-loss", "euclidean"]) == 1
    assert "--joint-loss applies to depthhand_fast" in capsys.readouterr().err
    losses = []
    for flag, run in ((["--joint-loss", "euclidean"], "e"), ([], "s")):  # same seed, data and steps
        args = ["train", "--data", "synth:@2?seed=1", "--out", str(tmp_path / run), "--no-progress", *flag]
        assert main([*args, "--epochs", "1", "--batch-size", "2", "--workers", "0"]) == 0
        rows = (tmp_path / run / "metrics.csv").read_text().splitlines()
        assert len(rows) == 2
        losses.append(float(rows[1].split(",")[2]))  # train_loss of the one epoch
    assert losses[0] > 0 and losses[1] > 0 and losses[0] != pytest.approx(losses[1], rel=1e-3)
