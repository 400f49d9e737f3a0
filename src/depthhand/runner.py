"""The live loop behind ``depthhand run``: source → :class:`~depthhand.pipeline.HandPipeline` → JSONL / window.

Frames come from :func:`depthhand.capture.stream.open_stream` (live sensors: newest frame wins, reconnects with
back-off). One bad frame never stops the loop: the pipeline returns an empty result with an ``error``.
On a synthetic source the loop also measures its own accuracy against the ground truth: the joints
(:class:`~depthhand.evaluate.live.LiveAccuracy`) and touch (precision, recall, false touches per minute, median
position error of the default touch rule on the true table plane; :class:`_TouchScore`). Sources whose poses come
from their truth (``scripted://…``, ``synthetic://…?poses=truth``) skip the network, as ``depthhand serve`` does.

With a projector calibration (``--calibration``) or an OSC / TUIO output (``--osc``, ``--tuio``) the interaction
engine runs on every frame (touch and hover need the calibration's table plane, projector pixels its mapping) and
each frame goes to the outputs (:mod:`depthhand.output`).

The JSONL output is a header line (``schema``, ``joint_set``, ``joint_names``, units, axes) and then one
:meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>` record per frame: the same keys and values as
``depthhand predict`` and the ``frame`` messages of ``depthhand serve``.

With ``record_path`` (``run --record FILE.mcap``) the loop also records each frame's depth and its hands in one MCAP
file (:mod:`depthhand.capture.mcap_format`: ``/depth/image``, ``/depth/camera_info``, ``/hands``), which Foxglove
plays back with the poses in sync.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeGuard

import numpy as np

from depthhand.capture.stream import FrameStream, open_stream
from depthhand.capture.synthetic import SceneSource
from depthhand.pipeline import HandPipeline, PipelineOptions, truth_result
from depthhand.skeleton import CANONICAL21, JointSet
from depthhand.structures import DepthFrame, FrameResult

if TYPE_CHECKING:
    from depthhand.capture.mcap_writer import McapRecordingWriter
    from depthhand.interact.calibration import Calibration
    from depthhand.output import FrameOutput
    from depthhand.synth.live import SynthTruth

POSES_SCHEMA = "depthhand.poses/2"
"""Schema of the JSONL header; /2: records are :meth:`FrameResult.to_dict` (``frame_index``, ``track_id``)."""


def joints_in_view(joints_uvd: np.ndarray, frame: DepthFrame) -> np.ndarray:
    """(K, J) True where a joint projects inside the frame (hands entering or leaving are partly outside)."""
    from depthhand.geometry.camera import uv_in_view

    uvd = np.asarray(joints_uvd, np.float64).reshape(-1, np.shape(joints_uvd)[-2], 3)
    h, w = frame.depth_mm.shape
    return uv_in_view(uvd, w, h)


@dataclass
class RunSummary:
    """What a run did: frames, rate, mean stage timings, and accuracy on synthetic sources."""

    frames: int = 0
    bad_frames: int = 0
    seconds: float = 0.0
    stage_ms: dict[str, list[float]] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    touch: dict[str, Any] = field(default_factory=dict)
    """Touch scores against the truth on synthetic sources (:func:`touch_summary`); empty otherwise."""
    source_stats: dict[str, Any] = field(default_factory=dict)
    recorded_frames: int = 0
    record_error: str = ""
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pose_backend: str = ""
    """The pose runtime that ran (``"auto"`` resolved; ``""`` when no network ran: poses from the truth)."""

    def add(self, result: FrameResult) -> None:
        """Count one result."""
        self.frames += 1
        self.bad_frames += bool(result.error)
        for k, v in result.timings_ms.items():
            self.stage_ms.setdefault(k, []).append(v)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON summary (median stage times)."""
        return {
            "frames": self.frames,
            "bad_frames": self.bad_frames,
            "fps": self.frames / self.seconds if self.seconds > 0 else 0.0,
            "median_stage_ms": {k: float(np.median(v)) for k, v in self.stage_ms.items()},
            "accuracy": self.accuracy,
            "touch": self.touch,
            "source": self.source_stats,
            "recorded_frames": self.recorded_frames,
            "record_error": self.record_error,
            "outputs": self.outputs,
            "pose_backend": self.pose_backend,
        }


