"""Training checkpoints, written atomically (temp file + rename).

A checkpoint is a dict with the model, optimiser and scaler states, the epoch, the training config and the
model's :class:`~depthhand.models.registry.ModelCfg`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from depthhand import atomic
from depthhand.models.registry import ModelCfg, create_model

__all__ = ["init_from_checkpoint", "load_checkpoint", "model_from_checkpoint", "save_checkpoint"]

FORMAT = "depthhand.checkpoint/1"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus a format tag) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If it is not a depthhand checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupt or foreign file
        raise ValueError(f"checkpoint {path} could not be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise ValueError(f"{path} is not a depthhand checkpoint (expected format {FORMAT!r})")
    return state


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model recorded in a checkpoint and load its weights (eval mode).

    Returns:
        ``(model, checkpoint_dict)``.
    """
    state = load_checkpoint(path)
    cfg = ModelCfg(**state["model_cfg"])
    kwargs: dict[str, Any] = {"input_size": cfg.input_size, "cube_mm": cfg.cube_mm}
    if cfg.name == "depthhand_fast":
        kwargs["joint_set"] = cfg.joint_set
    model = create_model(cfg.name, **kwargs)
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def init_from_checkpoint(model: nn.Module, path: str | Path) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` (fine-tuning: the optimiser, schedule and epoch start afresh).

    Raises:
        ValueError: When the checkpoint was trained for another model configuration (naming the fields).

    Returns:
        The checkpoint dict.
    """
    state = load_checkpoint(path)
    cfg = getattr(model, "cfg", None)
    ours = cfg.to_dict() if isinstance(cfg, ModelCfg) else {}
    theirs = state.get("model_cfg", {})
    differ = sorted(k for k in ours if k in theirs and ours[k] != theirs[k])
    if differ:
        detail = ", ".join(f"{k}: checkpoint {theirs[k]!r}, model {ours[k]!r}" for k in differ)
        raise ValueError(f"checkpoint {path} is for another model configuration ({detail})")
    model.load_state_dict(state["model"])
    return state
