"""A per-user cache of ONNX Runtime's optimised models, so that a cold start skips the graph optimisation.

Opening a model, ONNX Runtime first rewrites its graph for this CPU (constant folding, fusing the int8 QDQ pairs into
integer convolutions, blocked NCHWc layouts for AVX-512...). For the shipped int8 pose network that is two thirds of
its load time (≈ 13–20 of 19–36 ms; the detector 2 of 3.5 ms). :func:`cached_session` does it once: the first time
a model is opened it saves ONNX Runtime's optimised graph (``SessionOptions.optimized_model_filepath``) into the
cache, and from then on loads that graph with optimisation switched off. The outputs are the same as the uncached
session's (bit for bit on the shipped models; ``tests/test_ort_cache.py``), and the first run already uses the cached
graph, so a result never depends on whether the cache was warm.

The optimised graph is specific to the machine, so an entry is keyed by the model (its
:func:`~depthhand.pose.backends.model_fingerprint`, size and modification time), the onnxruntime version, the CPU
architecture and the instruction-set flags ONNX Runtime's kernels choose by (:data:`CPU_FLAGS`). A model retrained in
place gets a new entry and the old one is removed.

Where: ``$DEPTHHAND_CACHE_DIR/ort`` when :data:`CACHE_ENV` is set (``off``, ``0`` or empty: no cache), else
``$XDG_CACHE_HOME/depthhand/ort`` or ``~/.cache/depthhand/ort``.

Safety: an entry is one file, the optimised model behind a header with its SHA-256 (:data:`MAGIC`), written to a
temporary name and renamed into place (:func:`depthhand.atomic.atomic_path`). An entry that is truncated, corrupt,
of another format or that ONNX Runtime refuses is logged (logger ``depthhand.ort_cache``, a warning), removed and
written again; a cache folder that cannot be written is skipped (logged at debug level) and the model is opened as
without a cache. Caching never makes opening a model fail where it would not have failed without it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from depthhand.pose.cpu_features import cpu_flags

__all__ = ["CACHE_ENV", "CPU_FLAGS", "MAGIC", "cache_dir", "cached_session", "entry_path"]

CACHE_ENV = "DEPTHHAND_CACHE_DIR"
"""Environment variable: the cache's base folder (the entries go into its ``ort`` sub-folder); off, 0 or empty: off."""
MAGIC = b"depthhand-ort-cache 1\n"
"""First bytes of an entry; the 32-byte SHA-256 of the optimised model follows, then the model."""
CPU_FLAGS = (
    "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl",
    "avx512cd", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "asimd",
    "asimddp", "i8mm", "bf16", "sve", "sve2",
)  # fmt: skip
"""``/proc/cpuinfo`` flags that ONNX Runtime's kernels and graph rewrites depend on (x86 and Arm)."""
_OFF = ("", "0", "off", "none", "false", "no")
_SUFFIX = ".ortcache"


