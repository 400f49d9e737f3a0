"""Process-wide runtime of the server: options, token, state store and per-process client statistics.

Set once by :func:`depthhand.serve.configure`; views and consumers read it through :func:`get`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from depthhand.serve.options import ServeOptions
from depthhand.serve.state import LiveState, MemoryState, RedisState


@dataclass
class ClientStats:
    """Counters of this web process's WebSocket clients."""

    connected: int = 0
    frames_sent: int = 0
    frames_replaced: int = 0
    events_dropped: int = 0
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **deltas: int) -> None:
        """Add to counters by name."""
        with self.lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict[str, int]:
        """Snapshot."""
        with self.lock:
            return {
                k: getattr(self, k)
                for k in ("connected", "frames_sent", "frames_replaced", "events_dropped", "rejected")
            }


@dataclass
class Runtime:
    """What the views and consumers need."""

    options: ServeOptions
    state: LiveState
    clients: ClientStats = field(default_factory=ClientStats)


_RUNTIME: Runtime | None = None


def init(options: ServeOptions) -> Runtime:
    """Create the runtime for this process."""
    global _RUNTIME
    state: LiveState = RedisState(options.redis_url) if options.redis_url else MemoryState()
    _RUNTIME = Runtime(options, state)
    return _RUNTIME


def get() -> Runtime:
    """The runtime (raises ``RuntimeError`` before :func:`depthhand.serve.configure`)."""
    if _RUNTIME is None:
        raise RuntimeError("depthhand.serve is not configured; call depthhand.serve.configure(options) first")
    return _RUNTIME
