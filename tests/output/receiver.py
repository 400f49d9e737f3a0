"""A real python-osc UDP server on 127.0.0.1 that keeps every datagram as one list of (address, args) messages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

Message = tuple[str, tuple[Any, ...]]


class _Keep(Dispatcher):
    """Keeps each packet's messages together (a bundle = one frame), in the order they came."""

    def __init__(self) -> None:
        super().__init__()
        self.packets: list[list[Message]] = []
        self.lock = threading.Lock()

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list[Any]:
        packet = osc_packet.OscPacket(data)
        with self.lock:
            self.packets.append([(m.message.address, tuple(m.message.params)) for m in packet.messages])
        return []


class Receiver:
    def __init__(self) -> None:
        self._dispatcher = _Keep()
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), self._dispatcher)
        # room for a burst of a fast offline run (the kernel caps this at net.core.rmem_max)
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.port = int(self.server.server_address[1])
        self.target = f"127.0.0.1:{self.port}"

    @property
    def packets(self) -> list[list[Message]]:
        with self._dispatcher.lock:
            return list(self._dispatcher.packets)

    def wait_for(self, n: int, timeout: float = 20.0) -> list[list[Message]]:
        """At least ``n`` packets (or what came within ``timeout``), then a short settle for stragglers."""
        t0 = time.monotonic()
        while len(self.packets) < n and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        time.sleep(0.1)
        return self.packets


@contextmanager
def osc_receiver() -> Iterator[Receiver]:
    rec = Receiver()
    thread = threading.Thread(target=rec.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()
        thread.join(5)