def run_source(
    url: str,
    options: PipelineOptions | None = None,
    out_path: str | Path | None = None,
    max_frames: int | None = None,
    view: bool = False,
    overlay_dir: str | Path | None = None,
    overlay_every: int = 30,
    log: TextIO | None = None,
    *,
    record_path: str | Path | None = None,
    calibration: Calibration | None = None,
    outputs: Sequence[FrameOutput] = (),
    touch_rule: str | None = None,
) -> RunSummary:
    """Run the pipeline over a source.

    Args:
        url: Source URL (see :func:`depthhand.capture.sources.open_source`).
        options: Pipeline options.
        out_path: JSONL file, one record per frame (flushed per line, so a crash keeps what was written).
        max_frames: Stop after this many frames (None: until the source ends or Ctrl-C).
        view: Show an OpenCV window (needs an OpenCV build with GUI support and a display).
        overlay_dir: Write an overlay PNG every ``overlay_every`` frames here.
        overlay_every: See ``overlay_dir``.
        log: Where to print progress lines (None: quiet).
        record_path: Also record the depth frames and their hands here (``.mcap``; needs the ``mcap`` extra);
            a run that processes no frame leaves no file.
        calibration: Table plane and projector mapping for the interaction engine (touch, hover, projector pixels).
        outputs: Where each frame goes besides ``out_path`` (OSC, TUIO); closed when the run ends.
        touch_rule: The touch rule of the interaction engine and of the touch figures on synthetic sources
            (:data:`~depthhand.interact.touch_settings.RULES`; ``None``: the default of ``TouchSettings``).

    Returns:
        The run's :class:`RunSummary`.
    """
    from depthhand.evaluate.live import LiveAccuracy

    touch: _TouchScore | None = None
    stream: FrameStream = open_stream(url, max_frames)  # a bad URL fails here, before anything is written
    summary = RunSummary()
    accuracy: LiveAccuracy | None = None
    window = _Window() if view else None
    if overlay_dir is not None:
        Path(overlay_dir).mkdir(parents=True, exist_ok=True)
    out: TextIO | None = open(out_path, "w", encoding="utf-8") if out_path else None  # noqa: SIM115
    recorder: McapRecordingWriter | None = None
    from_truth = isinstance(stream.source, SceneSource) and stream.source.poses_from_truth
    engine = None
    if calibration is not None or outputs:
        from depthhand.interact.engine import Interaction

        touch_settings = _touch_settings(touch_rule)
        if calibration is None:
            engine = Interaction(touch=touch_settings)
        else:
            engine = Interaction(touch=touch_settings, calibration=calibration)
    t0 = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            pipe = None if from_truth else stack.enter_context(HandPipeline(options))
            joint_set = CANONICAL21 if pipe is None else pipe.joint_set
            summary.pose_backend = "" if pipe is None else pipe.estimator.backend
            accuracy = LiveAccuracy(joint_set)
            if out is not None:
                header = {
                    "schema": POSES_SCHEMA,
                    "joint_set": joint_set.name,
                    "joint_names": list(joint_set.names),
                    "units": "mm",
                    "axes": "x right, y down, z forward",
                }
                out.write(json.dumps(header) + "\n")
            for item in stream:
                frame, truth = item.frame, item.truth
                result = truth_result(item) if pipe is None else pipe.process(frame)
                summary.add(result)
                if record_path is not None and not summary.record_error:
                    try:
                        recorder = recorder or _recorder(record_path, frame, joint_set, url)
                        recorder.write(frame, result)
                    except (OSError, ValueError) as exc:  # disk full, a frame of another size: the run goes on
                        summary.record_error = f"recording stopped at frame {frame.index}: {exc}"
                        if log is not None:
                            print(summary.record_error, file=log, flush=True)
                if truth is not None and accuracy is not None and not result.error and _has_joint_truth(truth):
                    accuracy.add_tracked(result.hands, truth, joints_in_view(truth.joints_uvd, frame))
                    touch = touch or _TouchScore(truth, relabel=pipe is not None, rule=touch_rule)
                    touch.add(result, truth, frame)
                if engine is not None:
                    interaction = engine.process(result, frame.depth_mm)  # the pixel and fused rules read it
                    for output in outputs:
                        output.send(result, interaction)
                if out is not None:
                    out.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
                    out.flush()
                fps = summary.frames / max(time.perf_counter() - t0, 1e-9)
                if window is not None or (overlay_dir is not None and summary.frames % overlay_every == 1):
                    from depthhand.viz import draw_overlay, write_png

                    image = draw_overlay(frame.depth_mm, result.hands, result.timings_ms, fps)
                    if overlay_dir is not None and summary.frames % overlay_every == 1:
                        write_png(Path(overlay_dir) / f"frame_{frame.index:06d}.png", image)
                    if window is not None and not window.show(image):
                        break
                if log is not None and summary.frames % 100 == 0:
                    print(f"{summary.frames} frames, {fps:.1f} fps", file=log, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        summary.seconds = time.perf_counter() - t0
        summary.source_stats = stream.stats.to_dict()
        for output in outputs:
            summary.outputs[output.name] = output.stats()
            output.close()
        if out is not None:
            out.close()
        if recorder is not None:
            try:
                recorder.close()
            except OSError as exc:  # the frames of the earlier chunks are kept
                summary.record_error = summary.record_error or f"closing the recording failed: {exc}"
            summary.recorded_frames = recorder.frames_written
        if window is not None:
            window.close()
    if accuracy is not None and accuracy.frames:
        summary.accuracy = accuracy.summary()
    if touch is not None:
        summary.touch = touch.summary()
    return summary


def _touch_settings(rule: str | None) -> Any:
    """``TouchSettings`` with ``rule`` (``None``: the defaults)."""
    from depthhand.interact.touch_settings import TouchSettings

    return TouchSettings() if rule is None else TouchSettings(rule=rule)


class _TouchScore:
    """Touch figures of a run on a synthetic source: the default touch rule on the true table plane.

    The hands (their ids matched to the true hands by palm centre when a pipeline found them) and the frame's depth
    go to a touch engine of their own (:class:`~depthhand.evaluate.touch.TouchScorer`), so the figures do not
    depend on ``--calibration``; true contacts are the fingertips the renderer marks as touching.
    """

    def __init__(self, truth: SynthTruth, relabel: bool, rule: str | None = None) -> None:
        from depthhand.evaluate.touch import TouchScorer, truth_table_plane

        self.scorer = TouchScorer(truth_table_plane(truth), _touch_settings(rule))
        self.relabel = relabel

    def add(self, result: FrameResult, truth: SynthTruth, frame: DepthFrame) -> None:
        from depthhand.evaluate.touch import relabel_to_truth, synthetic_truth_frame

        if self.relabel:
            result = relabel_to_truth(result, truth)
        self.scorer.add(synthetic_truth_frame(result, truth, frame.depth_mm))

    def summary(self) -> dict[str, Any]:
        return touch_summary(self.scorer.report(), self.scorer.settings.rule)


def touch_summary(report: Any, rule: str) -> dict[str, Any]:
    """The run summary's ``touch`` entry from a :class:`~depthhand.evaluate.touch.TouchReport` (NaN → ``None``).

    Keys: ``rule``, ``precision``, ``recall``, ``false_touches_per_min``, ``pos_err_median_mm``,
    ``down_delay_median_frames``, ``true_contacts``, ``detected_contacts``, ``false_touches``, ``frames``.
    """

    def num(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return {
        "rule": rule,
        "precision": report.precision,
        "recall": report.recall,
        "false_touches_per_min": report.false_touches_per_min,
        "pos_err_median_mm": num(report.position_error_mm["median"]),
        "down_delay_median_frames": num(report.down_delay_median_frames),
        "true_contacts": report.true_contacts,
        "detected_contacts": report.detected_contacts,
        "false_touches": report.false_touches,
        "frames": report.frames,
    }


def _recorder(path: str | Path, frame: DepthFrame, joint_set: JointSet, url: str) -> McapRecordingWriter:
    """The MCAP writer of ``run --record``, made at the first frame (its camera is the recording's)."""
    from depthhand.capture.mcap_writer import McapRecordingWriter

    hands = {"joint_set": joint_set.name, "joint_names": list(joint_set.names)}
    return McapRecordingWriter(path, frame.intrinsics, source=url, hands=hands)


def _has_joint_truth(truth: object) -> TypeGuard[SynthTruth]:
    """Whether ``truth`` is a synthetic scene's (true joints per hand), not a scripted one's."""
    from depthhand.synth.live import SynthTruth

    return isinstance(truth, SynthTruth)


class _Window:
    """An OpenCV window; a clear error when this OpenCV build has no GUI (opencv-python-headless)."""

    name = "depthhand"

    def __init__(self) -> None:
        import cv2

        try:
            cv2.namedWindow(self.name, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise ValueError(
                "--view needs an OpenCV with GUI support and a display (this one is headless); "
                "use --overlay DIR to write overlay images instead"
            ) from exc

    def show(self, image: np.ndarray) -> bool:
        import cv2

        cv2.imshow(self.name, image)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.name)
