"""Two CPU processes under torchrun (gloo) stay in sync through depthhand.train.engine.fit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from depthhand.models.registry import create_model
    from depthhand.train.data import CropArrayDataset
    from depthhand.train.distributed import cleanup_distributed, setup_distributed
    from depthhand.train.engine import TrainConfig, fit

    out = sys.argv[1]
    info = setup_distributed("cpu")
    assert info.world_size == 2 and torch.distributed.get_backend() == "gloo"
    torch.manual_seed(100 + info.rank)  # different initial weights: DDP must broadcast rank 0's
    model = create_model("depthhand_fast")
    data = np.load(os.path.join(out, "crops.npz"))
    ds = CropArrayDataset(data["patches"], data["joints_crop"], data["joints_uvd_crop"])
    cfg = TrainConfig(epochs=1, batch_size=4, workers=0, out_dir=out + "/run", progress=False,
                      max_steps_per_epoch=3, tensorboard=False, ema_decay=0.5)
    fit(model, ds, None, cfg, info)
    torch.save(model.state_dict(), os.path.join(out, f"rank{info.rank}.pt"))
    cleanup_distributed()
    """
)


@pytest.mark.slow
def test_two_process_gloo_ddp_stays_in_sync(tmp_path: Path):
    rng = np.random.default_rng(0)
    n, j = 32, 21
    patches = np.ones((n, 96, 96), np.float32)
    patches[:, 30:66, 30:66] = rng.uniform(-0.5, 0.5, (n, 36, 36))
    joints = rng.uniform(-0.4, 0.4, (n, j, 3)).astype(np.float32)
    np.savez(tmp_path / "crops.npz", patches=patches, joints_crop=joints, joints_uvd_crop=joints)
    script = tmp_path / "ddp_worker.py"
    script.write_text(SCRIPT)
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(tmp_path / "rank0.pt")
    b = torch.load(tmp_path / "rank1.pt")
    torch.manual_seed(100)
    from depthhand.models.registry import create_model

    net = create_model("depthhand_fast")
    init = net.state_dict()
    params = [k for k, _ in net.named_parameters()]  # BN running statistics are per-rank buffers, not compared
    moved = False
    for k in params:
        assert torch.equal(a[k], b[k]), f"{k} differs between ranks"
        if a[k].is_floating_point() and not torch.equal(a[k], init[k]):
            moved = True
    assert moved, "parameters did not change: no training happened"
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)  # rank 0 saved the average of its steps
    assert state["ema_updates"] == 3
    for k in params:
        assert torch.equal(state["train_model"][k], a[k]), k
    assert any(not torch.equal(state["model"][k], a[k]) for k in params)
