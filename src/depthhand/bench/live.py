"""Benchmarks of the live pipeline's classical stages: detection, tracking, recording (640×480 frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from depthhand.bench.core import BenchResult, benchmark, time_calls


def _sr305_frames() -> list[Any]:
    """The real SR305 frames if ``../shared/data`` is present, else an empty list."""
    from depthhand.capture.folder import FolderSource
    from depthhand.evaluate.protocols import resolve_shared_dir

    folder = resolve_shared_dir() / "data" / "real" / "sr305-desk" / "frames"
    if not folder.is_dir():
        return []
    with FolderSource(folder, intrinsics="sr305") as src:
        return list(src)


def _raised_hands_frames(n: int) -> list[Any]:
    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.toyscene import ToyArm, toy_frame

    k = INTRINSICS["astra"]
    arms = [
        ToyArm((0, 300), (220, 250), hand_height_mm=350, arm_height_mm=300),
        ToyArm((640, 120), (430, 200), hand_height_mm=320, arm_height_mm=280),
    ]
    return [toy_frame(arms, k, i, seed=i)[0] for i in range(n)]


@benchmark("live.detect_classical", "ClassicalDetector on 640×480 frames (real SR305 frames when available)")
def detect_classical(quick: bool) -> BenchResult:
    """Median ms per frame over the frame set, cycled."""
    from depthhand.detect.classical import ClassicalDetector

    frames = _sr305_frames()
    data = "sr305-desk" if frames else "toy raised hands"
    frames = frames or _raised_hands_frames(8)
    det = ClassicalDetector()
    it = iter(range(10**9))

    def call() -> None:
        det.detect(frames[next(it) % len(frames)])

    t = time_calls(call, repeat=33 if quick else 330)
    found = sum(len(det.detect(f)) > 0 for f in frames)
    return BenchResult(
        "live.detect_classical",
        t["median_ms"],
        "ms",
        int(t["n"]),
        {"p95_ms": t["p95_ms"], "data": data, "frames_with_hand": f"{found}/{len(frames)}"},
    )


@benchmark("live.detect_background", "BackgroundDetector on 640×480 toy table frames with 3 hands")
def detect_background(quick: bool) -> BenchResult:
    """Median ms per frame; the model is learned from 10 empty frames (not timed)."""
    from depthhand.detect.background import BackgroundDetector, BackgroundModel
    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.toyscene import ToyArm, toy_frame

    k = INTRINSICS["astra"]
    model = BackgroundModel.learn([toy_frame([], k, i, seed=i)[0] for i in range(10)])
    arms = [ToyArm((0, 300), (200, 260)), ToyArm((640, 100), (430, 180)), ToyArm((300, 480), (330, 330))]
    frames = [toy_frame(arms, k, i, seed=100 + i)[0] for i in range(4)]
    det = BackgroundDetector(model)
    it = iter(range(10**9))

    def call() -> None:
        det.detect(frames[next(it) % len(frames)])

    t = time_calls(call, repeat=30 if quick else 300)
    return BenchResult("live.detect_background", t["median_ms"], "ms", int(t["n"]), {"p95_ms": t["p95_ms"], "hands": 3})


@benchmark("live.track", "HandTracker.update with 2 hands (21 joints, One Euro smoothing, exact assignment)")
def track(quick: bool) -> BenchResult:
    """Median ms per update."""
    import numpy as np

    from depthhand.skeleton import CANONICAL21
    from depthhand.structures import HandPose
    from depthhand.track.tracker import HandTracker

    rng = np.random.default_rng(0)
    base = rng.normal(0, 30, (21, 3))
    tracker = HandTracker()
    state = {"i": 0}

    def call() -> None:
        i = state["i"]
        state["i"] += 1
        poses = []
        for k, x0 in enumerate((-150.0, 150.0)):
            xyz = (base + [x0 + 2 * np.sin(i / 10 + k), 0, 600]).astype(np.float32)
            poses.append(HandPose(xyz, xyz.copy(), CANONICAL21))
        tracker.update(poses, round(i * 1e6 / 30))

    t = time_calls(call, repeat=100 if quick else 1000)
    return BenchResult("live.track", t["median_ms"], "ms", int(t["n"]), {"p95_ms": t["p95_ms"], "hands": 2})


@benchmark("live.record", "RecordingWriter + RecordingSource round trip of 640×480 frames (zlib level 1)")
def record(quick: bool) -> BenchResult:
    """Write and read ms per frame and the compressed size per frame."""
    import tempfile
    import time

    from depthhand.capture.recording import RecordingSource, RecordingWriter

    frames = _sr305_frames() or _raised_hands_frames(8)
    n = 60 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.dhrec"
        t0 = time.perf_counter()
        with RecordingWriter(path, frames[0].intrinsics) as rec:
            for i in range(n):
                rec.write(frames[i % len(frames)])
        write_ms = (time.perf_counter() - t0) * 1e3 / n
        size_kb = path.stat().st_size / 1e3 / n
        t0 = time.perf_counter()
        with RecordingSource(path) as src:
            read = sum(1 for _ in src)
        read_ms = (time.perf_counter() - t0) * 1e3 / max(read, 1)
    return BenchResult("live.record", write_ms, "ms/frame", n, {"read_ms_per_frame": read_ms, "kB_per_frame": size_kb})


@benchmark(
    "live.record_mcap",
    "McapRecordingWriter (lz4 chunks, the default) write cost per 640×480 frame; zstd MCAP and .dhrec in the same run",
)
def record_mcap(quick: bool) -> BenchResult:
    """Write cost per frame (whole passes of ``n`` frames, close included); the three writers' passes alternate.

    The headline is the median over passes of the default (lz4) MCAP writer's CPU time per frame
    (``process_time``: what writing costs, whatever else loads the machine). The details hold its wall time, the
    same figures for the zstd MCAP writer and the zlib ``.dhrec`` writer, the ratios to ``.dhrec``, the slowest
    single ``write`` call of each (the one that compresses and writes a chunk; wall time), the size per frame and
    the MCAP read cost.
    """
    import statistics
    import tempfile
    import time

    from depthhand.capture.mcap_reader import McapRecordingSource
    from depthhand.capture.mcap_writer import McapRecordingWriter
    from depthhand.capture.recording import RecordingWriter

    frames = _sr305_frames() or _raised_hands_frames(8)
    n, passes = (60, 3) if quick else (300, 7)
    k = frames[0].intrinsics
    kinds: dict[str, Any] = {
        "mcap_lz4": lambda p: McapRecordingWriter(p.with_suffix(".mcap"), k, codec="lz4"),
        "mcap_zstd": lambda p: McapRecordingWriter(p.with_suffix(".mcap"), k, codec="zstd"),
        "dhrec_zlib": lambda p: RecordingWriter(p.with_suffix(".dhrec"), k),
    }
    wall: dict[str, list[float]] = {name: [] for name in kinds}
    cpu: dict[str, list[float]] = {name: [] for name in kinds}
    slowest: dict[str, float] = dict.fromkeys(kinds, 0.0)
    size_kb: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(passes):
            for name, make in kinds.items():
                t0, c0 = time.perf_counter(), time.process_time()
                rec = make(Path(tmp) / f"{name}_{i}")
                for j in range(n):
                    t1 = time.perf_counter()
                    rec.write(frames[j % len(frames)])
                    slowest[name] = max(slowest[name], (time.perf_counter() - t1) * 1e3)
                path = rec.close()
                wall[name].append((time.perf_counter() - t0) * 1e3 / n)
                cpu[name].append((time.process_time() - c0) * 1e3 / n)
                size_kb[name] = path.stat().st_size / 1e3 / n
        t0 = time.perf_counter()
        with McapRecordingSource(Path(tmp) / f"mcap_lz4_{passes - 1}.mcap") as src:
            read = sum(1 for _ in src)
        read_ms = (time.perf_counter() - t0) * 1e3 / max(read, 1)
    details: dict[str, Any] = {"mcap_lz4_wall_ms_per_frame": statistics.median(wall["mcap_lz4"])}
    for name in ("mcap_zstd", "dhrec_zlib"):
        details[f"{name}_cpu_ms_per_frame"] = statistics.median(cpu[name])
        details[f"{name}_wall_ms_per_frame"] = statistics.median(wall[name])
    dhrec = statistics.median(cpu["dhrec_zlib"])
    details["mcap_lz4_over_dhrec_cpu"] = statistics.median(cpu["mcap_lz4"]) / dhrec
    details["mcap_zstd_over_dhrec_cpu"] = statistics.median(cpu["mcap_zstd"]) / dhrec
    details.update({f"{name}_kB_per_frame": size_kb[name] for name in kinds})
    details.update({f"{name}_slowest_write_ms": slowest[name] for name in kinds})
    details.update(mcap_read_ms_per_frame=read_ms, passes=passes)
    return BenchResult("live.record_mcap", statistics.median(cpu["mcap_lz4"]), "cpu ms/frame", n * passes, details)
