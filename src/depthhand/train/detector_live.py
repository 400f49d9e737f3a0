"""Live-style training frames of the hand detector: random moments of the animated top-down source.

:class:`depthhand.synth.live.SyntheticLive` is what ``depthhand run`` and ``pipeline.accuracy_live`` see: hands
entering from the table edge, wandering, touching and leaving among the table's objects, each with its upper arm.
The shipped detector's false hands there (BENCHMARKS.md, "Detector fine-tune with live-style frames") are hands
entering or leaving, with under half their joints inside the image, which that benchmark does not count as hands.
These frames teach exactly that rule: such hands are left unlabelled (negatives).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.train.detector_data import CAMERAS, DetectorSample, detector_sample, labelled_hands

LIVE_STREAM = 7_000
"""Second key of the live-style frames' generators ``[seed, LIVE_STREAM, index]`` (off the hard and standard keys)."""
LIVE_MIN_IN_VIEW = 0.5
"""A live-style hand is a label only with at least this fraction of its joints inside the image (the live
benchmark's ``LiveAccuracy.add`` rule: a hand mostly outside the image counts as a false hand there)."""
LIVE_SEED_FLOOR = 2**32
"""Every live-style stream's seed is at least this (far above the benchmarks' ``SyntheticLive`` seeds)."""
LIVE_MAX_SKIP = 900
"""Live-style frames are taken after 0 … this many unrendered frames of their stream (30 s at 30 fps)."""


def is_live_frame(seed: int, index: int, live_fraction: float) -> bool:
    """Whether cache frame ``index`` is a live-style frame (a fixed draw per frame; never for fraction 0)."""
    if live_fraction <= 0.0:
        return False
    return live_fraction >= 1.0 or float(np.random.default_rng([seed, index, LIVE_STREAM]).random()) < live_fraction


def live_stream_seed(seed: int, index: int) -> int:
    """Seed of the :class:`~depthhand.synth.live.SyntheticLive` stream behind live-style frame ``index``.

    Drawn from ``default_rng([seed, LIVE_STREAM, index])`` in ``[LIVE_SEED_FLOOR, 2**62)``: never one of the small
    seeds that the benchmarks' live takes use (1, 5–8, 101, 102).
    """
    rng = np.random.default_rng([seed, LIVE_STREAM, index])
    return int(rng.integers(LIVE_SEED_FLOOR, 2**62))


def render_live_detector_sample(seed: int, index: int) -> DetectorSample:
    """Live-style frame ``index``: a random moment of a fresh ``SyntheticLive`` stream, with detector labels.

    The stream (seed :func:`live_stream_seed`, 1 or 2 hands, the Astra preset or another training camera, the
    live source's noise or randomised noise) is advanced by 0 … :data:`LIVE_MAX_SKIP` unrendered frames, then one
    frame is rendered. Its hands are labels where :func:`labelled_hands` says so **and** at least
    :data:`LIVE_MIN_IN_VIEW` of their joints project into the image; hands entering or leaving with less in view
    are left unlabelled, i.e. they are negatives, as the live benchmark scores them.
    """
    from depthhand.geometry.camera import INTRINSICS
    from depthhand.synth.live import SyntheticLive

    rng = np.random.default_rng([seed, LIVE_STREAM + 1, index])
    cam = CAMERAS[int(rng.integers(len(CAMERAS)))] if rng.random() < 0.4 else None
    live = SyntheticLive(
        seed=live_stream_seed(seed, index),
        intrinsics=INTRINSICS[cam] if cam else None,
        noise="default" if rng.random() < 0.7 else "random",
        max_hands=1 if rng.random() < 0.25 else 2,
    )
    live.skip(int(rng.integers(0, LIVE_MAX_SKIP + 1)))
    _, _, sample = live.next_frame_with_sample()
    return detector_sample(sample, sample.depth_mm, live_labels(sample))


def live_labels(sample: Any) -> npt.NDArray[np.bool_]:
    """(K,) which hands of a live-style ``SynthSample`` are labels.

    A hand is a label where :func:`~depthhand.train.detector_data.labelled_hands` says so (palm centre inside the
    image, ≥ 4 visible joints) and at least :data:`LIVE_MIN_IN_VIEW` of its 21 joints (``sample.joints_uvd``,
    pixels) project inside the image.
    """
    keep = labelled_hands(sample)
    if not len(keep):
        return keep
    from depthhand.geometry.camera import uv_in_view

    intr = sample.intrinsics
    uvd = np.asarray(sample.joints_uvd, np.float64).reshape(len(keep), -1, 3)
    inside = uv_in_view(uvd, intr.width, intr.height)
    out: npt.NDArray[np.bool_] = keep & (inside.mean(axis=1) >= LIVE_MIN_IN_VIEW)
    return out
