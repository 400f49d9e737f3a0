"""Single-image mode (``depthhand predict``): depth images from any camera → per-hand poses (+ overlays).

Each image is processed on its own: detection and pose, no tracking or smoothing across images. The output is a
JSON list with one :meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>` record per image (the same
keys and values as ``depthhand run``'s JSONL and ``depthhand serve``'s ``frame`` messages): ``frame_index`` is the
image's position in the list, ``source`` its path, ``timestamp_us`` 0. A batch keeps going
past images it cannot read (missing, a directory, corrupt, the wrong kind of image, the wrong size for the camera):
:func:`predict_batch` returns the results of the readable ones and a reason for each of the others. Images are
decoded by a small thread pool ahead of the networks (:func:`prefetch`); results keep the input order. Mistakes that
concern the whole batch (the intrinsics spec, the depth scale, the overlay folder) raise before any image is read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import queue
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.geometry.camera import intrinsics_spec_needs_size, parse_intrinsics
from depthhand.pipeline import HandPipeline, PipelineOptions
from depthhand.structures import CameraIntrinsics, DepthFrame

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "DEPTH_FORMATS",
    "PredictBatch",
    "parse_intrinsics",
    "predict_batch",
    "predict_files",
    "prefetch",
    "read_depth_image",
    "records_to_json",
    "write_json",
]

DEPTH_FORMATS = ("png16", "nyu-rgb")
PREFETCH_WORKERS = 2
"""Threads that decode images ahead of the networks in :func:`predict_batch`."""
PREFETCH_AHEAD = 4
"""Images decoded (or being decoded) ahead of the one the networks are on."""
PREDICT_PIPELINES = 1
"""Pipelines :func:`predict_batch` runs side by side by default. Two (threads, one inference thread each) were no
faster than one with the prefetching reader on the 2-core machine (``predict.folder``: ×0.99–1.02 in two runs,
records identical), so one it is; ``pipelines=2`` stays for machines with more cores."""
T = TypeVar("T")


def check_depth_scale(depth_scale: float) -> None:
    """Raise ``ValueError`` unless ``depth_scale`` (mm per raw unit) is positive and finite."""
    if isinstance(depth_scale, bool) or not isinstance(depth_scale, (int, float)):
        raise ValueError(f"--depth-scale must be a number (mm per raw unit), got {depth_scale!r}")
    if not (math.isfinite(depth_scale) and depth_scale > 0):
        raise ValueError(f"--depth-scale must be a positive finite number of mm per raw unit, got {depth_scale}")


def read_depth_image(
    path: str | Path, depth_format: str = "png16", depth_scale: float = 1.0
) -> npt.NDArray[np.float32]:
    """Read a depth image as float32 mm (0 = invalid).

    Args:
        path: Image file.
        depth_format: ``png16`` (single-channel 16-bit PNG/TIFF/PGM, or a float TIFF: value × ``depth_scale`` =
            mm) or ``nyu-rgb`` (NYU's colour PNG, depth = G·256 + B mm).
        depth_scale: Millimetres per raw unit for ``png16`` (e.g. 0.125 for the SR305); positive and finite.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: Saying which, naming the file: a directory, a ``.npy`` array, a corrupt file, an image that does
            not have the layout ``depth_format`` expects (with the shape and dtype found); or a bad argument.
    """
    from depthhand.capture.folder import read_image_file

    if depth_format not in DEPTH_FORMATS:
        raise ValueError(f"--depth-format must be one of {DEPTH_FORMATS}, got {depth_format!r}")
    check_depth_scale(depth_scale)
    file = Path(path)
    if file.suffix.lower() == ".npy" and file.is_file():
        raise ValueError(f"{file}: a NumPy .npy array, not an image; predict reads PNG/TIFF/PGM depth images")
    image = read_image_file(file)
    if depth_format == "nyu-rgb":
        from depthhand.datasets.nyu import decode_nyu_depth

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{file}: nyu-rgb expects an 8-bit 3-channel PNG, got {image.shape} {image.dtype}")
        return decode_nyu_depth(image.astype(np.uint8, copy=False))
    if image.ndim != 2 or image.dtype not in (np.uint16, np.float32):
        kind = "an 8-bit" if image.dtype.itemsize == 1 else "a"
        raise ValueError(
            f"{file}: png16 expects a single-channel 16-bit image, got {kind} image of shape {image.shape} "
            f"dtype {image.dtype}"
        )
    depth = image.astype(np.float32) * np.float32(depth_scale)
    depth[~np.isfinite(depth) | (depth < 0)] = 0
    out: npt.NDArray[np.float32] = depth
    return out


def read_image_and_camera(
    path: str | Path,
    intrinsics: str,
    depth_format: str,
    depth_scale: float,
    fixed: CameraIntrinsics | None = None,
) -> tuple[npt.NDArray[np.float32], CameraIntrinsics]:
    """One image as float32 mm and its camera (``fixed``, or ``intrinsics`` parsed for the image's size).

    Raises:
        ValueError: The image is unreadable (:func:`read_depth_image`) or its size is not the camera's.
        FileNotFoundError: The file is missing.
    """
    depth = read_depth_image(path, depth_format, depth_scale)
    h, w = depth.shape
    k = fixed if fixed is not None else parse_intrinsics(intrinsics, width=w, height=h)
    if (k.height, k.width) != depth.shape:
        raise ValueError(f"{path}: image is {w}×{h}, intrinsics {intrinsics!r} are {k.width}×{k.height}")
    return depth, k


def image_record(
    pipe: HandPipeline,
    index: int,
    path: str | Path,
    depth: npt.NDArray[np.float32],
    k: CameraIntrinsics,
    overlay: Path | None,
) -> dict[str, Any]:
    """The record of one image (:meth:`FrameResult.to_dict`), its overlay written to ``overlay`` when given."""
    result = pipe.process(DepthFrame(depth, k, 0, str(path), index))
    if overlay is not None:
        from depthhand.viz import draw_overlay, write_png  # only for overlays (a cold start without them skips it)

        image = draw_overlay(depth, [h.pose for h in result.hands], result.timings_ms)
        write_png(overlay / (Path(path).stem + "_overlay.png"), image)
    return result.to_dict()


@dataclass
class PredictBatch:
    """What :func:`predict_batch` made of a list of images.

    Attributes:
        records: One :meth:`FrameResult.to_dict` record per readable image, in input order: ``source``, ``hands``
            (joints in mm and uvd, handedness, score) and, when the pipeline rejected the frame, ``error``.
        failures: ``(file, reason)`` for each image that could not be read; ``reason`` names the file.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def predict_batch(
    paths: Sequence[str | Path],
    intrinsics: str,
    depth_format: str = "png16",
    depth_scale: float = 1.0,
    options: PipelineOptions | None = None,
    overlay_dir: str | Path | None = None,
    read_workers: int = PREFETCH_WORKERS,
    pipelines: int = PREDICT_PIPELINES,
    processes: int | None = 1,
) -> PredictBatch:
    """Poses of the hands in each readable image; a reason for each unreadable one.

    Args:
        paths: Depth images.
        intrinsics: A spec of :func:`depthhand.geometry.camera.parse_intrinsics`; ``fx,fy,cx,cy`` takes each
            image's size.
        depth_format: See :func:`read_depth_image`.
        depth_scale: mm per raw unit (``png16``).
        options: Pipeline options.
        overlay_dir: Write ``<stem>_overlay.png`` (depth + skeletons) for each readable image here (created).
        read_workers: Threads decoding images ahead of the networks (0: decode in the calling thread).
        pipelines: Pipelines processing images side by side, in threads; the options' ``num_threads`` is shared out
            between them (at least 1 each). 1: one pipeline in the calling thread. Records keep the input order and
            are the same either way (image mode carries nothing from one image to the next).
        processes: Worker processes, each with its own pipeline and decoder (:mod:`depthhand.predict_workers`);
            ``None``: one per core for :data:`~depthhand.predict_workers.AUTO_MIN_IMAGES` images or more, else 1
            (what ``depthhand predict`` does); 1 (the default): everything in this process (``read_workers`` and
            ``pipelines`` apply only then). The options' ``num_threads`` is shared out between them. Records are
            the same either way. Workers are *spawned*: a script that asks for more than one must start from an
            ``if __name__ == "__main__":`` block, as :mod:`multiprocessing` requires.

    Raises:
        ValueError: For a bad intrinsics spec, depth format or scale, ``pipelines`` or ``processes``, or an
            ``overlay_dir`` that is a file; before any image is read.
        RuntimeError: A worker process died (:func:`depthhand.predict_workers.run_in_processes`; no batch is
            returned).
    """
    if depth_format not in DEPTH_FORMATS:
        raise ValueError(f"--depth-format must be one of {DEPTH_FORMATS}, got {depth_format!r}")
    check_depth_scale(depth_scale)
    # Check the spec now, not at the first image: for fx,fy,cx,cy any size tells whether the numbers are valid.
    checked = parse_intrinsics(intrinsics, width=1, height=1)
    fixed: CameraIntrinsics | None = None if intrinsics_spec_needs_size(intrinsics) else checked
    overlay = Path(overlay_dir) if overlay_dir is not None else None
    if overlay is not None:
        if overlay.exists() and not overlay.is_dir():
            raise ValueError(f"--overlay {overlay} is an existing file, not a folder")
        try:
            overlay.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"--overlay {overlay}: cannot create the folder ({exc.strerror or exc})") from None
    if isinstance(pipelines, bool) or not isinstance(pipelines, int) or pipelines < 1:
        raise ValueError(f"pipelines must be a whole number >= 1, got {pipelines!r}")
    if processes is None:
        from depthhand.predict_workers import auto_processes

        processes = auto_processes(len(paths))
    elif isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(
            f"processes must be a whole number >= 1 (or None: one per core for long lists), got {processes!r}"
        )
    batch = PredictBatch()
    image_mode = dataclasses.replace(options or PipelineOptions(), mode="image")  # no tracking across images
    processes = min(processes, max(1, len(paths)))
    pipelines = min(pipelines, max(1, len(paths))) if processes == 1 else 1
    share = max(pipelines, processes)
    if share > 1:
        image_mode = dataclasses.replace(image_mode, num_threads=max(1, image_mode.num_threads // share))

    def read(path: str | Path) -> tuple[npt.NDArray[np.float32], CameraIntrinsics]:
        return read_image_and_camera(path, intrinsics, depth_format, depth_scale, fixed)

    def process(
        pipe: HandPipeline, i: int, path: str | Path, depth: npt.NDArray[np.float32], k: CameraIntrinsics
    ) -> Any:
        return image_record(pipe, i, path, depth, k, overlay)

    def keep(path: str | Path, outcome: Any) -> None:
        if isinstance(outcome, Exception):
            batch.failures.append((str(path), str(outcome)))
        else:
            batch.records.append(outcome)

    if processes > 1:
        from depthhand.predict_workers import WorkerJob, run_in_processes

        work = WorkerJob(intrinsics, fixed, depth_format, depth_scale, image_mode, str(overlay) if overlay else None)
        run_in_processes(paths, work, processes, keep)
        return batch
    stream = prefetch(paths, read, read_workers)
    if pipelines == 1:
        with HandPipeline(image_mode) as pipe:
            for i, (path, read_result) in enumerate(stream):
                keep(path, read_result if isinstance(read_result, Exception) else process(pipe, i, path, *read_result))
        return batch
    from concurrent.futures import Future, ThreadPoolExecutor  # not for one image (a cold start skips it)

    with contextlib.ExitStack() as stack:
        free: queue.SimpleQueue[HandPipeline] = queue.SimpleQueue()
        for _ in range(pipelines):
            free.put(stack.enter_context(HandPipeline(image_mode)))

        def job(i: int, path: str | Path, depth: npt.NDArray[np.float32], k: CameraIntrinsics) -> Any:
            pipe = free.get()  # a pipeline no other thread is using
            try:
                return process(pipe, i, path, depth, k)
            finally:
                free.put(pipe)

        pool = stack.enter_context(ThreadPoolExecutor(max_workers=pipelines, thread_name_prefix="depthhand-predict"))
        pending: deque[tuple[str | Path, Any]] = deque()  # in input order: futures, and read failures in their place
        for i, (path, read_result) in enumerate(stream):
            pending.append(
                (path, read_result if isinstance(read_result, Exception) else pool.submit(job, i, path, *read_result))
            )
            while len(pending) > 2 * pipelines:
                done_path, outcome = pending.popleft()
                keep(done_path, outcome.result() if isinstance(outcome, Future) else outcome)
        while pending:
            done_path, outcome = pending.popleft()
            keep(done_path, outcome.result() if isinstance(outcome, Future) else outcome)
    return batch


def prefetch(
    paths: Sequence[str | Path],
    read: Callable[[str | Path], T],
    workers: int = PREFETCH_WORKERS,
    ahead: int = PREFETCH_AHEAD,
) -> Iterator[tuple[str | Path, T | ValueError | OSError]]:
    """``(path, read(path))`` in input order, decoded by ``workers`` threads up to ``ahead`` files in advance.

    OpenCV's image decoding releases the GIL, so the next images decode while the caller runs the networks on the
    current one. A file that ``read`` refuses (``ValueError`` / ``OSError``) comes back as its exception, in its
    place; any other exception is raised. One file (or ``workers`` 0) is read in the calling thread.
    """
    if workers < 1 or len(paths) < 2:
        for path in paths:
            try:
                yield path, read(path)
            except (ValueError, OSError) as exc:
                yield path, exc
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depthhand-read")
    try:
        pending: deque[tuple[str | Path, Future[T]]] = deque()
        queue = iter(paths)
        for path in itertools.islice(queue, max(1, ahead)):
            pending.append((path, pool.submit(read, path)))
        while pending:
            path, future = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(read, nxt)))
            try:
                value: T | ValueError | OSError = future.result()
            except (ValueError, OSError) as exc:
                value = exc
            yield path, value
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def predict_files(
    paths: Sequence[str | Path],
    intrinsics: str,
    depth_format: str = "png16",
    depth_scale: float = 1.0,
    options: PipelineOptions | None = None,
    overlay_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Like :func:`predict_batch`, but every image must be readable.

    Returns:
        :attr:`PredictBatch.records`, one per image.

    Raises:
        ValueError: As :func:`predict_batch`, and naming the first image that could not be read.
    """
    batch = predict_batch(paths, intrinsics, depth_format, depth_scale, options, overlay_dir)
    if batch.failures:
        raise ValueError(batch.failures[0][1])
    return batch.records


def records_to_json(records: list[dict[str, Any]]) -> str:
    """The records as strict JSON text (``ValueError`` rather than ``NaN``/``Infinity`` tokens)."""
    try:
        return json.dumps(records, indent=1, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"a prediction holds a NaN or infinite number; refusing invalid JSON ({exc})") from None


def write_json(records: list[dict[str, Any]], path: str | Path) -> None:
    """Write predictions atomically as strict JSON."""
    atomic.write_text(path, records_to_json(records))
