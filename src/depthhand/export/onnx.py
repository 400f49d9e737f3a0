"""PyTorch → ONNX export with metadata, an ONNX Runtime parity check and optional int8 quantisation.

The exported graph has one input ``patch`` (B, 1, S, S) float32 (normalised depth, see ``normalisation``) and one
output ``joints`` (B, J, 3) in the model's output space (``xyz_crop`` or ``uvd_crop``, see
:mod:`depthhand.pose.decode`); the batch axis is dynamic. ``metadata_props`` carry everything the runtime needs:
``depthhand.model``, ``depthhand.joint_set``, ``depthhand.cube_mm``, ``depthhand.input_size``,
``depthhand.output_space``, ``depthhand.normalisation`` and ``depthhand.format``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from depthhand.atomic import atomic_path

__all__ = [
    "ExportReport",
    "export_onnx",
    "onnx_metadata",
    "parity_check",
    "quantize_onnx",
    "realistic_patches",
]

FORMAT = "depthhand.pose/1"


class _JointsOnly(nn.Module):
    """Wraps a pose network so that the graph returns only the prediction."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, patch: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) → (B, J, 3)."""
        out: torch.Tensor = self.model(patch)["joints"]
        return out


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote and measured.

    Attributes:
        path: The ONNX file.
        metadata: The metadata written into it.
        max_abs_diff: Largest |ONNX Runtime − PyTorch| over the parity inputs, normalised units.
        drift: For quantised copies: name → {path, max_abs_diff, mean_abs_diff, mean_joint_mm}.
    """

    path: Path
    metadata: dict[str, str]
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)


def onnx_metadata(model: nn.Module) -> dict[str, str]:
    """The metadata for a registry model (from its ``cfg``)."""
    from depthhand.models.registry import get_model_cfg

    cfg = get_model_cfg(model)
    return {
        "depthhand.format": FORMAT,
        "depthhand.model": cfg.name,
        "depthhand.joint_set": cfg.joint_set,
        "depthhand.cube_mm": f"{cfg.cube_mm:g}",
        "depthhand.input_size": str(cfg.input_size),
        "depthhand.output_space": cfg.output_space,
        "depthhand.normalisation": cfg.normalisation,
    }


def realistic_patches(rng: np.random.Generator, count: int, size: int = 96) -> np.ndarray:
    """Hand-like normalised depth patches: background +1, a palm ellipse and five finger bars with depth relief.

    Returns:
        (count, 1, size, size) float32 in [−1, 1].
    """
    vv, uu = np.mgrid[0:size, 0:size].astype(np.float32) / (size / 2) - 1.0
    out = np.ones((count, 1, size, size), np.float32)
    for i in range(count):
        cu, cv = rng.normal(0, 0.08, 2)
        a, b = rng.uniform(0.25, 0.4, 2)
        base = rng.uniform(-0.3, 0.1)
        palm = ((uu - cu) / a) ** 2 + ((vv - cv) / b) ** 2
        depth = np.where(palm < 1, base - 0.25 * np.sqrt(np.clip(1 - palm, 0, 1)), 1.0)
        for k in range(5):
            ang = rng.uniform(-np.pi, np.pi) if k == 0 else -np.pi / 2 + (k - 2.5) * 0.35 + rng.normal(0, 0.1)
            length, width = rng.uniform(0.3, 0.6), rng.uniform(0.05, 0.08)
            du, dv = uu - cu, vv - cv
            along = du * np.cos(ang) + dv * np.sin(ang)
            across = -du * np.sin(ang) + dv * np.cos(ang)
            bar = (along > 0) & (along < a + length) & (np.abs(across) < width)
            depth = np.where(bar & (depth >= 1), base + rng.uniform(-0.2, 0.2) * along, depth)
        noise = rng.normal(0, 0.01, depth.shape)
        out[i, 0] = np.where(depth < 1, np.clip(depth + noise, -1, 0.98), 1.0)
    return out


def export_onnx(
    model: nn.Module,
    out_path: str | Path,
    opset: int = 17,
    check: bool = True,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export ``model`` (eval mode, CPU) to ONNX, write metadata and check ONNX Runtime against PyTorch.

    Args:
        model: A registry model.
        out_path: Target ``.onnx`` file (written to a temp file, then renamed).
        opset: ONNX opset (the TorchScript-based exporter is used; it needs no onnxscript).
        check: Run the parity check on 8 random and 8 hand-like inputs.
        tolerance: Largest allowed |ONNX Runtime − PyTorch|, normalised units.
        seed: Seed of the parity inputs.

    Raises:
        ValueError: If the parity check fails.
    """
    import onnx

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    meta = onnx_metadata(model)
    size = int(meta["depthhand.input_size"])
    dummy = torch.zeros(1, 1, size, size)
    diffs: dict[str, float] = {}
    # the file only replaces an existing model once it is complete and (with ``check``) agrees with PyTorch
    with atomic_path(out_path) as tmp:
        with torch.no_grad():
            torch.onnx.export(
                _JointsOnly(model),
                (dummy,),
                str(tmp),
                input_names=["patch"],
                output_names=["joints"],
                dynamic_axes={"patch": {0: "batch"}, "joints": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        for k, v in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        if check:
            diffs = parity_check(model, tmp, seed=seed)
            worst = max(diffs.values())
            if worst > tolerance:
                raise ValueError(
                    f"{out_path}: ONNX Runtime differs from PyTorch by {worst:.3g} > {tolerance:g} ({diffs}); "
                    "nothing was written"
                )
    return ExportReport(out_path, meta, diffs)


def _ort_session(path: str | Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def parity_check(model: nn.Module, onnx_path: str | Path, seed: int = 0, count: int = 8) -> dict[str, float]:
    """Max |ONNX Runtime − PyTorch| of the joints on random (uniform [−1, 1]) and hand-like inputs."""
    model = model.cpu().eval()
    size = int(onnx_metadata(model)["depthhand.input_size"])
    rng = np.random.default_rng(seed)
    sess = _ort_session(onnx_path)
    inputs = {
        "random": rng.uniform(-1, 1, (count, 1, size, size)).astype(np.float32),
        "realistic": realistic_patches(rng, count, size),
    }
    diffs = {}
    for name, x in inputs.items():
        with torch.no_grad():
            ref = model(torch.from_numpy(x))["joints"].numpy()
        got = sess.run(["joints"], {"patch": x})[0]
        diffs[name] = float(np.abs(got - ref).max())
    return diffs


def quantize_onnx(
    onnx_path: str | Path,
    mode: str = "dynamic",
    calibration: np.ndarray | None = None,
    out_path: str | Path | None = None,
    per_channel: bool = True,
) -> Path:
    """Write an int8 copy of an exported model (metadata kept).

    Args:
        onnx_path: The fp32 model.
        mode: ``"dynamic"`` — dynamic 8-bit of the fully connected layers only (MatMul/Gemm, uint8 weights, which
            hold on CPUs without VNNI too; safe on CPU), or
            ``"static"`` — static int8 of the convolutions only (QDQ, per-channel weights, calibrated on
            ``calibration``); softmax and voting stay in float. On the shipped depthhand_fast (phase 8) and 1,000
            synthetic validation crops this still moves the joints by 4.5 mm on average (5.7 mm with per-tensor
            weights), so int8 is an option for experiments, not a shipped path (``scripts/int8_drift.py``).
        calibration: (N, 1, S, S) patches for static calibration (default: 32 hand-like patches).
        out_path: Target (default: ``<name>.int8-<mode>.onnx`` beside the input).
        per_channel: Static mode: one weight scale per output channel (default) instead of one per tensor.
    """
    from onnxruntime import quantization as q

    src = Path(onnx_path)
    dst = Path(out_path) if out_path else src.with_name(f"{src.stem}.int8-{mode}.onnx")
    if mode == "dynamic":
        # uint8 weights: ONNX Runtime's u8s8 kernel on AVX2 CPUs without VNNI saturates (VPMADDUBSW), and the
        # file may run on either; on the test's CrossInfoNet the joints moved 7.3 mm with int8 weights, 1.8 with uint8.
        q.quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul", "Gemm"], weight_type=q.QuantType.QUInt8)
    elif mode == "static":
        sess = _ort_session(src)
        size = int(sess.get_inputs()[0].shape[-1])
        data = calibration if calibration is not None else realistic_patches(np.random.default_rng(1), 32, size)

        class _Reader(q.CalibrationDataReader):  # type: ignore[misc]
            def __init__(self) -> None:
                self.items = iter([{"patch": data[i : i + 1].astype(np.float32)} for i in range(len(data))])

            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(self.items, None)

        q.quantize_static(
            str(src), str(dst), _Reader(), quant_format=q.QuantFormat.QDQ, op_types_to_quantize=["Conv"],
            activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8, per_channel=per_channel,
        )  # fmt: skip
    else:
        raise ValueError(f"unknown quantisation mode {mode!r}; expected 'dynamic' or 'static'")
    _copy_metadata(src, dst)
    return dst


def _copy_metadata(src: Path, dst: Path) -> None:
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    proto = onnx.load(str(dst))
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(dst))


def quantization_drift(
    fp32_path: str | Path, int8_path: str | Path, count: int = 32, seed: int = 2
) -> dict[str, float]:
    """|int8 − fp32| on hand-like patches: max and mean in normalised units, and the mean joint shift in mm.

    The mm figure scales the normalised 3-D difference by ``cube/2`` (exact for xyz_crop, approximate for
    uvd_crop, where u, v scale with depth).
    """
    a, b = _ort_session(fp32_path), _ort_session(int8_path)
    size = int(a.get_inputs()[0].shape[-1])
    cube = float(a.get_modelmeta().custom_metadata_map.get("depthhand.cube_mm", "250"))
    x = realistic_patches(np.random.default_rng(seed), count, size)
    ya, yb = a.run(["joints"], {"patch": x})[0], b.run(["joints"], {"patch": x})[0]
    d = np.abs(ya - yb)
    return {
        "max_abs_diff": float(d.max()),
        "mean_abs_diff": float(d.mean()),
        "mean_joint_mm": float(np.linalg.norm(ya - yb, axis=-1).mean() * cube / 2),
    }
