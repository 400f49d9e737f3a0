"""``/ws/hands``: relays pre-encoded messages from the channel-layer group to one browser (never runs a model).

Flow control (latest frame wins): a client acknowledges frames with ``{"type": "ack", "seq": N}`` (cumulative:
all frames up to N; the hello's ``flow.ack_every`` (2) says how often — each ack costs the server more than a
send). While ``window`` frames are unacknowledged, a newer frame *replaces* the waiting one instead of queueing,
so a slow client gets the newest frame, never a backlog, and never slows the others: frames reach consumers through the
process's :class:`~depthhand.serve.hub.Hub`, whose sends never wait for a client. Clients that do not want to
acknowledge connect with ``?flow=none`` (then TCP buffering applies). Events (touch down/up, …) are always sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from depthhand.serve import runtime
from depthhand.serve.auth import scope_token, token_matches
from depthhand.serve.hub import get_hub

CLOSE_UNAUTHORIZED = 4401


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
        """Check the token, join the group, send ``hello``."""
        rt = runtime.get()
        if not token_matches(scope_token(self.scope), rt.options.token):
            rt.clients.add(rejected=1)
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        qs = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        self.ack_mode = qs.get("flow", ["ack"])[0] != "none"
        self.window = rt.options.window
        self.sent_seq: list[int] = []  # frame seqs sent and not yet acknowledged
        self.pending: dict[str, Any] | None = None
        self.joined = True
        await self.accept()
        get_hub().register(self)
        rt.clients.add(connected=1)
        hello = await asyncio.to_thread(rt.state.get, "hello")
        await self.send(text_data=json.dumps(hello or {"type": "hello", "v": 1, "waiting": True}))

    async def disconnect(self, code: int) -> None:
        """Leave the group."""
        if getattr(self, "joined", False):
            self.joined = False
            get_hub().unregister(self)
            runtime.get().clients.add(connected=-1)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Acks and pings from the client; anything else is ignored (input is never trusted)."""
        if not text_data or len(text_data) > 1000:
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
            if self.pending is not None and len(self.sent_seq) < self.window:
                pending, self.pending = self.pending, None
                await self._send_frame(pending)
        elif msg.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "t_us": time.time_ns() // 1000}))

    async def deliver(self, message: dict[str, Any]) -> None:
        """Called by the process's :class:`~depthhand.serve.hub.Hub` for every group message."""
        handler = getattr(self, str(message.get("type", "")).replace(".", "_"), None)
        if handler is not None and self.joined:
            await handler(message)

    async def _send_frame(self, event: dict[str, Any]) -> None:
        text: str = event["text"]
        # stamp the relay time without re-encoding: the frame JSON ends with "}"
        await self.send(text_data=f'{text[:-1]},"t_relay_us":{time.time_ns() // 1000}}}')
        if self.ack_mode:
            self.sent_seq.append(int(event.get("seq", 0)))
        runtime.get().clients.add(frames_sent=1)

    async def hands_frame(self, event: dict[str, Any]) -> None:
        """A frame from the pipeline: send now, or replace the waiting frame when the window is full."""
        if not self.ack_mode or len(self.sent_seq) < self.window:
            await self._send_frame(event)
        else:
            if self.pending is not None:
                runtime.get().clients.add(frames_replaced=1)
            self.pending = event

    async def hands_depth(self, event: dict[str, Any]) -> None:
        """A depth preview: only when the client keeps up (dropped otherwise)."""
        if not self.ack_mode or len(self.sent_seq) < self.window:
            await self.send(text_data=event["text"])

    async def hands_event(self, event: dict[str, Any]) -> None:
        """Interaction events are small and rare: always sent."""
        await self.send(text_data=event["text"])

    async def hands_hello(self, event: dict[str, Any]) -> None:
        """Updated ``hello`` (new calibration or intrinsics)."""
        await self.send(text_data=event["text"])
