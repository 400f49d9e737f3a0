"""A minimal WebSocket reader for the load benchmarks: RFC 6455 framing by hand on an :class:`asyncio.Protocol`.

50 clients of ``serve.load`` share one process (and the 2 cores) with nothing but the server. With a full client
library each message costs a future, a queue hop and a task switch in that process, and on this machine that cost,
not the server's, dominated the measured latency (the acknowledging clients could not keep up with 30 fps). A
client on its own machine would not pay it here. This reader does the least a client must: it parses frame headers
from the byte stream in ``data_received``, stamps the arrival time once per read, and writes masked
acknowledgements straight to the transport.

Only what the server sends is handled: unmasked text frames (with continuation frames), ping (answered with pong)
and close. Nothing here is used outside the benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client-to-server frame (FIN set), as RFC 6455 §5.2 requires of clients."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return head + key + masked


def parse_frame(buf: bytes | bytearray) -> tuple[bool, int, bytes, int] | None:
    """The first complete server frame in ``buf``: ``(fin, opcode, payload, frame_length)``, or None if incomplete.

    Raises:
        ValueError: a masked server frame (forbidden by RFC 6455 §5.1).
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    if b1 & 0x80:
        raise ValueError("server frames must not be masked")
    n, pos = b1 & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, pos = struct.unpack_from("!H", buf, 2)[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
    if len(buf) < pos + n:
        return None
    return bool(b0 & 0x80), b0 & 0x0F, bytes(buf[pos : pos + n]), pos + n


class LeanClient(asyncio.Protocol):
    """One client of ``/ws/hands``: calls ``on_message(client, payload, arrival_us)`` per text message.

    Args:
        path: request target, e.g. ``/ws/hands?token=…&flow=ack``.
        host: ``Host`` header value.
        on_message: the benchmark's handler; it may call :meth:`send_text` and :meth:`pause_for`.
    """

    def __init__(self, path: str, host: str, on_message: Callable[[LeanClient, bytes, int], None]) -> None:
        self.path, self.host, self.on_message = path, host, on_message
        self.buf = bytearray()
        self.parts: list[bytes] = []
        self.upgraded = False
        self.paused = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:  # noqa: D102
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            if b" 101 " not in status:
                raise ConnectionError(f"WebSocket upgrade refused: {status.decode(errors='replace')}")
            del self.buf[: end + 4]
            self.upgraded = True
        self._drain(time.time_ns() // 1000)

    def _drain(self, arrival_us: int) -> None:
        while not self.paused:
            frame = parse_frame(self.buf)
            if frame is None:
                return
            fin, opcode, payload, length = frame
            del self.buf[:length]
            if opcode == OP_PING:
                self.send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                if self.transport is not None:
                    self.transport.close()
                return
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                self.parts.append(payload)
                if fin:
                    message, self.parts = b"".join(self.parts), []
                    self.on_message(self, message, arrival_us)

    def send(self, opcode: int, payload: bytes) -> None:
        """Write one masked frame."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        """Send a text message (an acknowledgement)."""
        self.send(OP_TEXT, text.encode())

    def pause_for(self, seconds: float) -> None:
        """Stop reading for ``seconds`` (a slow client): the server sees its TCP window fill."""
        if self.transport is None:
            return
        self.paused = True
        self.transport.pause_reading()
        asyncio.get_running_loop().call_later(seconds, self._resume)

    def _resume(self) -> None:
        self.paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
            self._drain(time.time_ns() // 1000)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        """Close the connection (no closing handshake: the benchmark is over)."""
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, path: str, on_message: Callable[[LeanClient, bytes, int], None]) -> LeanClient:
    """Open one lean client on ``host:port``."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: LeanClient(path, f"{host}:{port}", on_message), host, port)
    return protocol
