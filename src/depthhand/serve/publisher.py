"""Pipeline loop → interaction → wire messages → channel-layer group (the model never runs in a consumer).

:class:`Publisher` iterates a pipeline (:class:`~depthhand.serve.pipeline.PipelineHandle`, whose items are
:class:`~depthhand.pipeline.LiveFrame`) in a background thread, runs
:class:`~depthhand.interact.engine.Interaction`, and hands pre-encoded JSON to an asyncio loop that ``group_send``
calls. It is the frame pump: iterate → interact → encode → send. Between two frames it hands the commands the web side
queued (:mod:`~depthhand.serve.commands`) to the
:class:`~depthhand.serve.controller.InstallationController` (calibration, plane fit, settings, recording), and it
publishes its status. One bad frame is logged and skipped; the loop does not die.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depthhand.interact.engine import Interaction
from depthhand.interact.gestures import PinchSettings
from depthhand.interact.schema import depth_message, event_message, frame_message, hello_message
from depthhand.interact.touch import TouchSettings
from depthhand.pipeline import LiveFrame
from depthhand.serve.commands import SetConfig, command_from_dict
from depthhand.serve.controller import InstallationController
from depthhand.serve.pipeline import PipelineHandle
from depthhand.serve.settings import FRAME_GROUP
from depthhand.serve.state import LiveState

log = logging.getLogger("depthhand.serve")


def now_us() -> int:
    """Wall-clock time, integer µs since the epoch."""
    return time.time_ns() // 1000


@dataclass
class _Stats:
    t_start: float = field(default_factory=time.perf_counter)
    frames: int = 0
    errors: int = 0
    publish_skipped: int = 0
    last_error: str = ""
    window_frames: int = 0
    window_t0: float = field(default_factory=time.perf_counter)
    stage_sums: dict[str, float] = field(default_factory=dict)
    fps: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)


class Publisher:
    """Runs the pipeline in a thread and publishes its output to the channel layer group ``hands``."""

    def __init__(
        self,
        handle: PipelineHandle,
        state: LiveState,
        data_dir: Path,
        window: int = 4,
        depth_every: int = 6,
        touch: TouchSettings | None = None,
        pinch: PinchSettings | None = None,
    ) -> None:
        self.handle = handle
        self.state = state
        self.window = window
        self.depth_every = depth_every
        self.controller = InstallationController(data_dir, touch, pinch, handle.recorder)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: Future[None] | None = None
        self._stats = _Stats()
        self._seq = 0
        self._intrinsics = handle.intrinsics
        self._ended = False
        if self.controller.last_error:
            self._stats.last_error = self.controller.last_error

    @property
    def engine(self) -> Interaction:
        """The interaction engine in force (the controller's)."""
        return self.controller.engine

    def request_plane_fit(self, frames: int = 15, request_id: str | None = None) -> None:
        """Fit the table plane from the next ``frames`` depth frames (see the controller)."""
        self.controller.request_plane_fit(frames, request_id)

    # ----------------------------------------------------------------- lifecycle
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the pipeline thread; messages are sent on ``loop`` (the ASGI server's or a worker's)."""
        self._loop = loop
        self._publish_hello(broadcast=False)
        self._write_config()
        self.state.set("capabilities", {"recorder": self.handle.recorder is not None})  # POST /api/recording asks
        self._thread = threading.Thread(target=self._run, name="depthhand-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the pipeline."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.handle.close is not None:
            self.handle.close()

    @property
    def running(self) -> bool:
        """Whether the pipeline thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # ----------------------------------------------------------------- loop
    def _run(self) -> None:
        last_status = 0.0
        try:
            for item in self.handle.frames:
                if self._stop.is_set():
                    break
                try:
                    self._commands()
                    self._step(item)
                except Exception as exc:  # a live loop never dies of one bad frame
                    self._stats.errors += 1
                    self._stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("frame failed")
                if time.perf_counter() - last_status > 0.5:
                    self._write_status()
                    last_status = time.perf_counter()
        except Exception as exc:
            self._stats.last_error = f"pipeline stopped: {type(exc).__name__}: {exc}"
            log.exception("pipeline stopped")
        self._ended = True
        self._write_status()

    def _step(self, item: LiveFrame) -> None:
        if not isinstance(item, LiveFrame):
            raise TypeError(f"pipeline item must be a LiveFrame, got {type(item).__name__}")
        result, depth = item.result, item.frame.depth_mm
        if self._intrinsics is None and result.intrinsics is not None:
            self._intrinsics = result.intrinsics
            self._publish_hello(broadcast=True)
        if result.hands and result.hands[0].pose.joint_set.name != self.handle.joint_set.name:
            self.handle.joint_set = result.hands[0].pose.joint_set  # the skeleton clients draw follows the poses
            self._publish_hello(broadcast=True)
        if self.controller.observe(depth, self._intrinsics):
            self._publish_hello(broadcast=True)  # a new plane: clients redraw the table
        inter = self.engine.process(result, depth)
        self._seq += 1
        seq = self._seq
        st = self._stats
        st.frames += 1
        st.window_frames += 1
        for k, v in result.timings_ms.items():
            st.stage_sums[k] = st.stage_sums.get(k, 0.0) + float(v)
        messages: list[dict[str, Any]] = [
            {"type": "hands.event", "text": json.dumps(event_message(e))} for e in inter.events
        ]
        if depth is not None and self.depth_every and seq % self.depth_every == 1 % self.depth_every:
            dm = depth_message(depth, seq, result.timestamp_us)
            messages.append({"type": "hands.depth", "text": json.dumps(dm), "seq": seq})
        t0 = time.perf_counter()
        text = json.dumps(frame_message(result, inter, seq, now_us()), separators=(",", ":"))
        messages.append({"type": "hands.frame", "text": text, "seq": seq})
        st.stage_sums["serialize"] = st.stage_sums.get("serialize", 0.0) + (time.perf_counter() - t0) * 1e3
        self._send(messages)

    def _send(self, messages: list[dict[str, Any]]) -> None:
        if self._loop is None:
            return
        if self._loop.is_closed():  # the server's loop is gone: stop publishing
            self._stop.set()
            return
        if self._pending is not None and not self._pending.done():
            try:  # one batch in flight: bounded memory, the pipeline never queues up behind the layer
                self._pending.result(timeout=0.5)
            except Exception:
                self._stats.publish_skipped += 1
                return
        self._pending = asyncio.run_coroutine_threadsafe(self._group_send(messages), self._loop)

    @staticmethod
    async def _group_send(messages: list[dict[str, Any]]) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        for msg in messages:
            await layer.group_send(FRAME_GROUP, msg)

    # ----------------------------------------------------------------- state
    def _hello(self) -> dict[str, Any]:
        cal = self.engine.calibration
        has_cal = cal.plane is not None or cal.can_map
        return hello_message(
            self.handle.joint_set,
            self._intrinsics,
            cal if has_cal else None,
            self.handle.fps,
            self.handle.source,
            self.window,
        )

    def _publish_hello(self, broadcast: bool) -> None:
        hello = self._hello()
        self.state.set("hello", hello)
        if broadcast:
            self._send([{"type": "hands.hello", "text": json.dumps(hello)}])

    def _write_config(self) -> None:
        self.state.set("config", self.controller.config())

    def _write_status(self) -> None:
        st = self._stats
        now = time.perf_counter()
        dt = now - st.window_t0
        if dt > 0.2 and st.window_frames:
            st.fps = st.window_frames / dt
            st.stage_ms = {k: round(v / st.window_frames, 3) for k, v in st.stage_sums.items()}
            st.window_frames, st.window_t0, st.stage_sums = 0, now, {}
        self.state.set(
            "status",
            {
                "source": self.handle.source,
                "fps": round(st.fps, 2),
                "latency_ms": st.stage_ms,
                "frames": st.frames,
                "seq": self._seq,
                "errors": st.errors,
                "last_error": st.last_error,
                "publish_skipped": st.publish_skipped,
                "uptime_s": round(now - st.t_start, 1),
                "updated_us": now_us(),
                **self.controller.status,
                "ended": self._ended,
            },
        )

    # ----------------------------------------------------------------- commands
    def _commands(self) -> None:
        for raw in self.state.pop_commands():
            try:
                command = command_from_dict(raw)
                if self.controller.apply(command):
                    self._publish_hello(broadcast=True)
                if isinstance(command, SetConfig):
                    self._write_config()
            except (ValueError, TypeError, OSError) as exc:
                self._stats.last_error = f"command {raw.get('cmd')} failed: {exc}"
                log.warning("command %r failed: %s", raw, exc)
