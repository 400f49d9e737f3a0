"""Inference backends for exported pose networks: ONNX Runtime (default) and OpenVINO (optional).

``"auto"`` (:func:`resolve_backend`) picks OpenVINO bfloat16 where the ``openvino`` package is installed and the CPU
runs bfloat16 natively, and ONNX Runtime fp32 elsewhere.

Both are torch-free. A backend takes (B, 1, S, S) float32 patches and returns the (B, J, 3) ``joints`` output.
The model's metadata (joint set, cube, input size, output space) is read from the ONNX ``metadata_props``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "BACKENDS",
    "Backend",
    "OnnxRuntimeBackend",
    "OpenVinoBackend",
    "cpu_has_bf16",
    "open_backend",
    "read_metadata",
    "resolve_backend",
]

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


BACKENDS = ("auto", "onnxruntime", "openvino", "openvino-bf16")
"""Pose backends: ``auto`` (:func:`resolve_backend`), ONNX Runtime fp32, OpenVINO fp32, OpenVINO bfloat16 (the
``[openvino]`` extra)."""

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
"""``/proc/cpuinfo`` flags that mean native bfloat16 arithmetic (either is enough)."""


def cpu_has_bf16(cpuinfo: str | None = None, openvino_capabilities: list[str] | None = None) -> bool:
    """Whether this CPU runs bfloat16 natively.

    Linux: a ``flags`` line of ``/proc/cpuinfo`` lists ``avx512_bf16`` or ``amx_bf16``. Elsewhere (no
    ``/proc/cpuinfo``): OpenVINO's ``CPU`` ``OPTIMIZATION_CAPABILITIES`` include ``"BF16"`` (False without OpenVINO).

    Args:
        cpuinfo: The text of ``/proc/cpuinfo`` (``None``: read it; ``""``: there is none).
        openvino_capabilities: OpenVINO's capabilities (``None``: ask OpenVINO when ``cpuinfo`` is missing).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    if cpuinfo:
        flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[-1].split()}
        return any(f in flags for f in BF16_CPU_FLAGS)
    if openvino_capabilities is None:
        try:
            import openvino as ov

            openvino_capabilities = [str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]
        except Exception:  # no openvino, or no CPU plugin: no evidence of bf16
            return False
    return "BF16" in openvino_capabilities


def openvino_installed() -> bool:
    """Whether the optional ``openvino`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def resolve_backend(backend: str, *, has_openvino: bool | None = None, has_bf16: bool | None = None) -> str:
    """The concrete backend a name stands for: ``"auto"`` becomes ``"openvino-bf16"`` or ``"onnxruntime"``.

    ``auto`` picks OpenVINO bfloat16 where the ``openvino`` package is installed and the CPU has native bf16
    (:func:`cpu_has_bf16`): there the shipped pose network runs in about half of ONNX Runtime's time, and the mean
    error on the card's held-out crops changes by at most 0.014 mm (the joints themselves move by 0.19–0.52 mm on
    average; the ``backends`` block of ``depthhand_fast.json``). Elsewhere OpenVINO would emulate bf16 or run fp32
    no faster than ONNX Runtime, so ``auto`` is ONNX Runtime fp32. ``auto`` is not the default: in the whole
    2-core pipeline the faster network did not make a faster frame (BENCHMARKS.md).

    Args:
        backend: One of :data:`BACKENDS`.
        has_openvino: Whether OpenVINO is importable (``None``: find out).
        has_bf16: Whether the CPU has bf16 (``None``: :func:`cpu_has_bf16`; asked only with OpenVINO installed).

    Raises:
        ValueError: For a name not in :data:`BACKENDS`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown pose backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if not (openvino_installed() if has_openvino is None else has_openvino):
        return "onnxruntime"
    return "openvino-bf16" if (cpu_has_bf16() if has_bf16 is None else has_bf16) else "onnxruntime"


def open_backend(
    path: str | Path, backend: str = "onnxruntime", num_threads: int = 2, allow_spinning: bool = False
) -> Backend:
    """Open ``path`` with the named backend (one of :data:`BACKENDS`; ``"auto"`` via :func:`resolve_backend`)."""
    backend = resolve_backend(backend)
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(path, num_threads, allow_spinning)
    if backend == "openvino":
        return OpenVinoBackend(path, num_threads)
    return OpenVinoBackend(path, num_threads, precision="bf16")
