"""The live pipeline as the server runs it: one source URL → :class:`~depthhand.pipeline.LiveFrame` items.

:func:`open_pipeline` builds the stream once (:func:`depthhand.capture.stream.open_stream`) and, unless the source's
poses come from its ground truth (``scripted://…``, ``synthetic://…?poses=truth``), a
:class:`~depthhand.pipeline.HandPipeline` with the given options. The ``scripted://calibration`` user reads the
server's calibration session through the state store. A recording whose URL has no ``?on_corrupt=`` skips a corrupt
chunk (counted in the stream's status) instead of stopping the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from depthhand.capture.stream import open_stream
from depthhand.capture.synthetic import SceneSource, ScriptedSource
from depthhand.pipeline import HandPipeline, LiveFrame, PipelineOptions, truth_result
from depthhand.serve.state import LiveState
from depthhand.skeleton import CANONICAL21, JointSet
from depthhand.structures import CameraIntrinsics


class Recorder(Protocol):
    """Recording interface a pipeline may supply (injectable)."""

    def start(self, path: str | None) -> dict[str, Any]:
        """Start recording (to ``path`` or a default); returns a JSON-able description."""
        ...

    def stop(self) -> dict[str, Any]:
        """Stop recording; returns a JSON-able description (frames written, path)."""
        ...


@dataclass
class PipelineHandle:
    """A running pipeline as the server sees it.

    Attributes:
        frames: The live items (blocking iteration is fine; it runs in a thread).
        source: Description of the source for status and ``hello``.
        joint_set: Skeleton of the poses.
        intrinsics: The camera, when known before the first frame.
        fps: Nominal frame rate.
        recorder: Optional recorder.
        close: Called when the server stops.
        source_status: The source's state and counters
            (:meth:`~depthhand.capture.stream.FrameStream.status`), callable from any thread.
        interrupt: Unblocks an iteration of ``frames`` waiting for the source (called from another thread at stop).
        pose_backend: The pose runtime in use (``"auto"`` resolved; ``""``: poses from the truth, no network).
    """

    frames: Iterator[LiveFrame]
    source: str
    joint_set: JointSet = CANONICAL21
    intrinsics: CameraIntrinsics | None = None
    fps: float = 30.0
    recorder: Recorder | None = None
    close: Callable[[], None] | None = None
    source_status: Callable[[], dict[str, Any]] | None = None
    interrupt: Callable[[], None] | None = None
    pose_backend: str = ""


def open_pipeline(url: str, options: PipelineOptions | None = None, state: LiveState | None = None) -> PipelineHandle:
    """The pipeline over ``url`` (see the module docstring); a bad URL raises here, before anything runs.

    Args:
        url: Source URL (:func:`depthhand.capture.sources.open_source`).
        options: How the pipeline is assembled (model, detector, backend, …).
        state: The server's state store (the calibration user reads its ``calibration_session``).

    Raises:
        ValueError: A bad URL or option.
        FileNotFoundError: A named file or folder does not exist.
    """
    stream = open_stream(url, on_corrupt="skip")  # a served recording skips a corrupt chunk (counted in status)
    source = stream.source
    if isinstance(source, ScriptedSource) and state is not None:
        source.session = lambda: state.get("calibration_session")
    from_truth = isinstance(source, SceneSource) and source.poses_from_truth
    pipe = None if from_truth else HandPipeline(options)

    def frames() -> Iterator[LiveFrame]:
        for item in stream:
            result = truth_result(item) if pipe is None else pipe.process(item.frame)
            yield LiveFrame(result, item.frame, item.truth)

    return PipelineHandle(
        frames=frames(),
        source=url,
        joint_set=pipe.joint_set if pipe is not None else CANONICAL21,
        fps=source.fps if isinstance(source, SceneSource) else 30.0,
        close=pipe.close if pipe is not None else None,
        source_status=stream.status,
        interrupt=stream.close,
        pose_backend=pipe.estimator.backend if pipe is not None else "",
    )
