from __future__ import annotations

import math
import subprocess
import sys


def test_synth_modules_import_without_numba_or_torch() -> None:
    code = (
        "import sys\n"
        "import depthhand.synth.hand_model, depthhand.synth.kinematics, depthhand.synth.pose_prior\n"
        "import depthhand.synth.raycast, depthhand.synth.scenes, depthhand.synth.scene_layout\n"
        "import depthhand.synth.crops, depthhand.synth.dataset, depthhand.synth.live, depthhand.synth.preview\n"
        "import depthhand.commands.synth, depthhand.bench.synth\n"
        "bad = [m for m in ('numba', 'torch', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_live_source_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any import of torch now fails\n"
        "from depthhand.synth.live import SyntheticLive\n"
        "frame, truth = SyntheticLive(seed=2).next_frame()\n"
        "assert frame.depth_mm.shape == (480, 640)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_benchmarks_run_quick() -> None:
    from depthhand.bench.core import run_benchmarks

    results = {r.name: r for r in run_benchmarks(["synth"], quick=True)}
    assert set(results) == {"synth.frame", "synth.crops"}
    frame = results["synth.frame"]
    assert frame.unit == "ms" and frame.samples == 10  # quick: 10 frames
    stages = ("sample_scene_ms", "raycast_ms", "render_scene_clean_ms", "noise_sl_ms")
    assert set(frame.details) == {"p95_ms", *stages}
    # a 640x480 frame takes between 10 µs and 10 s, its p95 is not below its median, and each stage of it is
    # shorter than (twice, for timing noise) the whole
    assert math.isfinite(frame.value) and 0.01 < frame.value < 10_000, frame
    assert frame.details["p95_ms"] >= frame.value
    for stage in stages:
        assert 0 < frame.details[stage] < 2 * frame.value, (stage, frame)
    crops = results["synth.crops"]
    assert crops.unit == "crops/s" and crops.samples == 50  # quick: one round of 50 crops
    assert set(crops.details) == {"best_crops_per_s", "crops_per_cpu_s"}
    # a labelled, noisy 96x96 crop needs more than 10 µs and less than 10 s of one process
    for rate in (crops.value, crops.details["best_crops_per_s"], crops.details["crops_per_cpu_s"]):
        assert math.isfinite(rate) and 0.1 < rate < 100_000, crops
    assert crops.details["best_crops_per_s"] >= crops.value  # the best round is not slower than the median one
