"""Cold start and offline throughput of ``depthhand predict``.

* ``startup.predict``: ``depthhand predict`` on one 640×480 file in a fresh interpreter (wall time of the whole
  process), the import time of the modules it needs, and the first frame after the models have loaded. As an
  installed package runs: with the modules' bytecode cached (``PYTHONPYCACHEPREFIX`` in the temporary folder, even
  where ``PYTHONDONTWRITEBYTECODE`` is set) and ONNX Runtime's optimised graphs cached (:mod:`depthhand.ort_cache`,
  a temporary cache warmed by one untimed run). Alternated with it in each round: the same without bytecode
  (``no_bytecode_s``) and with an empty graph cache (``cold_cache_s``: the first start after an install).
* ``predict.folder``: :func:`depthhand.predict.predict_batch` on a folder of 640×480 16-bit PNGs written to a
  temporary folder: one worker process per core (what ``depthhand predict`` does with a long list), two pipelines
  in threads, one pipeline with the prefetching reader (2 threads), and neither (one image after another),
  alternated in rounds; the records of all four must be identical (timings aside).

The frames are the real SR305 frames when ``../shared/data`` is present (cycled), else synthetic top-down frames.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark

FIRST_FRAME = r"""
import json, os, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as depthhand.cli.main sets it for predict
t0 = time.perf_counter()
import cv2, numpy as np
from depthhand.pipeline import HandPipeline, PipelineOptions
from depthhand.predict import read_depth_image
from depthhand.geometry.camera import parse_intrinsics
from depthhand.structures import DepthFrame
t1 = time.perf_counter()
import onnxruntime
t_ort = time.perf_counter()
depth = read_depth_image(sys.argv[1], "png16", float(sys.argv[2]))
k = parse_intrinsics(sys.argv[3], width=depth.shape[1], height=depth.shape[0])
pipe = HandPipeline(PipelineOptions(mode="image"))
t2 = time.perf_counter()
result = pipe.process(DepthFrame(depth, k, 0))
t3 = time.perf_counter()
later = []
for i in range(20):
    a = time.perf_counter(); pipe.process(DepthFrame(depth, k, i + 1)); later.append(time.perf_counter() - a)
print(json.dumps({"import_ms": 1e3 * (t1 - t0), "load_ms": 1e3 * (t2 - t1), "ort_import_ms": 1e3 * (t_ort - t1),
    "first_frame_ms": 1e3 * (t3 - t2),
    "later_frame_ms": 1e3 * sorted(later)[10], "hands": len(result.hands),
    "scipy_optimize": "scipy.optimize" in sys.modules, "modules": len(sys.modules)}))
