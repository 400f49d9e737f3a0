"""Benchmark registry, timing helper, table printing and JSON output.

A benchmark is a function ``fn(quick: bool) -> BenchResult`` registered under a dotted name
(``eval.nyu``, ``synth.frame``, ...). ``quick`` asks for a shorter run (used by the tests, which check that each
benchmark runs and reports sane fields, never its speed).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from depthhand import atomic

BenchFn = Callable[[bool], "BenchResult"]
_REGISTRY: dict[str, tuple[str, BenchFn]] = {}


@dataclass(frozen=True, slots=True)
class BenchResult:
    """What one benchmark measured.

    Attributes:
        name: Registry name.
        value: The headline figure (e.g. the median time in ms, or a throughput).
        unit: Unit of ``value`` (``"ms"``, ``"crops/s"``, ...).
        samples: Number of repetitions behind ``value``.
        details: Further figures (p95, per-stage times, sizes).
    """

    name: str
    value: float
    unit: str
    samples: int
    details: dict[str, Any] = field(default_factory=dict)


def benchmark(name: str, description: str) -> Callable[[BenchFn], BenchFn]:
    """Register ``fn`` as the benchmark ``name``."""

    def wrap(fn: BenchFn) -> BenchFn:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        _REGISTRY[name] = (description, fn)
        return fn

    return wrap


def _load_all() -> None:
    import depthhand.bench as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "core":
            importlib.import_module(f"depthhand.bench.{info.name}")


def available() -> dict[str, str]:
    """All registered benchmarks: name → description."""
    _load_all()
    return {k: v[0] for k, v in sorted(_REGISTRY.items())}


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 3) -> dict[str, float]:
    """Time ``fn`` ``repeat`` times after ``warmup`` calls.

    Returns:
        ``median_ms``, ``p95_ms``, ``min_ms``, ``mean_ms`` and ``n``.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "min_ms": times[0],
        "mean_ms": statistics.fmean(times),
        "n": float(len(times)),
    }


def machine() -> dict[str, Any]:
    """A short description of the machine the benchmarks ran on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.system()}


def run_benchmarks(names: list[str], quick: bool = False) -> list[BenchResult]:
    """Run the named benchmarks (prefixes select groups: ``synth`` runs every ``synth.*``).

    Raises:
        ValueError: If a name matches no benchmark.
    """
    registry = available()
    selected: list[str] = []
    for n in names or list(registry):
        matches = [k for k in registry if k == n or k.startswith(n + ".")]
        if not matches:
            raise ValueError(f"unknown benchmark {n!r}; available: {', '.join(registry)}")
        selected.extend(m for m in matches if m not in selected)
    return [_REGISTRY[n][1](quick) for n in selected]


def format_table(results: list[BenchResult]) -> str:
    """A fixed-width text table of results."""
    rows = [("benchmark", "value", "unit", "n", "details")]
    for r in results:
        det = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.details.items())
        rows.append((r.name, f"{r.value:.4g}", r.unit, str(r.samples), det))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in rows]
    return "\n".join(lines)


def write_json(results: list[BenchResult], path: Path, command: str) -> None:
    """Write results with the machine and the command, atomically."""
    payload = {"machine": machine(), "command": command, "results": [asdict(r) for r in results]}
    atomic.write_json(path, payload, indent=2)
