"""What this CPU can run fast: int8 dot products (VNNI / AVX2) and bfloat16 (the pose backends' ``auto`` choice).

Read from ``/proc/cpuinfo`` on Linux (OpenVINO's capabilities elsewhere, for bf16); every function takes the text
so that tests can inject a CPU. :func:`depthhand.pose.backends.resolve_backend` uses them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BF16_CPU_FLAGS",
    "INT8_CPU_FLAGS",
    "VNNI_CPU_FLAGS",
    "cpu_flags",
    "cpu_has_bf16",
    "cpu_has_vnni",
    "cpu_runs_int8",
    "openvino_installed",
]

VNNI_CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
"""``/proc/cpuinfo`` flags of int8 dot-product instructions (any is enough)."""

INT8_CPU_FLAGS = (*VNNI_CPU_FLAGS, "avx2")
"""``/proc/cpuinfo`` flags under which ``auto`` runs the int8 copy: VNNI, or AVX2 (ONNX Runtime's u8 × s8 kernels;
measured on a Zen 3 EPYC without VNNI: the int8 copy 1.43 times as fast as fp32 on one thread, with the same drift
on the card's held-out crops as on a VNNI CPU; BENCHMARKS.md, "int8 on a CPU without VNNI")."""

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
"""``/proc/cpuinfo`` flags that mean native bfloat16 arithmetic (either is enough)."""


def cpu_flags(cpuinfo: str | None) -> set[str] | None:
    """The ``flags`` of ``/proc/cpuinfo`` (``cpuinfo``: its text; ``None``: read it); ``None`` where there is none."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    if not cpuinfo:
        return None
    return {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[-1].split()}


def cpu_has_vnni(cpuinfo: str | None = None) -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI or AMX-INT8).

    Where ``/proc/cpuinfo`` is missing (not Linux): False.

    Args:
        cpuinfo: The text of ``/proc/cpuinfo`` (``None``: read it; ``""``: there is none).
    """
    flags = cpu_flags(cpuinfo)
    return flags is not None and any(f in flags for f in VNNI_CPU_FLAGS)


def cpu_runs_int8(cpuinfo: str | None = None) -> bool:
    """Whether ``auto`` runs the int8 copy on this CPU: it has VNNI or AVX2 (:data:`INT8_CPU_FLAGS`).

    Older CPUs keep fp32 (ONNX Runtime's int8 convolutions there were never measured). Where ``/proc/cpuinfo`` is
    missing (not Linux): False.

    Args:
        cpuinfo: The text of ``/proc/cpuinfo`` (``None``: read it; ``""``: there is none).
    """
    flags = cpu_flags(cpuinfo)
    return flags is not None and any(f in flags for f in INT8_CPU_FLAGS)


def cpu_has_bf16(cpuinfo: str | None = None, openvino_capabilities: list[str] | None = None) -> bool:
    """Whether this CPU runs bfloat16 natively.

    Linux: a ``flags`` line of ``/proc/cpuinfo`` lists ``avx512_bf16`` or ``amx_bf16``. Elsewhere (no
    ``/proc/cpuinfo``): OpenVINO's ``CPU`` ``OPTIMIZATION_CAPABILITIES`` include ``"BF16"`` (False without OpenVINO).

    Args:
        cpuinfo: The text of ``/proc/cpuinfo`` (``None``: read it; ``""``: there is none).
        openvino_capabilities: OpenVINO's capabilities (``None``: ask OpenVINO when ``cpuinfo`` is missing).
    """
    flags = cpu_flags(cpuinfo)
    if flags is not None:
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
