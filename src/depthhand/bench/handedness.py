"""Handedness benchmark: the pose's palm chirality (:mod:`depthhand.pose.handedness`) against the detector's head.

The measurements (held-out synthetic crops per scene, the real SR305 desk frames) are
:func:`depthhand.evaluate.handedness.synthetic_accuracy` and :func:`depthhand.evaluate.handedness.real_sr305`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depthhand.bench.core import BenchResult, benchmark
from depthhand.evaluate.handedness import SCENES, real_sr305, synthetic_accuracy


@benchmark("detect.handedness", "handedness from the pose's palm chirality: held-out synthetic crops and real SR305")
def bench_handedness(quick: bool) -> BenchResult:
    """Headline: mean chirality accuracy over the synthetic scenes (predicted joints, sign only)."""
    from depthhand.evaluate.protocols import resolve_shared_dir

    synth = synthetic_accuracy(100 if quick else 1000)
    frames = resolve_shared_dir() / "data" / "real" / "sr305-desk" / "frames"
    real: dict[str, Any] = real_sr305(frames) if frames.is_dir() else {"skipped": f"{frames} not found"}
    value = float(np.mean([synth[s]["accuracy_sign"] for s in SCENES]))
    return BenchResult(
        "detect.handedness",
        value,
        "accuracy",
        synth["crops_per_scene"] * len(SCENES),
        {
            "synthetic": synth,
            "real_sr305": real,
        },
    )
