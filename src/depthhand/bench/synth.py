"""Benchmarks of the synthetic generator (``depthhand bench synth``).

* ``synth.frame``: one full 640×480 top-down frame with one hand (Astra intrinsics, table, objects, upper arm):
  scene sampling + ray casting + labels + structured-light noise; headline = median ms. Details split the stages.
* ``synth.crops``: :func:`depthhand.synth.crops.generate_crops` throughput, labelled and noisy (randomised sensor
  family) 96×96 top-down crops; headline = crops/s (wall clock, one process). Details give crops per CPU-second
  (robust to other load on a shared machine) and the other families (full run only).
"""

from __future__ import annotations

import time

from depthhand.bench.core import BenchResult, benchmark, time_calls


@benchmark("synth.frame", "640×480 noisy top-down frame with one hand: sample + render + labels + noise (ms)")
def bench_frame(quick: bool) -> BenchResult:
    """Median time to produce one labelled, noisy VGA frame."""
    import numpy as np

    from depthhand.synth.raycast import render_depth
    from depthhand.synth.scenes import apply_sensor_noise, render_scene, sample_scene

    rng = np.random.default_rng(0)
    repeat = 10 if quick else 200

    def full() -> None:
        render_scene(sample_scene("topdown", rng, n_hands=1), rng, "structured_light")

    total = time_calls(full, repeat)
    scenes = [sample_scene("topdown", rng, n_hands=1) for _ in range(repeat)]
    sample = time_calls(lambda: sample_scene("topdown", rng, n_hands=1), repeat)
    it = iter(scenes * 2)
    render = time_calls(lambda: render_depth(next(it).primitives(), scenes[0].intrinsics), repeat, warmup=1)
    depth, tag = render_depth(scenes[0].primitives(), scenes[0].intrinsics)
    noise = time_calls(
        lambda: apply_sensor_noise(depth, scenes[0].intrinsics, rng, "structured_light", tag + 1), repeat
    )
    it = iter(scenes * 2)
    clean = time_calls(lambda: render_scene(next(it), rng, None), repeat, warmup=1)
    return BenchResult(
        "synth.frame",
        total["median_ms"],
        "ms",
        repeat,
        {
            "p95_ms": total["p95_ms"],
            "sample_scene_ms": sample["median_ms"],
            "raycast_ms": render["median_ms"],
            "render_scene_clean_ms": clean["median_ms"],
            "noise_sl_ms": noise["median_ms"],
        },
    )


@benchmark("synth.crops", "labelled, noisy 96×96 top-down training crops per second (generate_crops)")
def bench_crops(quick: bool) -> BenchResult:
    """Throughput of on-the-fly crop generation."""
    import numpy as np

    from depthhand.synth.crops import generate_crops

    rng = np.random.default_rng(0)
    generate_crops(8, rng, "topdown")  # JIT / cache warm-up
    n = 50 if quick else 1000
    rounds = 1 if quick else 3
    rates, cpu_rates = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        generate_crops(n, rng, "topdown", noise="random")
        rates.append(n / (time.perf_counter() - t0))
        cpu_rates.append(n / max(time.process_time() - c0, 1e-9))
    # crops per CPU-second: what one idle core would deliver (the machine is often shared)
    details: dict[str, float] = {"best_crops_per_s": max(rates), "crops_per_cpu_s": float(np.median(cpu_rates))}
    if not quick:
        for fam in ("frontal", "egocentric"):
            t0 = time.perf_counter()
            generate_crops(n // 2, rng, fam, noise="random")
            details[f"{fam}_crops_per_s"] = n / 2 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        generate_crops(n // 2, rng, "topdown", noise=None)
        details["topdown_clean_crops_per_s"] = n / 2 / (time.perf_counter() - t0)
    return BenchResult("synth.crops", float(np.median(rates)), "crops/s", n * rounds, details)