def cache_dir() -> Path | None:
    """The folder of the entries (see the module docstring); ``None`` when the cache is off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        if value.strip().lower() in _OFF:
            return None
        return Path(value).expanduser() / "ort"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "depthhand" / "ort"


@functools.lru_cache(maxsize=1)
def _cpu_identity() -> str:
    """The CPU architecture and the :data:`CPU_FLAGS` it has (``/proc/cpuinfo``; elsewhere the processor name)."""
    flags = cpu_flags(None)
    have = ",".join(f for f in CPU_FLAGS if f in flags) if flags is not None else platform.processor()
    return f"{platform.machine()}:{have}"


def entry_path(model: str | Path, folder: Path | None = None, variant: str = "") -> Path | None:
    """Where the entry of ``model`` for this onnxruntime and CPU lives (``None``: cache off, or ``model`` unreadable).

    The name is ``<model name>.<group>.<model key>.ortcache``: ``group`` hashes the model's absolute path, the
    onnxruntime version, the CPU (:func:`_cpu_identity`) and the ``variant`` (see :func:`cached_session`);
    ``model key`` its fingerprint, size and modification time. Entries of one group with another model key are stale.
    """
    import onnxruntime as ort

    from depthhand.pose.backends import model_fingerprint

    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return None
    path = Path(model)
    try:
        stat = path.stat()
        fingerprint = model_fingerprint(path)
    except OSError:
        return None
    group = _digest(
        f"{MAGIC!r}|{path.resolve()}|{ort.__version__}|{_cpu_identity()}" + (f"|{variant}" if variant else "")
    )
    key = _digest(f"{fingerprint}|{stat.st_size}|{stat.st_mtime_ns}")
    return folder / f"{path.name}.{group}.{key}{_SUFFIX}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _log() -> Any:
    import logging  # only when there is something to say (logging costs a cold start 2-3 ms)

    return logging.getLogger("depthhand.ort_cache")


def _read_entry(entry: Path) -> bytes | None:
    """The optimised model in ``entry`` (``None`` when there is none, or it is not a valid entry: then removed)."""
    try:
        data = entry.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _log().warning("ONNX Runtime cache entry %s unreadable (%s); not using the cache", entry, exc)
        return None
    head = len(MAGIC) + 32
    if len(data) > head and data.startswith(MAGIC):
        model = data[head:]
        if hashlib.sha256(model).digest() == data[len(MAGIC) : head]:
            return model
    _discard(entry, "is not a valid entry (truncated or corrupt)")
    return None


def _discard(entry: Path, why: str) -> None:
    _log().warning("ONNX Runtime cache entry %s %s; ignored, rewriting it", entry, why)
    with contextlib.suppress(OSError):
        entry.unlink(missing_ok=True)


def _write_entry(model: Path, entry: Path, make_options: Callable[[], Any], providers: list[str]) -> bytes | None:
    """Optimise ``model`` once, store the result in ``entry`` (atomically) and return it; ``None`` if it cannot be."""
    import onnxruntime as ort

    from depthhand.atomic import atomic_path, temp_path_for

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        scratch = temp_path_for(entry, ".onnx")
        opts = make_options()
        opts.optimized_model_filepath = str(scratch)
        opts.log_severity_level = 3  # not the warning that the saved graph is for this CPU: that is what the key says
        try:
            ort.InferenceSession(str(model), opts, providers=providers)
            optimised = scratch.read_bytes()
        finally:
            scratch.unlink(missing_ok=True)
        with atomic_path(entry, fsync=False) as tmp:  # a torn write after a power loss fails the hash check
            tmp.write_bytes(MAGIC + hashlib.sha256(optimised).digest() + optimised)
    except Exception as exc:  # a read-only or full folder, or a model ONNX Runtime refuses (reported by the caller)
        _log().debug("not caching the optimised %s in %s: %s", model, entry.parent, exc)
        return None
    _remove_stale(entry)
    return optimised


def _remove_stale(entry: Path) -> None:
    """Remove the entries of the same model path, onnxruntime and CPU whose model key differs from ``entry``'s."""
    stem = entry.name[: -len(_SUFFIX)].rsplit(".", 1)[0]  # <model name>.<group>
    try:
        for other in entry.parent.glob(f"{stem}.*{_SUFFIX}"):
            if other.name != entry.name:
                other.unlink(missing_ok=True)
    except OSError:
        pass


def cached_session(
    model: str | Path,
    make_options: Callable[[], Any],
    providers: list[str] | None = None,
    folder: Path | None = None,
    variant: str = "",
) -> Any:
    """An ``onnxruntime.InferenceSession`` of ``model``, from the cache of optimised graphs where possible.

    Args:
        model: The ``.onnx`` file.
        make_options: Returns fresh ``onnxruntime.SessionOptions`` for this session (called up to three times; the
            cached graph is opened with them and ``graph_optimization_level`` set to ``ORT_DISABLE_ALL``).
        providers: Execution providers (default: the CPU).
        folder: The cache folder (default :func:`cache_dir`).
        variant: What else than the model the options change in the optimised graph (e.g. fixed input
            dimensions, ``"batch=1"``): each variant has an entry of its own.

    Returns:
        The session. Its outputs are those of ``InferenceSession(model, make_options())``.

    Raises:
        Whatever ``onnxruntime.InferenceSession(model, make_options())`` raises (a missing or corrupt model).
    """
    import onnxruntime as ort

    providers = providers or ["CPUExecutionProvider"]
    entry = entry_path(model, folder, variant)
    attempts = 2 if entry is not None else 0  # a refused entry is rewritten once
    while entry is not None and attempts:
        attempts -= 1
        optimised = _read_entry(entry) or _write_entry(Path(model), entry, make_options, providers)
        if optimised is None:
            break
        opts = make_options()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(optimised, opts, providers=providers)
        except Exception as exc:  # e.g. a well-formed entry that this onnxruntime build cannot read
            _discard(entry, f"is refused by ONNX Runtime ({exc})")
    return ort.InferenceSession(str(model), make_options(), providers=providers)
