"""``/ws/hands``: relays pre-encoded messages from the channel-layer group to one client (never runs a model).

Every client has an :class:`Outbox` of fixed size and its own sender task, so a client that reads slowly (or not at
all) costs a bounded amount of memory and never holds up the others:

* the newest frame only (a newer frame *replaces* one not yet sent: ``frames_replaced``);
* the newest depth preview only;
* control messages (``hello``, touch/pinch events) in order, at most :data:`MAX_CONTROL` of them (the oldest
  beyond that are dropped: ``events_dropped``).

The sender task waits for each send to complete; the ASGI server (uvicorn with wsproto) holds a send back while
the client's TCP buffer is full, which is how "backed up" is seen. ``hello`` is always the first message.

Flow modes (``?flow=``):

* ``latest`` (default): any WebSocket client, no protocol of its own: every frame while it keeps up, the newest
  frame when it falls behind.
* ``ack``: the viewer's window. The client acknowledges frames with ``{"type": "ack", "seq": N}`` (cumulative; the
  hello's ``flow.ack_every`` says how often); at most ``window`` frames are sent unacknowledged, newer ones replace
  the waiting one. ``none`` is an alias of ``latest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from depthhand.interact.schema import flow_block
from depthhand.serve import runtime
from depthhand.serve.auth import scope_token, token_matches
from depthhand.serve.hub import get_hub

CLOSE_UNAUTHORIZED = 4401
CLOSE_BAD_REQUEST = 4400
MAX_CONTROL = 256
"""Most hello/event messages waiting for one client; beyond this the oldest are dropped."""
FLOW_MODES = ("latest", "ack", "none")


class Outbox:
    """What one client has yet to receive: fixed memory (see the module docstring)."""

    def __init__(self) -> None:
        self.control: deque[str] = deque()
        self.frame: dict[str, Any] | None = None
        self.depth: str | None = None
        self.ready = asyncio.Event()
        self.replaced = 0
        self.dropped = 0

    def put_control(self, text: str) -> None:
        """Queue a hello or an event (in order)."""
        if len(self.control) >= MAX_CONTROL:
            self.control.popleft()
            self.dropped += 1
        self.control.append(text)
        self.ready.set()

    def put_frame(self, event: dict[str, Any]) -> None:
        """Offer a frame; it replaces one not yet sent."""
        if self.frame is not None:
            self.replaced += 1
        self.frame = event
        self.ready.set()

    def put_depth(self, text: str) -> None:
        """Offer a depth preview; it replaces one not yet sent."""
        self.depth = text
        self.ready.set()


class HandsConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One WebSocket client of the live hand stream."""

    # No per-client channel-layer subscription: the process's Hub delivers the group's messages.
    channel_layer_alias = "depthhand-no-layer"

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Like Channels' dispatch, without closing old DB connections per message (a thread hop per ack).

        This consumer never touches the database, so the hop is pure overhead (≈ one thread-pool round trip for
        every acknowledgement from every client).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message.get('type')!r}")
        await handler(message)

    async def connect(self) -> None:
        """Check the token, queue ``hello`` first, then start receiving the group's messages."""
        rt = runtime.get()
        self.joined = False
        if not token_matches(scope_token(self.scope), rt.options.token):
            rt.clients.add(rejected=1)
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        qs = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        mode = qs.get("flow", ["latest"])[0]
        if mode not in FLOW_MODES:
            await self.accept()
            await self.send(text_data=json.dumps({"type": "error", "error": f"flow must be one of {FLOW_MODES}"}))
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.ack_mode = mode == "ack"
        self.window = rt.options.window
        self.sent_seq: list[int] = []  # ack mode: frame seqs sent and not yet acknowledged
        self.outbox = Outbox()
        await self.accept()
        hello = await asyncio.to_thread(rt.state.get, "hello")
        self.outbox.put_control(self._hello_text(hello or {"type": "hello", "v": 2, "waiting": True}))
        self.sender = asyncio.get_running_loop().create_task(self._send_loop(), name="depthhand-ws-sender")
        self.joined = True
        get_hub().register(self)  # after the hello: no event can overtake it
        rt.clients.add(connected=1)
        now = await asyncio.to_thread(rt.state.get, "hello") or {}
        if hello is None and now:  # the pipeline published its hello meanwhile: the real one follows "waiting"
            self.outbox.put_control(self._hello_text(now))
            return
        source = now.get("source")
        if source is not None and source != (hello or {}).get("source"):  # it changed before we registered
            self.outbox.put_control(json.dumps({"type": "source", "v": now.get("v", 2), "source": source}))

    def _hello_text(self, hello: dict[str, Any]) -> str:
        return json.dumps({**hello, "flow": flow_block(self.ack_mode, self.window)})

    async def disconnect(self, code: int) -> None:
        """Stop the sender and leave the hub."""
        if getattr(self, "joined", False):
            self.joined = False
            get_hub().unregister(self)
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sender
            runtime.get().clients.add(connected=-1, events_dropped=self.outbox.dropped)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Acks and pings from the client; anything else is ignored (input is never trusted)."""
        if not text_data or len(text_data) > 1000 or not getattr(self, "joined", False):
            return
        try:
            msg = json.loads(text_data)
        except json.JSONDecodeError:
            return
        if not isinstance(msg, dict):
            return
        if msg.get("type") == "ack" and isinstance(msg.get("seq"), int):
            seq = msg["seq"]
            self.sent_seq = [s for s in self.sent_seq if s > seq]
            self.outbox.ready.set()
        elif msg.get("type") == "ping":
            self.outbox.put_control(json.dumps({"type": "pong", "t_us": time.time_ns() // 1000}))

    def _may_send_frame(self) -> bool:
        return not self.ack_mode or len(self.sent_seq) < self.window

    async def _send_loop(self) -> None:
        """Send what the outbox holds, control messages first; each send waits while the client is backed up."""
        box = self.outbox
        clients = runtime.get().clients
        while True:
            await box.ready.wait()
            box.ready.clear()
            while box.control or (box.frame is not None and self._may_send_frame()) or box.depth is not None:
                if box.control:
                    await self.send(text_data=box.control.popleft())
                    continue
                if box.frame is not None and self._may_send_frame():
                    event, box.frame = box.frame, None
                    text: str = event["text"]
                    # stamp the relay time without re-encoding: the frame JSON ends with "}"
                    await self.send(text_data=f'{text[:-1]},"t_relay_us":{time.time_ns() // 1000}}}')
                    if self.ack_mode:
                        self.sent_seq.append(int(event.get("seq", 0)))
                    clients.add(frames_sent=1)
                    continue
                if box.depth is not None:
                    depth, box.depth = box.depth, None
                    if self._may_send_frame():  # a depth preview only while the client keeps up
                        await self.send(text_data=depth)
                else:
                    break

    async def deliver(self, message: dict[str, Any]) -> None:
        """Called by the process's :class:`~depthhand.serve.hub.Hub` for every group message; never waits."""
        if not self.joined:
            return
        kind = message.get("type")
        if kind == "hands.frame":
            if self.outbox.frame is not None:
                runtime.get().clients.add(frames_replaced=1)
            self.outbox.put_frame(message)
        elif kind == "hands.depth":
            self.outbox.put_depth(message["text"])
        elif kind == "hands.hello":
            self.outbox.put_control(self._hello_text(json.loads(message["text"])))
        elif kind == "hands.event":
            self.outbox.put_control(message["text"])
