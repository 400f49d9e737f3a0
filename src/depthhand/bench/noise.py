"""Benchmarks of the depth-sensor noise models (``depthhand bench noise``).

* ``noise.frame``: one 640×480 frame (Astra intrinsics, sphere + box on a tilted plane) per model, default
  parameters; headline = the slowest model's median, ms.
* ``noise.crop``: 96×96 crops of the same scene per model; headline = the slowest model's throughput, crops/s.
"""

from __future__ import annotations

from depthhand.bench.core import BenchResult, benchmark, time_calls

_MODELS = ("structured_light", "active_stereo", "tof")


@benchmark("noise.frame", "640×480 depth-noise pass per sensor model (ms, slowest model)")
def bench_frame(quick: bool) -> BenchResult:
    """Median time of ``apply_noise`` on a full VGA frame for each model."""
    import numpy as np

    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.noise import apply_noise, default_params
    from depthhand.synth.noise_preview import render_scene

    intrinsics = INTRINSICS["astra"]
    depth, labels = render_scene(intrinsics)
    rng = np.random.default_rng(0)
    repeat = 5 if quick else 100
    details: dict[str, float] = {}
    for name in _MODELS:
        params = default_params(name)
        t = time_calls(lambda p=params: apply_noise(depth, intrinsics, rng, p, labels), repeat)  # type: ignore[misc]
        details[f"{name}_median_ms"] = t["median_ms"]
        details[f"{name}_p95_ms"] = t["p95_ms"]
    worst = max(details[f"{n}_median_ms"] for n in _MODELS)
    return BenchResult("noise.frame", worst, "ms", repeat, details)


@benchmark("noise.crop", "96×96 crop depth-noise throughput per sensor model (crops/s, slowest model)")
def bench_crop(quick: bool) -> BenchResult:
    """Throughput of ``apply_noise`` on 96×96 crops (crop intrinsics, the hand-range part of the scene)."""
    import numpy as np

    from depthhand.geometry.camera import INTRINSICS
    from depthhand.structures import CameraIntrinsics
    from depthhand.synth.noise import apply_noise, default_params
    from depthhand.synth.noise_preview import render_scene

    full = INTRINSICS["astra"]
    size = 96
    u0, v0 = 60, 150  # the box's left edge, its shadow and the plane
    crop = CameraIntrinsics(full.fx, full.fy, full.cx - u0, full.cy - v0, size, size)
    depth, labels = render_scene(crop)
    rng = np.random.default_rng(0)
    repeat = 20 if quick else 2000
    details: dict[str, float] = {}
    for name in _MODELS:
        params = default_params(name)
        t = time_calls(lambda p=params: apply_noise(depth, crop, rng, p, labels), repeat)  # type: ignore[misc]
        details[f"{name}_median_ms"] = t["median_ms"]
        details[f"{name}_crops_per_s"] = 1e3 / t["mean_ms"]
    worst = min(details[f"{n}_crops_per_s"] for n in _MODELS)
    return BenchResult("noise.crop", worst, "crops/s", repeat, details)