"""


def _frames_folder(folder: Path, count: int) -> tuple[str, float, str]:
    """Write ``count`` 640×480 16-bit PNGs into ``folder``; returns (data name, depth scale, intrinsics spec)."""
    import cv2

    from depthhand.evaluate.protocols import resolve_shared_dir

    real = sorted((resolve_shared_dir() / "data" / "real" / "sr305-desk" / "frames").glob("*.png"))
    if real:
        for i in range(count):
            shutil.copy(real[i % len(real)], folder / f"{i:04d}.png")
        return "sr305-desk", 0.125, "sr305"
    from depthhand.synth.scenes import render_scene, sample_scene

    rng = np.random.default_rng(7)
    raws = []
    for _ in range(min(count, 10)):
        sample = render_scene(sample_scene("topdown", rng, n_hands=1), rng)
        raws.append(np.clip(np.round(sample.depth_mm), 0, 65535).astype(np.uint16))
        spec = ",".join(str(v) for v in (sample.intrinsics.fx, sample.intrinsics.fy, sample.intrinsics.cx))
        spec += f",{sample.intrinsics.cy}"
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:04d}.png"), raws[i % len(raws)])
    return "synthetic topdown", 1.0, spec


def _env(pycache: Path | None = None, ort_cache: Path | None = None) -> dict[str, str]:
    """This checkout first on the path; with ``pycache``, bytecode cached there; with ``ort_cache``, that cache."""
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if ort_cache is not None:
        env["DEPTHHAND_CACHE_DIR"] = str(ort_cache)
    return env


@benchmark("startup.predict", "cold start: `depthhand predict` on one 640×480 file (wall s), imports, first frame")
def bench_startup(quick: bool) -> BenchResult:
    """Median over runs of fresh interpreters; ``first_frame_ms`` is measured after the models load."""
    runs = 2 if quick else 7
    walls: list[float] = []
    plain: list[float] = []
    cold: list[float] = []
    inner: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, scale, spec = _frames_folder(folder, 1)
        image = folder / "0000.png"
        cmd = [sys.executable, "-m", "depthhand.cli", "predict", str(image), "--intrinsics", spec]
        cmd += ["--depth-scale", str(scale), "--out", str(folder / "p.json")]
        installed = _env(folder / "pycache", folder / "cache")

        def timed(env: dict[str, str]) -> float:
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=120)
            return time.perf_counter() - t0

        timed(installed)  # writes the bytecode and the optimised graphs
        for i in range(runs):
            walls.append(timed(installed))
            plain.append(timed(_env(None, folder / "cache")))
            cold.append(timed(_env(folder / "pycache", folder / f"cold{i}")))
            first = subprocess.run(
                [sys.executable, "-c", FIRST_FRAME, str(image), str(scale), spec],
                check=True,
                capture_output=True,
                text=True,
                env=installed,
                timeout=120,
            )
            inner.append(json.loads(first.stdout.strip().splitlines()[-1]))
        hands = len(json.loads((folder / "p.json").read_text())[0]["hands"])
    keys = ("import_ms", "load_ms", "ort_import_ms", "first_frame_ms")
    med = {k: statistics.median(float(r[k]) for r in inner) for k in keys}
    return BenchResult(
        "startup.predict",
        statistics.median(walls),
        "s",
        runs,
        {
            "wall_min_s": min(walls),
            "no_bytecode_s": statistics.median(plain),
            "cold_cache_s": statistics.median(cold),
            **med,
            "later_frame_ms": statistics.median(float(r["later_frame_ms"]) for r in inner),
            "modules": int(statistics.median(int(r["modules"]) for r in inner)),
            "scipy_optimize_imported": any(bool(r["scipy_optimize"]) for r in inner),
            "hands": hands,
            "data": data,
        },
    )


@benchmark(
    "predict.folder",
    "`predict` throughput on a folder of 640×480 PNGs: worker processes vs pipelines in threads vs one (prefetching)",
)
def bench_predict_folder(quick: bool) -> BenchResult:
    """Frames per second of :func:`predict_batch`, as ``depthhand predict`` runs it (:func:`auto_processes`).

    Four ways, alternating in rounds: ``sequential`` (decode and run in one thread, one pipeline), ``prefetch``
    (two decoding threads, one pipeline), ``pipelines`` (two decoding threads, two pipelines in threads sharing the
    inference threads), each with its models loaded once outside the timed region; and ``processes`` (one worker
    process per core, :mod:`depthhand.predict_workers`), timed whole: starting the workers and loading their
    models included, as a user waits for them. Its steady rate comes from the difference of a full and a
    one-third run (the start-up cancels). The value is the command's default for this many frames; the records
    (less their timings) must be identical.
    """
    from depthhand.predict import PREFETCH_WORKERS, predict_batch
    from depthhand.predict_workers import auto_processes

    count = 72 if quick else 600
    rounds = 1 if quick else 3
    cores = auto_processes(10**6)
    ways = {"sequential": (0, 1, 1), "prefetch": (PREFETCH_WORKERS, 1, 1), "pipelines": (PREFETCH_WORKERS, 2, 1)}
    ways["processes"] = (0, 1, cores)
    rates: dict[str, list[float]] = {w: [] for w in ways}
    steady: list[float] = []
    records: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, scale, spec = _frames_folder(folder, count)
        files = sorted(folder.glob("*.png"))
        predict_batch(files[:3], spec, "png16", scale)  # warm the file cache and the lazy imports
        for _ in range(rounds):
            for way, (workers, pipelines, processes) in ways.items():
                t0 = time.perf_counter()
                batch = predict_batch(
                    files, spec, "png16", scale, read_workers=workers, pipelines=pipelines, processes=processes
                )
                full = time.perf_counter() - t0
                rates[way].append(len(files) / full)
                records[way] = batch.records
                if way == "processes" and processes > 1:
                    t0 = time.perf_counter()
                    predict_batch(files[: count // 3], spec, "png16", scale, processes=processes)
                    part = time.perf_counter() - t0
                    steady.append((count - count // 3) / max(full - part, 1e-9))

    def bare(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "timings_ms"} for r in recs]

    same = all(bare(records["sequential"]) == bare(records[w]) for w in ways)
    fps = {w: statistics.median(r) for w, r in rates.items()}
    default = "processes" if auto_processes(count) > 1 else "prefetch"
    return BenchResult(
        "predict.folder",
        fps[default],
        "frames/s",
        count * rounds,
        {
            "default": default,
            "processes": cores,
            "processes_fps": fps["processes"],
            "processes_steady_fps": statistics.median(steady) if steady else None,
            "two_pipelines_fps": fps["pipelines"],
            "prefetch_fps": fps["prefetch"],
            "sequential_fps": fps["sequential"],
            "processes_vs_prefetch": fps["processes"] / fps["prefetch"],
            "two_pipelines_vs_prefetch": fps["pipelines"] / fps["prefetch"],
            "prefetch_vs_sequential": fps["prefetch"] / fps["sequential"],
            "best_processes_fps": max(rates["processes"]),
            "best_prefetch_fps": max(rates["prefetch"]),
            "records_identical": same,
            "hands": sum(len(r["hands"]) for r in records["prefetch"]),
            "frames": count,
            "data": data,
        },
    )
