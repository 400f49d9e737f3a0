"""ONNX Runtime session options of the live pipeline, and the process-wide thread pool the networks can share.

Each ONNX Runtime session has its own intra-op thread pool by default, so the detector and the pose network keep
two pools whose workers compete for the same cores. :func:`enable_shared_pool` puts every later session of the
process on ONNX Runtime's *global* thread pools instead (``onnxruntime.set_global_thread_pool_sizes``, then
``SessionOptions.use_per_session_threads = False``): one set of workers, shared by both networks, which never run
at the same time (the pipeline calls them one after the other).

The global pools are a property of the process, and a one-way door: they cannot be resized or removed, and once
they exist ONNX Runtime refuses every session that asks for a pool of its own (``use_per_session_threads must be
false when using a global thread pool``), including sessions made by other libraries with default options (ONNX
Runtime's own quantisation tools, a test that opens a model). So the shared pool is opt-in, by whoever owns the
process (:attr:`depthhand.pipeline.PipelineOptions.shared_thread_pool`), and :func:`ort_session_options`, which
every depthhand session uses, joins the pool whenever it exists.

Spinning stays off. An idle ONNX Runtime worker may busy-wait for the next task instead of sleeping; that lowers the
latency of one network run on an idle machine, but on the 2 cores of the target machine the spinning workers take
the core from the Python thread that does the pre-processing between the network calls (``BENCHMARKS.md``,
"Threads"). Per-session pools honour ``session.intra_op.allow_spinning = 0``. The global pools spin unless told
otherwise and ONNX Runtime's Python API cannot tell them (only the C API's ``SetGlobalSpinControl`` can), so the
shared sessions stop the spinning after every run (``session.force_spinning_stop``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

__all__ = ["enable_shared_pool", "global_pool_threads", "inference_session", "ort_session_options"]

_lock = threading.Lock()
_pool_threads: int | None = None  # intra-op threads of the process's global pool once this module created it


def global_pool_threads() -> int | None:
    """Intra-op threads of this process's shared pool (``None`` while there is none)."""
    return _pool_threads


def enable_shared_pool(num_threads: int) -> int | None:
    """Create the process's shared pool with ``num_threads`` intra-op threads, if there is none yet.

    Every ONNX Runtime session made afterwards in this process must use it (see the module docstring).

    Returns:
        The pool's thread count (the first call's, if it already existed), or ``None`` if this onnxruntime cannot
        make one (sessions then keep their own pools).
    """
    global _pool_threads
    import onnxruntime as ort

    with _lock:
        if _pool_threads is None:
            setter = getattr(ort, "set_global_thread_pool_sizes", None)
            if setter is None:
                return None
            try:
                setter(max(1, int(num_threads)), 1)
            except Exception:  # made by other code in this process (they cannot be replaced): unknown size
                return None
            _pool_threads = max(1, int(num_threads))
        return _pool_threads


def ort_session_options(num_threads: int, allow_spinning: bool = False) -> Any:
    """``onnxruntime.SessionOptions`` for a CPU session of depthhand (see the module docstring).

    Args:
        num_threads: Intra-op threads of the session's own pool (ignored on the shared pool, which has its size).
        allow_spinning: Let idle workers of the session's own pool spin (the shared pool never spins between runs).

    Returns:
        Options on the shared pool when the process has one, else on a pool of the session's own.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if _pool_threads is not None:
        opts.use_per_session_threads = False  # its sizes come from the global pools (setting them here only warns)
        opts.add_session_config_entry("session.force_spinning_stop", "1")
    else:
        opts.intra_op_num_threads = max(1, int(num_threads))
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
    return opts


def inference_session(
    path: str | Path,
    num_threads: int,
    allow_spinning: bool = False,
    *,
    cache: bool = True,
    fixed_dims: tuple[tuple[str, int], ...] = (),
) -> Any:
    """A CPU ``onnxruntime.InferenceSession`` of ``path`` with :func:`ort_session_options`.

    Args:
        path: The ``.onnx`` file.
        num_threads: See :func:`ort_session_options`.
        allow_spinning: See :func:`ort_session_options`.
        cache: Open it through the per-user cache of optimised graphs (:mod:`depthhand.ort_cache`; the same
            outputs, a shorter load from the second time on). Off for models opened once (a temporary file).
        fixed_dims: ``(name, size)`` of symbolic input dimensions to fix (``add_free_dimension_override_by_name``):
            with every shape known, ONNX Runtime folds the graph's shape arithmetic away (names the model lacks are
            ignored). The cache keeps one entry per set of fixed dimensions.

    Raises:
        Whatever ``onnxruntime.InferenceSession`` raises for a missing or corrupt file.
    """

    def options() -> Any:
        opts = ort_session_options(num_threads, allow_spinning)
        for name, size in fixed_dims:
            opts.add_free_dimension_override_by_name(name, int(size))
        return opts

    if cache:
        from depthhand.ort_cache import cached_session

        variant = ",".join(f"{name}={int(size)}" for name, size in fixed_dims)
        return cached_session(path, options, variant=variant)
    import onnxruntime as ort

    return ort.InferenceSession(str(path), options(), providers=["CPUExecutionProvider"])
