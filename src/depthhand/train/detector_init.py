"""Start detector training from earlier weights: a torch checkpoint, or the exported ONNX file itself.

The ONNX export folds every batch norm into the convolution before it, so an ONNX file holds, per ``_conv`` block,
one weight ``W'`` and bias ``b'`` (``y = W' * x + b'``). :func:`load_onnx_into` writes ``W'`` into the convolution and
chooses the batch-norm parameters so that the torch network computes the same function in eval mode *and* (about
the same) in training mode: with ``m``, ``s`` the per-channel mean and standard deviation of ``W' * x`` over a
calibration batch, ``running_mean = m``, ``running_var = s² − eps``, ``gamma = s``, ``beta = b' + m``, so
``gamma (W'x − m) / s + beta = W'x + b'``, and a training batch with statistics ≈ (m, s) normalises the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["init_detector_weights", "load_onnx_into", "onnx_width"]


def onnx_width(path: str | Path) -> int:
    """The network width recorded in a detector ONNX file's metadata (``width``).

    Raises:
        ValueError: The file has no ``width`` metadata (not a depthhand detector export).
    """
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if "width" not in meta:
        raise ValueError(f"{path}: no 'width' metadata; not a depthhand detector ONNX export")
    return int(meta["width"])


def _onnx_convs(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Module path (``stem.0``, ``heat``, …) → (weight, bias) of every Conv node of the export."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        parts = [p for p in node.name.split("/") if p] or [p for p in node.output[0].split("/") if p]
        # names look like /net/s4/s4.1/s4.1.0/Conv: the module path is the part before "Conv"
        module = parts[-2] if len(parts) >= 2 else ""
        if len(node.input) < 3 or node.input[1] not in inits or node.input[2] not in inits:
            raise ValueError(f"{path}: Conv node {node.name!r} has no constant weight and bias")
        out[module] = (inits[node.input[1]], inits[node.input[2]])
    return out


def load_onnx_into(net: Any, path: str | Path, calibration: Any) -> None:
    """Load a detector ONNX export into ``net`` (a :class:`~depthhand.models.detector.HandDetectorNet`).

    Args:
        net: Network of the export's width.
        path: The ONNX file.
        calibration: (B, 2, H, W) float tensor of normalised inputs for the batch-norm statistics (B ≥ 16).

    Raises:
        ValueError: A layer of ``net`` has no counterpart in the file, or the shapes differ.
    """
    import torch
    from torch import nn

    path = Path(path)
    convs = _onnx_convs(path)
    bn_of: dict[str, Any] = {}  # torch types its buffers Optional
    conv_of: dict[str, Any] = {}
    for name, mod in net.named_modules():
        if isinstance(mod, nn.Sequential) and len(mod) == 3 and isinstance(mod[1], nn.BatchNorm2d):
            conv_of[f"{name}.0"], bn_of[f"{name}.0"] = mod[0], mod[1]  # the export names the conv itself
        elif isinstance(mod, nn.Conv2d) and mod.bias is not None:
            conv_of[name] = mod
    missing = sorted(set(conv_of) - set(convs))
    if missing or len(convs) != len(conv_of):
        raise ValueError(f"{path}: layers {missing or sorted(set(convs) - set(conv_of))} do not match the network")
    fused_bias: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, conv in conv_of.items():
            w, b = (torch.from_numpy(np.array(a, np.float32)) for a in convs[name])
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(f"{path}: layer {name} weight {tuple(w.shape)}, network {tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            if name in bn_of:
                fused_bias[name] = b
                bn = bn_of[name]
                bn.weight.fill_(1.0)
                bn.bias.copy_(b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            else:
                conv.bias.copy_(b)
        # eval mode now computes the export's function exactly; measure each conv's output statistics under it
        stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        hooks = [
            conv_of[n].register_forward_hook(
                lambda _m, _i, y, n=n: stats.__setitem__(n, (y.mean((0, 2, 3)), y.std((0, 2, 3))))
            )
            for n in bn_of
        ]
        net.eval()
        net(calibration)
        for h in hooks:
            h.remove()
        for name, bn in bn_of.items():
            m, s = stats[name]
            s = s.clamp(min=1e-3)
            bn.running_mean.copy_(m)
            bn.running_var.copy_(s**2 - bn.eps)
            bn.weight.copy_(s)
            bn.bias.copy_(fused_bias[name] + m)


def init_detector_weights(net: Any, path: str | Path, calibration: Any) -> str:
    """Initialise ``net`` from ``path``: a ``.pt`` training checkpoint (``{"model": state_dict}``) or an ONNX export.

    Returns:
        ``"checkpoint"`` or ``"onnx"``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Unknown suffix, or the weights do not fit ``net``.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--init weights not found: {path}")
    if path.suffix == ".onnx":
        load_onnx_into(net, path, calibration)
        return "onnx"
    if path.suffix in (".pt", ".pth"):
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state.get("model", state))
        except RuntimeError as exc:
            raise ValueError(f"{path}: checkpoint does not fit the network: {exc}") from None
        return "checkpoint"
    raise ValueError(f"--init must be a .onnx export or a .pt checkpoint, got {path}")
