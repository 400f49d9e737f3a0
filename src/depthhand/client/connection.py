"""The asyncio client of ``/ws/hands``: typed messages, flow control, reconnection with back-off.

A background task reads the socket and keeps a small inbox in arrival order; in ``latest`` mode a newer frame
replaces one the application has not taken yet (``stats.frames_dropped``), so a slow application always gets the
newest frame, never a backlog, and events are kept in order (at most :data:`MAX_INBOX` of them). In ``ack`` mode
the client acknowledges a frame once the application comes back for the next message, every ``hello.flow.ack_every``
frames, so the server never has more than ``hello.flow.window`` frames in flight to this application.

Reconnection: when the connection drops (the server restarts, the network fails), the client yields a
:class:`~depthhand.client.messages.Reconnecting` notice, waits (0.25 s, doubling to 5 s, with ±20 % jitter; reset
once a ``hello`` arrives), connects again and yields the server's new :class:`~depthhand.client.messages.Hello`.
A server that was never reached raises :class:`ConnectError` at once (unless ``wait_for_server=True``); a wrong token
raises :class:`AuthenticationError` and is never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from depthhand.client.messages import (
    DepthPreview,
    Event,
    Frame,
    Hello,
    Message,
    MessageError,
    Reconnecting,
    SourceState,
)
from depthhand.client.parse import parse_message

log = logging.getLogger("depthhand.client")

DEFAULT_PATH = "/ws/hands"
FLOW_MODES = ("latest", "ack")
MAX_INBOX = 256
"""Most messages waiting for the application; beyond this the oldest event is dropped (``stats.events_dropped``)."""
MAX_MESSAGE_BYTES = 2**22
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


class ClientError(Exception):
    """The server refused the request (a bad query, an unsupported wire version); retrying would not help."""


class AuthenticationError(ClientError):
    """The server rejected the token (HTTP 403 at the handshake, or close code 4401 / 4403)."""


class ConnectError(ConnectionError):
    """The server could not be reached (refused, unknown host, timeout, no WebSocket at that URL)."""


@dataclass
class ClientStats:
    """Counters of one client (over all its connections).

    Attributes:
        connects: Successful connections (the first, then one per reconnect).
        frames: Frames yielded.
        events: Events yielded.
        frames_dropped: Frames replaced in the inbox by a newer one before the application took them (latest mode).
        seq_gaps: Frames the server skipped for this client (gaps in ``seq`` within one connection).
        events_dropped: Events dropped because :data:`MAX_INBOX` messages were waiting.
        acks_sent: Acknowledgements sent (ack mode).
        bad_messages: Messages that were not JSON or did not follow the schema (skipped, logged).
        last_seq: ``seq`` of the newest frame received on the current connection (0 before the first).
    """

    connects: int = 0
    frames: int = 0
    events: int = 0
    frames_dropped: int = 0
    seq_gaps: int = 0
    events_dropped: int = 0
    acks_sent: int = 0
    bad_messages: int = 0
    last_seq: int = 0


def ws_url(url: str, flow: str) -> str:
    """The WebSocket URL to open: ``http(s)`` becomes ``ws(s)``, an empty path ``/ws/hands``, ``flow=`` added.

    Raises:
        ValueError: If the URL is not ``ws://``, ``wss://``, ``http://`` or ``https://`` with a host.
    """
    if not isinstance(url, str) or not url:
        raise ValueError(f"server URL must be a non-empty string like ws://127.0.0.1:8000/ws/hands, got {url!r}")
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(
            f"server URL {url!r}: expected ws://HOST[:PORT][/ws/hands] (or wss://, http://, https://) with a host"
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"server URL {url!r}: {exc}") from None
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("flow", "token")]
    query.append(("flow", flow))
    path = parts.path if parts.path not in ("", "/") else DEFAULT_PATH
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


class HandsClient:
    """One application's connection to ``/ws/hands``; iterate it (``async for``) for typed messages.

    Made by :func:`connect`; see the module docstring for flow control and reconnection. Use it as an async
    context manager (or call :meth:`close`) to close the socket at once when leaving the loop early.

    Attributes:
        url: The WebSocket URL (without the token, which travels in an ``Authorization: Bearer`` header).
        hello: The latest :class:`Hello` (``None`` before the first).
        stats: Counters (:class:`ClientStats`).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        flow: str = "latest",
        reconnect: bool = True,
        max_retries: int | None = None,
        wait_for_server: bool = False,
        depth: bool = False,
        open_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.25, 5.0),
    ) -> None:
        if flow not in FLOW_MODES:
            raise ValueError(f"flow must be one of {FLOW_MODES}, got {flow!r}")
        if not isinstance(token, str) or not token:
            raise ValueError("token must be the server's token (DEPTHHAND_TOKEN), got an empty value")
        self.url = ws_url(url, flow)
        self.flow = flow
        self.reconnect = reconnect
        self.max_retries = max_retries
        self.wait_for_server = wait_for_server
        self.depth = depth
        self.open_timeout_s = open_timeout_s
        self.backoff_s = backoff_s
        self.hello: Hello | None = None
        self.stats = ClientStats()
        self._token = token
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._ended: str | None = None  # why the current connection ended (set by the reader)
        self._fatal: Exception | None = None
        self._attempt = 0
        self._delay: float | None = None
        self._reached = False
        self._closed = False
        self._last_seq = 0
        self._unacked = 0  # frames taken by the application since the last ack
        self._to_ack: int | None = None  # the seq of the frame the application holds

    # ------------------------------------------------------------------------------------------- public
    def __aiter__(self) -> HandsClient:
        return self

    async def __aenter__(self) -> HandsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection and end the iteration."""
        self._closed = True
        await self._drop()

    async def __anext__(self) -> Message:
        """The next message: hello, frame, event, source state, depth preview (with ``depth=True``) or notice."""
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._ws is None:
                notice = await self._open()
                if notice is not None:
                    return notice
                continue
            await self._ack_taken()
            if self._inbox:
                return self._take(self._inbox.popleft())
            if self._fatal is not None:
                exc, self._fatal = self._fatal, None
                self._closed = True
                await self._drop()
                raise exc
            if self._ended is not None:
                reason = self._ended
                await self._drop()
                return self._retry(reason)
            self._ready.clear()
            await self._ready.wait()

    # ------------------------------------------------------------------------------------------- internals
    def _take(self, msg: Message) -> Message:
        if isinstance(msg, Frame):
            self.stats.frames += 1
            self._to_ack = msg.seq
        elif isinstance(msg, Event):
            self.stats.events += 1
        elif isinstance(msg, Hello):
            self.hello = msg
        return msg

    async def _ack_taken(self) -> None:
        """Ack mode: the application came back for more, so the frame it held is consumed."""
        if self._to_ack is None:
            return
        seq, self._to_ack = self._to_ack, None
        if self.flow != "ack":
            return
        self._unacked += 1
        every = self.hello.flow.ack_every if self.hello is not None else 1
        if self._unacked >= every:
            self._unacked = 0
            try:
                await self._ws.send(json.dumps({"type": "ack", "seq": seq}))
                self.stats.acks_sent += 1
            except Exception as exc:  # the reader sees the close and ends the connection
                log.debug("ack not sent: %s", exc)

    def _retry(self, reason: str) -> Reconnecting:
        if not self.reconnect:
            self._closed = True
            raise ConnectError(f"{self.url}: connection lost ({reason}) and reconnect=False")
        self._attempt += 1
        if self.max_retries is not None and self._attempt > self.max_retries:
            self._closed = True
            raise ConnectError(f"{self.url}: gave up after {self.max_retries} reconnect attempts ({reason})")
        lo, hi = self.backoff_s
        delay = min(hi, lo * 2 ** (self._attempt - 1)) * random.uniform(0.8, 1.2)
        self._delay = delay
        log.info("depthhand client: %s; reconnecting in %.2f s (attempt %d)", reason, delay, self._attempt)
        return Reconnecting(self._attempt, round(delay, 3), reason)

    async def _open(self) -> Reconnecting | None:
        """Connect once (after the back-off delay, if any); a notice when it failed and will be retried."""
        from websockets.asyncio.client import connect as ws_connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

        if self._delay is not None:
            delay, self._delay = self._delay, None
            await asyncio.sleep(delay)
        try:
            ws = await ws_connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self.open_timeout_s,
                max_size=MAX_MESSAGE_BYTES,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                self._closed = True
                raise AuthenticationError(
                    f"{self.url}: the server rejected the connection (HTTP {status}): the token is wrong or missing "
                    f"(or the path is not {DEFAULT_PATH}, or the Origin is not allowed)"
                ) from None
            return self._failed(f"HTTP {status} at the WebSocket handshake (is this a depthhand server?)")
        except InvalidURI as exc:
            self._closed = True
            raise ValueError(f"server URL {self.url!r}: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        self._ws = ws
        self._reached = True
        self._ended = None
        self._last_seq = self.stats.last_seq = 0
        self._unacked = 0
        self._to_ack = None
        self.stats.connects += 1
        self._reader = asyncio.get_running_loop().create_task(self._read(ws), name="depthhand-client-reader")
        return None

    def _failed(self, reason: str) -> Reconnecting:
        if not self._reached and not self.wait_for_server:
            self._closed = True
            raise ConnectError(f"cannot connect to {self.url}: {reason}")
        return self._retry(reason)

    async def _drop(self) -> None:
        ws, reader = self._ws, self._reader
        self._ws = self._reader = None
        self._inbox.clear()
        if reader is not None and not reader.done():
            reader.cancel()
        if ws is not None:
            try:
                await ws.close()
            except Exception as exc:
                log.debug("close failed: %s", exc)
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        error_text = ""
        try:
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                    if isinstance(msg, Mapping) and msg.get("type") == "error":
                        error_text = str(msg.get("error", ""))
                        continue
                    self._push(parse_message(msg))
                except (json.JSONDecodeError, MessageError, UnicodeDecodeError) as exc:
                    self.stats.bad_messages += 1
                    if self.stats.bad_messages <= 3:
                        log.warning("depthhand client: skipped a bad message: %s", exc)
                    if isinstance(exc, MessageError) and "not supported by this client" in str(exc):
                        self._fatal = ClientError(f"{self.url}: {exc}")
                        return
            self._closed_by_server(ws.close_code, ws.close_reason, error_text)
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            self._closed_by_server(None if rcvd is None else rcvd.code, "" if rcvd is None else rcvd.reason, error_text)
        except Exception as exc:
            self._ended = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    def _closed_by_server(self, code: int | None, reason: str, error_text: str) -> None:
        if code in (CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN):
            self._fatal = AuthenticationError(f"{self.url}: the server rejected the token (close code {code})")
        elif code == CLOSE_BAD_REQUEST:
            self._fatal = ClientError(f"{self.url}: the server refused the request: {error_text or reason}")
        else:
            self._ended = f"connection closed (code {code}{', ' + reason if reason else ''})"

    def _push(self, msg: Message | None) -> None:
        if msg is None or (isinstance(msg, DepthPreview) and not self.depth):
            return
        inbox = self._inbox
        if isinstance(msg, Frame):
            if self._last_seq and msg.seq > self._last_seq + 1:
                self.stats.seq_gaps += msg.seq - self._last_seq - 1
            self._last_seq = self.stats.last_seq = msg.seq
            if self.flow == "latest":
                for i, old in enumerate(inbox):
                    if isinstance(old, Frame):
                        del inbox[i]
                        self.stats.frames_dropped += 1
                        break
        elif isinstance(msg, Hello):
            self._attempt = 0  # a server that answers: the back-off starts again from the shortest delay
        if len(inbox) >= MAX_INBOX:
            for i, old in enumerate(inbox):
                if not isinstance(old, Hello | SourceState):
                    del inbox[i]
                    self.stats.events_dropped += 1
                    break
        inbox.append(msg)
        self._ready.set()


def connect(
    url: str,
    token: str,
    *,
    flow: str = "latest",
    reconnect: bool = True,
    max_retries: int | None = None,
    wait_for_server: bool = False,
    depth: bool = False,
    open_timeout_s: float = 10.0,
) -> HandsClient:
    """A client of a depthhand server's hand stream, to iterate with ``async for msg in ...``.

    Args:
        url: ``ws://HOST:PORT/ws/hands`` (``http://HOST:PORT`` and an empty path work too).
        token: The server's token (``DEPTHHAND_TOKEN``); sent in an ``Authorization: Bearer`` header.
        flow: ``latest`` (the newest frame when the application falls behind) or ``ack`` (acknowledged frames,
            at most ``hello.flow.window`` in flight).
        reconnect: Reconnect with back-off when the connection drops (else raise :class:`ConnectError`).
        max_retries: Give up (:class:`ConnectError`) after this many failed tries in a row; ``None``: never.
        wait_for_server: Retry even when the first connection fails (a server that is starting).
        depth: Also yield the server's :class:`~depthhand.client.messages.DepthPreview` messages.
        open_timeout_s: Seconds allowed for one connection's handshake.

    Returns:
        The client; iterate it for :class:`Hello`, :class:`Frame`, :class:`Event`, :class:`SourceState`,
        :class:`Reconnecting` (and :class:`DepthPreview`).

    Raises:
        ValueError: A URL that is not a WebSocket / HTTP URL with a host, an unknown ``flow``, an empty token.
    """
    return HandsClient(
        url,
        token,
        flow=flow,
        reconnect=reconnect,
        max_retries=max_retries,
        wait_for_server=wait_for_server,
        depth=depth,
        open_timeout_s=open_timeout_s,
    )
