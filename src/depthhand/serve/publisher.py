"""Pipeline loop → interaction → wire messages → channel-layer group (the model never runs in a consumer).

:class:`Publisher` iterates a pipeline (:class:`~depthhand.serve.pipeline.PipelineHandle`, whose items are
:class:`~depthhand.pipeline.LiveFrame`) in a background thread, runs
:class:`~depthhand.interact.engine.Interaction`, and hands pre-encoded JSON to an asyncio loop that ``group_send``
calls. It is the frame pump: iterate → interact → encode (:mod:`~depthhand.serve.wirejson`: orjson when installed)
→ send. Between two frames (and, while the source sends nothing, every status period) it hands the commands the web
side queued (:mod:`~depthhand.serve.commands`) to the
:class:`~depthhand.serve.controller.InstallationController` (calibration, plane fit, settings, recording). Each
frame also goes to the UDP outputs (``--osc``, ``--tuio``: :mod:`depthhand.output`), right after the interaction
engine, before the WebSocket messages are encoded. One bad frame is logged and skipped; the loop does not die.

A second thread publishes the status every :data:`STATUS_PERIOD_S`, frames or not: ``fps`` counts the frames of the
last :data:`FPS_WINDOW_S` against the current time (so it falls to 0 when no frames come), and ``source`` is the
source's state and counters (:meth:`~depthhand.capture.stream.FrameStream.status`: skipped files and chunks, errors,
reconnects). When the source's state changes (a file source ended, a sensor reconnecting), the stored ``hello``
says so for new clients and every connected client gets a ``source`` message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthhand.interact.engine import Interaction
from depthhand.interact.gestures import PinchSettings
from depthhand.interact.schema import (
    depth_message,
    event_message,
    frame_message,
    hello_message,
    source_message,
    source_summary,
)
from depthhand.interact.touch import TouchSettings
from depthhand.pipeline import LiveFrame
from depthhand.serve import wirejson
from depthhand.serve.commands import SetConfig, command_from_dict
from depthhand.serve.controller import InstallationController
from depthhand.serve.pipeline import PipelineHandle
from depthhand.serve.settings import FRAME_GROUP
from depthhand.serve.state import LiveState

if TYPE_CHECKING:
    from depthhand.output import FrameOutput

log = logging.getLogger("depthhand.serve")

STATUS_PERIOD_S = 0.5
"""How often the status is published, seconds."""
SILENT_S = 1.0
"""With no frame for this long, the status thread applies the queued commands itself, seconds."""
FPS_WINDOW_S = 2.0
"""``fps`` is the number of frames published in the last this many seconds, divided by them."""


def now_us() -> int:
    """Wall-clock time, integer µs since the epoch."""
    return time.time_ns() // 1000


@dataclass
class _Stats:
    t_start: float = field(default_factory=time.monotonic)
    frames: int = 0
    errors: int = 0
    publish_skipped: int = 0
    last_error: str = ""
    frame_times: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    stage_sums: dict[str, float] = field(default_factory=dict)
    stage_frames: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fps(self, now: float) -> float:
        """Frames published in the last :data:`FPS_WINDOW_S` (or since the start), per second, at ``now``."""
        with self.lock:
            times = self.frame_times
            while times and times[0] < now - FPS_WINDOW_S:
                times.popleft()
            n = len(times)
        window = min(FPS_WINDOW_S, now - self.t_start)
        return n / window if n and window > 0 else 0.0


class Publisher:
    """Runs the pipeline in a thread and publishes its output to the channel layer group ``hands``."""

    def __init__(
        self,
        handle: PipelineHandle,
        state: LiveState,
        data_dir: Path,
        depth_every: int = 6,
        touch: TouchSettings | None = None,
        pinch: PinchSettings | None = None,
        outputs: Sequence[FrameOutput] = (),
    ) -> None:
        self.handle = handle
        self.outputs = tuple(outputs)
        self.state = state
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
        self._failed = False
        self._status_thread: threading.Thread | None = None
        self._status_lock = threading.RLock()  # status and hello are written from both threads
        self._work = threading.Lock()  # one frame step or one command batch at a time, from either thread
        self._last_frame = time.monotonic()
        self._source_state: dict[str, Any] = {}
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
        self._stats.t_start = time.monotonic()
        self._source_state = source_summary(self._source_status())
        hello = self._publish_hello(broadcast=False)
        # clients that connected before this (the server listens first) got the "waiting" hello: send them this one
        self._send_control([{"type": "hands.hello", "text": json.dumps(hello)}])
        self._write_config()
        self.state.set("capabilities", {"recorder": self.handle.recorder is not None})  # POST /api/recording asks
        self._write_status()
        self._thread = threading.Thread(target=self._run, name="depthhand-publisher", daemon=True)
        self._thread.start()
        self._status_thread = threading.Thread(target=self._status_loop, name="depthhand-status", daemon=True)
        self._status_thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads and close the pipeline."""
        self._stop.set()
        if self.handle.interrupt is not None:
            self.handle.interrupt()  # a sensor's read may be waiting for a frame
        for thread in (self._thread, self._status_thread):
            if thread is not None:
                thread.join(timeout)
        if self.handle.close is not None:
            self.handle.close()
        if self._thread is None or not self._thread.is_alive():
            for output in self.outputs:
                output.close()

    @property
    def running(self) -> bool:
        """Whether the pipeline thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # ----------------------------------------------------------------- loop
    def _run(self) -> None:
        frames = self.handle.frames
        try:
            for item in frames:
                if self._stop.is_set():
                    break
                try:
                    with self._work:
                        self._commands()
                        self._step(item)
                        self._last_frame = time.monotonic()
                except Exception as exc:  # a live loop never dies of one bad frame
                    self._stats.errors += 1
                    self._stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("frame failed")
        except Exception as exc:
            self._failed = True
            self._stats.last_error = f"pipeline stopped: {type(exc).__name__}: {exc}"
            log.exception("pipeline stopped")
        finally:
            close = getattr(frames, "close", None)
            try:
                if callable(close):
                    close()  # the stream's with-blocks run here, in this thread
            except Exception:
                log.exception("closing the source failed")
        self._ended = True
        self._write_status()  # at once: clients hear of the end without waiting for the status thread

    def _status_loop(self) -> None:
        while not self._stop.wait(STATUS_PERIOD_S):
            try:
                self._commands_while_silent()
                self._write_status()
            except Exception:  # the state store may be briefly unreachable (Redis); the next tick tries again
                log.exception("status update failed")

    def _commands_while_silent(self) -> None:
        """Apply queued commands when no frame has come for :data:`SILENT_S` (a sensor waiting, a source ended).

        Otherwise the pump applies them before its next frame: calibration, settings and recording must not wait
        for a camera that has stopped sending.
        """
        if time.monotonic() - self._last_frame < SILENT_S or not self._work.acquire(blocking=False):
            return
        try:
            self._commands()
        finally:
            self._work.release()

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
        if self.outputs:
            t_out = time.perf_counter()
            for output in self.outputs:
                output.send(result, inter)
            self._stats.stage_sums["udp_out"] = self._stats.stage_sums.get("udp_out", 0.0) + _ms_since(t_out)
        self._seq += 1
        seq = self._seq
        st = self._stats
        st.frames += 1
        with st.lock:
            st.frame_times.append(time.monotonic())
            st.stage_frames += 1
            for k, v in result.timings_ms.items():
                st.stage_sums[k] = st.stage_sums.get(k, 0.0) + float(v)
        messages: list[dict[str, Any]] = [
            {"type": "hands.event", "text": wirejson.dumps(event_message(e))} for e in inter.events
        ]
        if depth is not None and self.depth_every and seq % self.depth_every == 1 % self.depth_every:
            dm = depth_message(depth, seq, result.timestamp_us)
            messages.append({"type": "hands.depth", "text": wirejson.dumps(dm), "seq": seq})
        t0 = time.perf_counter()
        text = wirejson.dumps(frame_message(result, inter, seq, now_us()))
        messages.append({"type": "hands.frame", "text": text, "seq": seq})
        with st.lock:
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

    def _send_control(self, messages: list[dict[str, Any]]) -> None:
        """Send rare control messages from any thread, outside the frame batches' one-in-flight window."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._group_send(messages), loop)

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
            self._source_state or {"url": self.handle.source},
        )

    def _publish_hello(self, broadcast: bool) -> dict[str, Any]:
        """Store the hello for new clients (and send it to the connected ones with ``broadcast``); returns it."""
        with self._status_lock:
            hello = self._hello()
            self.state.set("hello", hello)
        if broadcast:
            self._send([{"type": "hands.hello", "text": json.dumps(hello)}])
        return hello

    def _write_config(self) -> None:
        self.state.set("config", self.controller.config())

    def _source_status(self) -> dict[str, Any]:
        """The source's state and counters; the loop's own view where the handle has none or it says less."""
        status = self.handle.source_status() if self.handle.source_status is not None else {}
        status.setdefault("url", self.handle.source)
        if self._ended and (not status.get("ended") or (self._failed and status.get("state") == "stopped")):
            state = "failed" if self._failed else "stopped" if self._stop.is_set() else "ended"
            status.update(state=state, ended=True)
        status.setdefault("state", "running")
        status.setdefault("ended", False)
        if self._failed and not status.get("last_error"):
            status["last_error"] = self._stats.last_error
        return status

    def _write_status(self) -> None:
        with self._status_lock:
            st = self._stats
            now = time.monotonic()
            with st.lock:
                if st.stage_frames:
                    st.stage_ms = {k: round(v / st.stage_frames, 3) for k, v in st.stage_sums.items()}
                    st.stage_sums, st.stage_frames = {}, 0
                stage_ms = dict(st.stage_ms)
            source = self._source_status()
            summary = source_summary(source)
            changed = summary != self._source_state
            self._source_state = summary
            self.state.set(
                "status",
                {
                    "source": source,
                    "fps": round(st.fps(now), 2),
                    "latency_ms": stage_ms,
                    "pose_backend": self.handle.pose_backend,
                    "frames": st.frames,
                    "seq": self._seq,
                    "errors": st.errors,
                    "last_error": st.last_error,
                    "publish_skipped": st.publish_skipped,
                    "uptime_s": round(now - st.t_start, 1),
                    "updated_us": now_us(),
                    **self.controller.status,
                    "outputs": {output.name: output.stats() for output in self.outputs},
                    "ended": self._ended,
                },
            )
            if changed:  # new clients read it in hello; connected ones are told
                log.info("source %s: %s %s", summary.get("url"), summary.get("state"), summary.get("last_error", ""))
                self._publish_hello(broadcast=False)
                self._send_control([{"type": "hands.event", "text": json.dumps(source_message(source))}])

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


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3
