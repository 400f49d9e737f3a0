"""Inference backends for exported pose networks: ONNX Runtime (default) and OpenVINO (optional).

Both are torch-free. A backend takes (B, 1, S, S) float32 patches and returns the (B, J, 3) ``joints`` output.
The model's metadata (joint set, cube, input size, output space) is read from the ONNX ``metadata_props``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Backend", "OnnxRuntimeBackend", "OpenVinoBackend", "open_backend", "read_metadata"]

REQUIRED_KEYS = ("depthhand.joint_set", "depthhand.cube_mm", "depthhand.input_size", "depthhand.output_space")


class Backend(Protocol):
    """What :class:`~depthhand.pose.estimator.PoseEstimator` needs from a runtime."""

    metadata: dict[str, str]

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3)."""
        ...

    def close(self) -> None:
        """Release the runtime's resources."""
        ...


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"pose model {path} does not exist (export one with `depthhand export`)")


def _ort_session(path: Path, num_threads: int, allow_spinning: bool) -> Any:
    import onnxruntime as ort

    from depthhand.runtime import ort_session_options

    _check_file(path)
    opts = ort_session_options(num_threads, allow_spinning)
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        raise ValueError(f"pose model {path} could not be loaded as ONNX: {exc}") from exc


def _validated(metadata: dict[str, str], path: Path) -> dict[str, str]:
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise ValueError(f"pose model {path} lacks metadata {missing}; export it with `depthhand export`")
    return dict(metadata)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``depthhand.*`` metadata of an exported model (via ONNX Runtime).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a loadable ONNX model or lacks the metadata.
    """
    p = Path(path)
    sess = _ort_session(p, 1, False)
    return _validated(dict(sess.get_modelmeta().custom_metadata_map), p)


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU.

    Args:
        path: The exported ``.onnx`` file.
        num_threads: Intra-op threads (the process's shared pool has its own size, see :mod:`depthhand.runtime`).
        allow_spinning: Let idle threads spin (lower latency of one run alone, more CPU, and slower in the pipeline on
            2 cores, see :mod:`depthhand.runtime`; never on the shared pool).
    """

    def __init__(self, path: str | Path, num_threads: int = 2, allow_spinning: bool = False) -> None:
        self.path = Path(path)
        self.session = _ort_session(self.path, num_threads, allow_spinning)
        self.metadata = _validated(dict(self.session.get_modelmeta().custom_metadata_map), self.path)

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3)."""
        out: npt.NDArray[np.float32] = self.session.run(["joints"], {"patch": patches})[0]
        return out

    def close(self) -> None:
        """Drop the session."""
        self.session = None


class OpenVinoBackend:
    """OpenVINO on the CPU with the inference precision set explicitly (it defaults to bf16 on some CPUs).

    ``precision="bf16"`` runs in bfloat16 where the CPU has it (AVX-512 BF16 or AMX; OpenVINO falls back to f32
    elsewhere — :attr:`precision` says what it chose); the joints move by a fraction of a millimetre (see the
    ``pose.*`` benchmarks). Needs the optional ``openvino`` package.
    """

    def __init__(self, path: str | Path, num_threads: int = 2, precision: str = "f32") -> None:
        if precision not in ("f32", "bf16"):
            raise ValueError(f"OpenVINO precision must be 'f32' or 'bf16', got {precision!r}")
        try:
            import openvino as ov
        except ImportError as exc:
            raise ValueError(
                "the OpenVINO backend needs the optional package 'openvino' (pip install openvino)"
            ) from exc
        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": int(num_threads)}
        self.compiled = core.compile_model(str(self.path), "CPU", config)
        chosen = self.compiled.get_property("INFERENCE_PRECISION_HINT")  # an ov.Type, e.g. <Type: 'bfloat16'>
        self.precision = "bf16" if "bfloat16" in str(chosen) or "bf16" in str(chosen) else "f32"

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3)."""
        result = self.compiled([patches])
        out: npt.NDArray[np.float32] = np.asarray(result[self.compiled.output(0)], np.float32)
        return out

    def close(self) -> None:
        """Drop the compiled model."""
        self.compiled = None


BACKENDS = ("onnxruntime", "openvino", "openvino-bf16")
"""Pose backends: ONNX Runtime fp32 (default), OpenVINO fp32, OpenVINO bfloat16 (``[openvino]`` extra)."""


def open_backend(
    path: str | Path, backend: str = "onnxruntime", num_threads: int = 2, allow_spinning: bool = False
) -> Backend:
    """Open ``path`` with the named backend (one of :data:`BACKENDS`)."""
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(path, num_threads, allow_spinning)
    if backend == "openvino":
        return OpenVinoBackend(path, num_threads)
    if backend == "openvino-bf16":
        return OpenVinoBackend(path, num_threads, precision="bf16")
    raise ValueError(f"unknown pose backend {backend!r}; expected one of {', '.join(BACKENDS)}")
