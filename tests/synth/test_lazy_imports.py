from __future__ import annotations

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
    assert results["synth.frame"].unit == "ms" and results["synth.frame"].value > 0
    assert results["synth.crops"].unit == "crops/s" and results["synth.crops"].value > 0
