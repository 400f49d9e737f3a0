"""Inference backends for exported pose networks: ONNX Runtime fp32 and int8, and OpenVINO (optional).

``"auto"`` (:func:`resolve_backend`, the pipeline's default) picks ONNX Runtime int8 where the model has an up-to-date
int8 copy beside it (``depthhand quantize``, :func:`int8_status`) and the CPU has int8 dot-product instructions
(VNNI) or AVX2 (:func:`cpu_runs_int8`), then OpenVINO bfloat16 where the ``openvino`` package is installed and the
CPU runs bfloat16 natively, and ONNX Runtime fp32 elsewhere.

Both are torch-free. A backend takes (B, 1, S, S) float32 patches and returns the (B, J, 3) ``joints`` output.
The model's metadata (joint set, cube, input size, output space) is read from the ONNX ``metadata_props``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from depthhand.pose.cpu_features import cpu_has_bf16, cpu_runs_int8, openvino_installed

__all__ = [
    "BACKENDS",
    "Backend",
    "OnnxRuntimeBackend",
    "OnnxRuntimeInt8Backend",
    "OpenVinoBackend",
    "int8_path",
    "int8_status",
    "model_fingerprint",
    "open_backend",
    "read_metadata",
    "resolve_backend",
]

INT8_SOURCE_KEY = "depthhand.int8.source_fingerprint"
"""Metadata key of an int8 copy: the :func:`model_fingerprint` of the fp32 file it was made from."""
INT8_FLOAT_KEY = "depthhand.int8.float_convs"
"""Metadata key of an int8 copy: the convolutions left in float (comma-separated)."""

REQUIRED_KEYS = ("depthhand.joint_set", "depthhand.cube_mm", "depthhand.input_size", "depthhand.output_space")


class Backend(Protocol):
    """What :class:`~depthhand.pose.estimator.PoseEstimator` needs from a runtime."""

    name: str
    """Which of :data:`BACKENDS` (never ``"auto"``) this is."""
    metadata: dict[str, str]

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3)."""
        ...

    def prepare(self, batches: int) -> None:
        """Make batches of 1 to ``batches`` patches ready, so that none costs a load on its first frame."""
        ...

    def close(self) -> None:
        """Release the runtime's resources."""
        ...


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"pose model {path} does not exist (export one with `depthhand export`)")


