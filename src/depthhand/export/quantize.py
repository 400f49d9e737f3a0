"""Selective static int8 quantisation of an exported pose network (torch-free: ``onnx`` + ONNX Runtime's tools).

Quantising every convolution of the shipped ``depthhand_fast`` moves its joints by 4–5 mm on average: far too much.
The error is not spread evenly. Measured one convolution at a time (each alone in int8, the rest in float) on
synthetic crops, the stem, the two convolutions that read the stem's output and the voting head each move the
joints by 1.3–3.3 mm, the next one by 0.7 mm, and every other convolution by 0.1–0.5 mm. So
:func:`quantize_selective` measures each convolution's shift that way and quantises only those within a budget
(``max_conv_shift_mm``, default 0.6 mm), leaving the sensitive ones, the softmax and the voting in float. On the
shipped model that is 17 of its 22 convolutions (QDQ, per-channel int8 weights, uint8 activations, MinMax
calibration); the speed and the accuracy change on the card's held-out crops are in the model card's ``int8`` block
(``depthhand bench pose.int8``).

The int8 copy is written beside the model as ``<stem>.int8.onnx`` (:func:`int8_path`) with the fp32 model's
metadata, plus ``depthhand.int8.source_fingerprint`` (of the fp32 file it was made from: a stale copy is refused, see
:func:`depthhand.pose.backends.int8_status`) and ``depthhand.int8.float_convs``.

Crops come from the synthetic generator (``depthhand.synth.crops``), calibration with rng ``[5150, i]`` and the
sensitivity measurement with ``[5151, i]`` for scene ``i`` of :data:`SCENES`; both differ from the card's held-out
seed 424242.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.atomic import atomic_path
from depthhand.pose.backends import INT8_FLOAT_KEY, INT8_SOURCE_KEY, int8_path, model_fingerprint, read_metadata

__all__ = [
    "CALIBRATION_SEED",
    "SCENES",
    "SENSITIVITY_SEED",
    "QuantizeReport",
    "quantize_selective",
    "synthetic_crops",
]

F32 = npt.NDArray[np.float32]
CALIBRATION_SEED = 5150
SENSITIVITY_SEED = 5151
SCENES = ("topdown", "frontal", "egocentric")


@dataclass(frozen=True, slots=True)
class Crops:
    """Labelled synthetic crops for calibration or measurement.

    Attributes:
        patches: (N, 1, S, S) float32 normalised depth.
        crops: N :class:`~depthhand.structures.HandCrop` (to decode the outputs to camera mm).
        intrinsics: N camera intrinsics.
    """

    patches: F32
    crops: tuple[Any, ...]
    intrinsics: tuple[Any, ...]


def synthetic_crops(count_per_scene: int, seed: int, size: int, cube_mm: float) -> Crops:
    """``count_per_scene`` crops of each of :data:`SCENES`, scene ``i`` drawn with rng ``[seed, i]``."""
    from depthhand.synth.crops import generate_crops

    patches: list[F32] = []
    crops: list[Any] = []
    intr: list[Any] = []
    for i, scene in enumerate(SCENES):
        p, _, meta = generate_crops(count_per_scene, np.random.default_rng([seed, i]), scene, size, cube_mm)
        patches.append(p[:, None])
        crops.extend(meta.crops)
        intr.extend(meta.intrinsics)
    return Crops(np.ascontiguousarray(np.concatenate(patches), np.float32), tuple(crops), tuple(intr))


@dataclass(frozen=True, slots=True)
class QuantizeReport:
    """What :func:`quantize_selective` wrote and measured.

    Attributes:
        path: The int8 model.
        sensitivity_mm: Convolution name → mean joint shift (mm) with that convolution alone in int8.
        quantized: The convolutions in int8.
        kept_float: The convolutions left in float.
        shift_mm: Mean 3D joint shift of the written model against fp32 on the measurement crops (mm).
        p99_shift_mm: Its 99th percentile.
    """

    path: Path
    sensitivity_mm: dict[str, float]
    quantized: tuple[str, ...]
    kept_float: tuple[str, ...]
    shift_mm: float
    p99_shift_mm: float


def _session(path: Path) -> Any:
    import onnxruntime as ort

    from depthhand.runtime import ort_session_options

    return ort.InferenceSession(str(path), ort_session_options(2), providers=["CPUExecutionProvider"])


def _decode(out: F32, output_space: str, crops: Crops) -> npt.NDArray[np.float64]:
    from depthhand.pose.decode import crop_output_to_xyz

    return np.stack(
        [crop_output_to_xyz(o, output_space, c, k) for o, c, k in zip(out, crops.crops, crops.intrinsics, strict=True)]
    )


def _run(path: Path, patches: F32) -> F32:
    sess = _session(path)
    return np.concatenate([sess.run(["joints"], {"patch": patches[s : s + 64]})[0] for s in range(0, len(patches), 64)])


def _quantize(src: Path, dst: Path, calibration: F32, convs: Sequence[str], all_convs: Sequence[str]) -> None:
    from onnxruntime import quantization as q

    class _Reader(q.CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.items = iter([{"patch": calibration[i : i + 8]} for i in range(0, len(calibration), 8)])

        def get_next(self) -> dict[str, F32] | None:
            return next(self.items, None)

    q.quantize_static(
        str(src), str(dst), _Reader(), quant_format=q.QuantFormat.QDQ, op_types_to_quantize=["Conv"],
        nodes_to_exclude=[c for c in all_convs if c not in convs], per_channel=True,
        activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
        calibrate_method=q.CalibrationMethod.MinMax,
    )  # fmt: skip


def quantize_selective(
    fp32_path: str | Path,
    out_path: str | Path | None = None,
    *,
    calibration: Crops | None = None,
    measurement: Crops | None = None,
    max_conv_shift_mm: float = 0.6,
    progress: Callable[[str], None] | None = None,
) -> QuantizeReport:
    """Write an int8 copy of ``fp32_path`` with only its insensitive convolutions in int8 (see the module docstring).

    Args:
        fp32_path: An exported pose model (``depthhand export``).
        out_path: Target (default :func:`int8_path`).
        calibration: Crops for the activation ranges (default: 64 per scene, seed :data:`CALIBRATION_SEED`).
        measurement: Crops for the sensitivity and the final shift (default: 64 per scene, :data:`SENSITIVITY_SEED`).
        max_conv_shift_mm: A convolution goes to int8 when doing so alone moves the joints by at most this (mean, mm).
        progress: Called with a line per measured convolution (e.g. a progress bar's ``set_description``).

    Raises:
        ValueError: If the model lacks the pose metadata, or ``max_conv_shift_mm`` is not positive.
    """
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not max_conv_shift_mm > 0:
        raise ValueError(f"max_conv_shift_mm must be > 0, got {max_conv_shift_mm}")
    src = Path(fp32_path)
    meta = read_metadata(src)
    size, cube, space = (
        int(meta["depthhand.input_size"]),
        float(meta["depthhand.cube_mm"]),
        meta["depthhand.output_space"],
    )
    cal = calibration if calibration is not None else synthetic_crops(64, CALIBRATION_SEED, size, cube)
    mes = measurement if measurement is not None else synthetic_crops(64, SENSITIVITY_SEED, size, cube)
    dst = Path(out_path) if out_path else int8_path(src)
    with tempfile.TemporaryDirectory() as tmp:
        pre, trial = Path(tmp) / "pre.onnx", Path(tmp) / "trial.onnx"
        with contextlib.chdir(tmp):  # its symbolic shape pass, where it gives up, leaves a model in the cwd
            quant_pre_process(str(src.resolve()), str(pre))
        convs = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
        ref = _decode(_run(pre, mes.patches), space, mes)

        def shift(path: Path) -> npt.NDArray[np.float64]:
            return np.asarray(np.linalg.norm(_decode(_run(path, mes.patches), space, mes) - ref, axis=-1))

        sensitivity: dict[str, float] = {}
        for name in convs:
            _quantize(pre, trial, cal.patches, [name], convs)
            sensitivity[name] = float(shift(trial).mean())
            if progress is not None:
                progress(f"{name}: {sensitivity[name]:.3f} mm")
        chosen = [c for c in convs if sensitivity[c] <= max_conv_shift_mm]
        _quantize(pre, trial, cal.patches, chosen, convs)
        final = shift(trial)
        proto = onnx.load(str(trial))
        del proto.metadata_props[:]
        kept = [c for c in convs if c not in chosen]
        for k, v in {**meta, INT8_SOURCE_KEY: model_fingerprint(src), INT8_FLOAT_KEY: ",".join(kept)}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        with atomic_path(dst) as tmp_dst:
            onnx.save(proto, str(tmp_dst))
    return QuantizeReport(
        dst, sensitivity, tuple(chosen), tuple(kept), float(final.mean()), float(np.percentile(final, 99))
    )
