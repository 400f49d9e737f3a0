"""``HOST:PORT`` targets and the UDP sender of the OSC and TUIO outputs.

The sender's socket never blocks: a datagram the kernel cannot take right now (buffer full, no route, a message too
large) is dropped, counted and logged once (the first time; later failures only count), so a receiver that is
missing, slow or misconfigured never stalls or stops the live loop. UDP is fire-and-forget: a target with nobody
listening is not an error.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("depthhand.output")

_TARGET = re.compile(r"\[(?P<ipv6>[^\]]+)\]:(?P<port6>\d+)|(?P<host>[^:\[\]\s]+):(?P<port>\d+)")


@dataclass(frozen=True, slots=True)
class UdpTarget:
    """Where datagrams go.

    Attributes:
        host: The host as given (name or address).
        port: UDP port, 1..65535.
        family: Address family of the resolved address (``socket.AF_INET`` or ``AF_INET6``).
        sockaddr: The resolved address, as ``socket.sendto`` takes it.
    """

    host: str
    port: int
    family: int
    sockaddr: tuple[Any, ...]

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_target(option: str, text: str) -> UdpTarget:
    """Parse and resolve ``HOST:PORT`` (``[ADDR]:PORT`` for IPv6), once, before anything runs.

    Args:
        option: The option it came from, for messages (``"--osc"``).
        text: ``127.0.0.1:9000``, ``touchdesigner.local:7000``, ``[::1]:3333``.

    Raises:
        ValueError: One line naming the option: not ``HOST:PORT``, a port outside 1..65535, or a host that does not
            resolve.
    """
    match = _TARGET.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000 or [::1]:9000")
    host = match["ipv6"] or match["host"]
    port = int(match["port6"] or match["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"{option} {text!r}: the port must be in 1..65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ValueError(f"{option} {text!r}: cannot resolve the host {host!r} ({reason})") from None
    family, _, _, _, sockaddr = infos[0]
    return UdpTarget(host, port, int(family), tuple(sockaddr))


class UdpSender:
    """A non-blocking UDP socket to one target that counts its failures instead of raising them.

    Args:
        target: Where to send.
        name: What is sent (``"OSC"``, ``"TUIO"``), for the log line.

    Attributes:
        sent: Datagrams handed to the kernel.
        errors: Datagrams that could not be sent (and encoding failures the output reports through :meth:`fail`).
        last_error: The last failure, ``""`` if none.
    """

    def __init__(self, target: UdpTarget, name: str) -> None:
        self.target = target
        self.name = name
        self.sent = 0
        self.errors = 0
        self.last_error = ""
        self._sock = socket.socket(target.family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def send(self, datagram: bytes) -> bool:
        """Send one datagram; returns whether the kernel took it (never raises)."""
        try:
            self._sock.sendto(datagram, self.target.sockaddr)
        except OSError as exc:
            self.fail(exc)
            return False
        self.sent += 1
        return True

    def fail(self, exc: BaseException) -> None:
        """Count one failure; the first one is logged (with what further failures will do)."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.errors == 1:
            log.warning(
                "%s to %s: %s (the live loop goes on; further failures are only counted)",
                self.name,
                self.target,
                self.last_error,
            )

    def stats(self) -> dict[str, Any]:
        """``target``, ``sent``, ``errors``, ``last_error``."""
        return {"target": str(self.target), "sent": self.sent, "errors": self.errors, "last_error": self.last_error}

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()
