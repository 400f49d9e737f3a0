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