def _ort_session(
    path: Path, num_threads: int, allow_spinning: bool, cache: bool = True, batch: int | None = None
) -> Any:
    from depthhand.runtime import inference_session

    _check_file(path)
    fixed = ((BATCH_DIM, batch),) if batch is not None else ()
    try:
        return inference_session(path, num_threads, allow_spinning, cache=cache, fixed_dims=fixed)
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
    sess = _ort_session(p, 1, False, cache=False)
    return _validated(dict(sess.get_modelmeta().custom_metadata_map), p)


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU (fp32, or whatever the file holds), one session per batch size up to a few hands.

    The exported graph has a symbolic batch dimension (:data:`BATCH_DIM`), and with it a few dozen small nodes of
    shape arithmetic that run on every call. A session whose batch is fixed
    (``add_free_dimension_override_by_name``) lets ONNX Runtime fold them away: the same outputs (tested), the
    network ≈ 5 % faster for one hand and ≈ 10 % for two (BENCHMARKS.md). So batches of 1 to
    :data:`MAX_FIXED_BATCH` patches run on a session of their own size, opened the first time that size comes (the
    batch-1 session when the backend opens; each other size costs one load, ≈ 10–50 ms, on its first frame unless
    :meth:`prepare` opened it before, as the live pipeline does for up to ``max_hands``), and larger batches on the
    symbolic-batch session (opened on first use too).

    Args:
        path: The exported ``.onnx`` file.
        num_threads: Intra-op threads (the process's shared pool has its own size, see :mod:`depthhand.runtime`).
        allow_spinning: Let idle threads spin (lower latency of one run alone, more CPU, and slower in the pipeline on
            2 cores, see :mod:`depthhand.runtime`; never on the shared pool).
        fixed_batches: Use the fixed-batch sessions (``False``: the symbolic-batch session for every batch).
    """

    name = "onnxruntime"

    def __init__(
        self, path: str | Path, num_threads: int = 2, allow_spinning: bool = False, fixed_batches: bool = True
    ) -> None:
        self.path = Path(path)
        self._open = (num_threads, allow_spinning)
        first = _ort_session(self.path, num_threads, allow_spinning, batch=1 if fixed_batches else None)
        self.metadata = _validated(dict(first.get_modelmeta().custom_metadata_map), self.path)
        self._sessions: dict[int | None, Any] = {}
        if first.get_inputs()[0].shape[0] == 1:  # the override took: a fixed-batch session
            self._sessions[1] = first
            self._fixed = True
        else:  # fixed_batches off, or the model names its batch dimension otherwise: one session for all
            self._sessions[None] = first
            self._fixed = False

    @property
    def session(self) -> Any:
        """The backend's first session (the batch-1 one where batches are fixed); ``None`` once closed."""
        return next(iter(self._sessions.values()), None)

    def _session_for(self, batch: int) -> Any:
        key = batch if self._fixed and batch <= MAX_FIXED_BATCH else None
        found = self._sessions.get(key)
        if found is None:
            if not self._sessions:
                raise ValueError(f"pose model {self.path} is closed")
            found = _ort_session(self.path, *self._open, batch=key)
            self._sessions[key] = found
        return found

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3)."""
        out: npt.NDArray[np.float32] = self._session_for(len(patches)).run(["joints"], {"patch": patches})[0]
        return out

    def prepare(self, batches: int) -> None:
        """Open the sessions of batches 1 to ``batches`` now.

        Each costs ≈ 10–50 ms, otherwise a hitch on the frame that first needs it (a live stream's second hand).
        """
        for batch in range(1, max(int(batches), 1) + 1):
            self._session_for(batch)

    def close(self) -> None:
        """Drop the sessions."""
        self._sessions.clear()


class OnnxRuntimeInt8Backend(OnnxRuntimeBackend):
    """ONNX Runtime on the int8 copy of a model (``depthhand quantize``; :func:`int8_path`).

    Args:
        fp32_path: The fp32 model whose int8 copy to open.
        num_threads: Intra-op threads.
        fixed_batches: As for :class:`OnnxRuntimeBackend`.

    Raises:
        FileNotFoundError: If there is no int8 copy.
        ValueError: If it does not load, lacks the metadata, or was made from other weights than ``fp32_path``.
    """

    name = "onnxruntime-int8"

    def __init__(self, fp32_path: str | Path, num_threads: int = 2, fixed_batches: bool = True) -> None:
        fp32, q8 = Path(fp32_path), int8_path(fp32_path)
        if not q8.is_file():
            raise FileNotFoundError(f"{fp32} has no int8 copy ({q8}; make one with `depthhand quantize {fp32}`)")
        super().__init__(q8, num_threads, fixed_batches=fixed_batches)
        problem = _int8_source_problem(self.metadata, fp32, q8)
        if problem:
            self.close()
            raise ValueError(problem)
        self.fp32_path = fp32


def _int8_source_problem(meta: dict[str, str], fp32: Path, q8: Path) -> str | None:
    source = meta.get(INT8_SOURCE_KEY)
    if source is None:
        return f"{q8} lacks metadata {INT8_SOURCE_KEY}; remake it with `depthhand quantize {fp32}`"
    if not fp32.is_file() or source != model_fingerprint(fp32):
        return f"{q8} was made from other weights than {fp32} (stale); remake it with `depthhand quantize {fp32}`"
    return None


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
        self.name = "openvino-bf16" if precision == "bf16" else "openvino"
        self.metadata = read_metadata(self.path)
        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": int(num_threads)}
        self.compiled = core.compile_model(str(self.path), "CPU", config)
        chosen = self.compiled.get_property("INFERENCE_PRECISION_HINT")  # an ov.Type, e.g. <Type: 'bfloat16'>
        self.precision = "bf16" if "bfloat16" in str(chosen) or "bf16" in str(chosen) else "f32"
        self._tensor = ov.Tensor
        self._request = self.compiled.create_infer_request()

    def run(self, patches: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(B, 1, S, S) → (B, J, 3).

        One infer request is reused, and the patches are handed to it without a copy (``shared_memory``); the
        output is copied out of the request's buffer, which the next call overwrites. Against ``compiled([patches])``
        this saves 0.2–0.3 ms of a 1.0–1.3 ms call (BENCHMARKS.md, "Detect less often when every slot is taken;
        OpenVINO without per-call copies").
        """
        request = self._request
        request.set_input_tensor(self._tensor(np.ascontiguousarray(patches, np.float32), shared_memory=True))
        request.infer()
        out: npt.NDArray[np.float32] = np.array(request.get_output_tensor(0).data, np.float32)
        return out

    def prepare(self, batches: int) -> None:
        """Run each batch size from 1 to ``batches`` once on zeros.

        OpenVINO adapts its kernels to a new shape on its first call.
        """
        size = int(self.metadata["depthhand.input_size"])
        for batch in range(1, max(int(batches), 1) + 1):
            self.run(np.zeros((batch, 1, size, size), np.float32))

    def close(self) -> None:
        """Drop the compiled model."""
        self._request = None
        self.compiled = None


BATCH_DIM = "batch"
"""Name of the exported models' symbolic batch dimension (``depthhand export``)."""
MAX_FIXED_BATCH = 4
"""Batches of up to this many patches run on a session of their own size (:class:`OnnxRuntimeBackend`)."""

BACKENDS = ("auto", "onnxruntime", "onnxruntime-int8", "openvino", "openvino-bf16")
"""Pose backends: ``auto`` (:func:`resolve_backend`), ONNX Runtime fp32, ONNX Runtime on the model's int8 copy,
OpenVINO fp32, OpenVINO bfloat16 (the ``[openvino]`` extra)."""


def int8_path(fp32_path: str | Path) -> Path:
    """Where the int8 copy of ``fp32_path`` lives: ``model.onnx`` → ``model.int8.onnx`` (same folder)."""
    p = Path(fp32_path)
    stem = p.name[: -len(".onnx")] if p.name.endswith(".onnx") else p.name
    return p.with_name(stem + ".int8.onnx")


FINGERPRINT_BLOCKS = 16
"""Blocks of :data:`FINGERPRINT_BLOCK_BYTES` that :func:`model_fingerprint` hashes, evenly spaced over the file."""
FINGERPRINT_BLOCK_BYTES = 16384


def model_fingerprint(path: str | Path) -> str:
    """A cheap identity of a model file: its size and the SHA-256 of 16 evenly spaced 16 KiB blocks.

    Hashing the whole 6.5 MB pose model takes 5–9 ms of every cold start; this reads 256 KiB (well under 1 ms) and
    still changes with any retraining, which rewrites every block of weights. It tells a stale int8 copy from a
    current one; it is not a defence against a crafted file.
    """
    import hashlib

    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        step = max(size // FINGERPRINT_BLOCKS, 1)
        for i in range(FINGERPRINT_BLOCKS):
            f.seek(min(i * step, max(size - FINGERPRINT_BLOCK_BYTES, 0)))
            h.update(f.read(FINGERPRINT_BLOCK_BYTES))
    return f"{size}:{h.hexdigest()}"


def int8_status(fp32_path: str | Path) -> str | None:
    """Why the int8 copy of ``fp32_path`` cannot be used, or ``None`` when it can.

    It can when :func:`int8_path` exists, loads, and records the :func:`model_fingerprint` of the fp32 file as it is
    now (a copy made from earlier weights is stale).
    """
    fp32, q8 = Path(fp32_path), int8_path(fp32_path)
    if not q8.is_file():
        return f"{fp32} has no int8 copy ({q8}; make one with `depthhand quantize {fp32}`)"
    try:
        meta = read_metadata(q8)
    except ValueError as exc:
        return str(exc)
    return _int8_source_problem(meta, fp32, q8)


def resolve_backend(
    backend: str,
    *,
    path: str | Path | None = None,
    has_int8: bool | None = None,
    int8_cpu: bool | None = None,
    has_openvino: bool | None = None,
    has_bf16: bool | None = None,
) -> str:
    """The concrete backend a name stands for (``"auto"``: int8, OpenVINO bf16 or ONNX Runtime fp32).

    ``auto`` picks, in this order:

    1. ONNX Runtime on the model's int8 copy where one lies beside ``path`` (:func:`int8_path`) and the CPU has VNNI
       or AVX2 (:func:`cpu_runs_int8`). For the shipped model that is 2.4 (VNNI) or 1.4 (AVX2 only) times as fast as
       fp32 on one thread and the mean error on the card's held-out crops changes by at most 0.1 mm (the card's
       ``int8`` block). Whether the copy is
       current is checked when it is opened (:func:`open_backend` falls back to fp32 with a warning if not).
    2. OpenVINO bfloat16 where the ``openvino`` package is installed and the CPU has native bf16
       (:func:`cpu_has_bf16`): the network in about half of ONNX Runtime fp32's time, the mean error changes by at
       most 0.014 mm (the card's ``backends`` block); in the 2-core pipeline it did not make a faster frame.
    3. ONNX Runtime fp32.

    Args:
        backend: One of :data:`BACKENDS`.
        path: The fp32 model (``None``: no int8 copy is looked for).
        has_int8: Whether the int8 copy exists (``None``: look beside ``path``).
        int8_cpu: Whether the CPU runs the int8 copy (``None``: :func:`cpu_runs_int8`).
        has_openvino: Whether OpenVINO is importable (``None``: find out).
        has_bf16: Whether the CPU has bf16 (``None``: :func:`cpu_has_bf16`; asked only with OpenVINO installed).

    Raises:
        ValueError: For a name not in :data:`BACKENDS`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown pose backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    int8 = has_int8 if has_int8 is not None else path is not None and int8_path(path).is_file()
    if int8 and (cpu_runs_int8() if int8_cpu is None else int8_cpu):
        return "onnxruntime-int8"
    if not (openvino_installed() if has_openvino is None else has_openvino):
        return "onnxruntime"
    return "openvino-bf16" if (cpu_has_bf16() if has_bf16 is None else has_bf16) else "onnxruntime"


def open_backend(
    path: str | Path, backend: str = "onnxruntime", num_threads: int = 2, allow_spinning: bool = False
) -> Backend:
    """Open the model ``path`` with a backend of :data:`BACKENDS` (``"auto"`` via :func:`resolve_backend`).

    ``"onnxruntime-int8"`` opens the int8 copy beside ``path`` (:func:`int8_path`). Asked for by name,
    a missing or stale copy is an error; chosen by ``auto``, a stale one falls back to fp32 with a warning.
    The backend actually opened is the returned object's ``name``.
    """
    chosen = resolve_backend(backend, path=path)
    if chosen == "onnxruntime-int8":
        try:
            return OnnxRuntimeInt8Backend(path, num_threads)
        except (FileNotFoundError, ValueError) as exc:
            if backend != "auto":
                raise
            import warnings

            warnings.warn(f"pose backend auto: {exc}; using onnxruntime fp32", RuntimeWarning, stacklevel=2)
            chosen = "onnxruntime"
    if chosen == "onnxruntime":
        return OnnxRuntimeBackend(path, num_threads, allow_spinning)
    if chosen == "openvino":
        return OpenVinoBackend(path, num_threads)
    return OpenVinoBackend(path, num_threads, precision="bf16")
