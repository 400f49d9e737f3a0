"""Worker processes for :func:`depthhand.predict.predict_batch`: a folder of images on every core.

Within one process the networks, the decoder and numpy share the GIL and two cores only partly overlap (two
pipelines in threads were no faster than one, ``predict.folder``). Separate processes do not share it: each worker
holds one pipeline (one inference thread unless told more), decodes its own images and returns finished records, so
the images' decoding and their networks run on all cores at once.

Workers are started with ``spawn`` (on every platform: the parent may already run ONNX Runtime's threads, which a
``fork`` would copy mid-flight); each builds its pipeline once, in :func:`start_worker`. Images go out in chunks in
input order and their records come back in the same order; an image a worker cannot read comes back as its reason,
as in the calling process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.structures import CameraIntrinsics

__all__ = ["AUTO_MIN_IMAGES", "CHUNK", "WorkerJob", "auto_processes", "run_in_processes", "start_worker"]

AUTO_MIN_IMAGES = 64
"""Fewest images for which ``processes=None`` (auto) starts worker processes: each costs an interpreter start and a
model load (about 0.3 s, in parallel), which a short list would not win back."""
CHUNK = 8
"""Images sent to a worker at a time."""


@dataclass(frozen=True)
class WorkerJob:
    """What every worker needs besides its images (pickled once per worker).

    Attributes:
        intrinsics: The intrinsics spec (:func:`depthhand.geometry.camera.parse_intrinsics`).
        fixed: The camera when the spec does not depend on the image size (parsed once, in the caller), else
            ``None`` (parsed per image).
        depth_format: See :func:`depthhand.predict.read_depth_image`.
        depth_scale: mm per raw unit.
        options: The pipeline options, image mode.
        overlay_dir: Where overlays go, or ``None``.
    """

    intrinsics: str
    fixed: CameraIntrinsics | None
    depth_format: str
    depth_scale: float
    options: PipelineOptions
    overlay_dir: str | None


Outcome = dict[str, Any] | ValueError
"""One image's record, or why it could not be read (a ``ValueError`` whose text names the file, as in the caller:
``predict_batch`` keeps either the same way)."""

_job: WorkerJob | None = None
_pipe: HandPipeline | None = None


def auto_processes(count: int, cpus: int | None = None) -> int:
    """Worker processes for ``count`` images when none were asked for: one per core for a long list, else 1.

    Args:
        count: Images in the batch.
        cpus: Cores usable (``None``: those this process may run on).
    """
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus) if count >= AUTO_MIN_IMAGES else 1


def start_worker(job: WorkerJob) -> None:
    """Process initializer: keep the job and build this worker's pipeline."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    global _job, _pipe
    from depthhand.pipeline import HandPipeline

    _job, _pipe = job, HandPipeline(job.options)


def run_chunk(items: Sequence[tuple[int, str]]) -> list[Outcome]:
    """Poses of a chunk of ``(index, path)`` images in this worker, in order."""
    from depthhand.predict import image_record, read_image_and_camera

    assert _job is not None and _pipe is not None, "start_worker did not run in this process"
    overlay = Path(_job.overlay_dir) if _job.overlay_dir is not None else None
    out: list[Outcome] = []
    for index, path in items:
        try:
            depth, k = read_image_and_camera(path, _job.intrinsics, _job.depth_format, _job.depth_scale, _job.fixed)
        except (ValueError, OSError) as exc:
            out.append(ValueError(str(exc)))  # its text, as the caller keeps it (an OSError need not pickle back)
            continue
        out.append(image_record(_pipe, index, path, depth, k, overlay))
    return out


def run_in_processes(
    paths: Sequence[str | Path], job: WorkerJob, processes: int, keep: Callable[[str | Path, Outcome], None]
) -> None:
    """Run ``job`` on ``paths`` in ``processes`` workers; ``keep(path, outcome)`` is called in input order.

    Raises:
        RuntimeError: A worker died (it names how many images were done); the records kept so far stay kept.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    items = [(i, str(p)) for i, p in enumerate(paths)]
    chunks = [items[j : j + CHUNK] for j in range(0, len(items), CHUNK)]
    context = multiprocessing.get_context("spawn")
    done = 0
    with ProcessPoolExecutor(processes, mp_context=context, initializer=start_worker, initargs=(job,)) as pool:
        outcomes: Iterator[list[Outcome]] = pool.map(run_chunk, chunks)
        try:
            for chunk, results in zip(chunks, outcomes, strict=True):
                for (index, _), outcome in zip(chunk, results, strict=True):
                    keep(paths[index], outcome)
                    done += 1
        except BrokenProcessPool as exc:
            raise RuntimeError(
                f"a predict worker process died after {done} of {len(paths)} image(s) ({exc}); run with "
                "processes=1 (--processes 1) to see the error in this process"
            ) from None
