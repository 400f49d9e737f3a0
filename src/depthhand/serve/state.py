"""Shared live state between the pipeline (publisher) and the web views: status, hello info, commands.

:class:`MemoryState` serves the embedded single-process mode; :class:`RedisState` lets a pipeline worker and
several web processes share the same keys and command queue through Redis.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any, Protocol


class LiveState(Protocol):
    """JSON values by key, plus a command queue from the web side to the pipeline."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key`` or ``None``."""
        ...

    def set(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (JSON-serialisable) under ``key``."""
        ...

    def push_command(self, command: dict[str, Any]) -> None:
        """Queue a command for the pipeline."""
        ...

    def pop_commands(self) -> list[dict[str, Any]]:
        """Take all queued commands (oldest first)."""
        ...


class MemoryState:
    """In-process :class:`LiveState` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._commands: deque[str] = deque(maxlen=1000)

    def get(self, key: str) -> dict[str, Any] | None:
        """See :class:`LiveState`."""
        with self._lock:
            raw = self._values.get(key)
        return None if raw is None else dict(json.loads(raw))

    def set(self, key: str, value: dict[str, Any]) -> None:
        """See :class:`LiveState`."""
        raw = json.dumps(value)
        with self._lock:
            self._values[key] = raw

    def push_command(self, command: dict[str, Any]) -> None:
        """See :class:`LiveState`."""
        with self._lock:
            self._commands.append(json.dumps(command))

    def pop_commands(self) -> list[dict[str, Any]]:
        """See :class:`LiveState`."""
        with self._lock:
            out = [json.loads(c) for c in self._commands]
            self._commands.clear()
        return out


class RedisState:
    """:class:`LiveState` in Redis (keys ``<prefix>:<key>``, commands in the list ``<prefix>:commands``)."""

    def __init__(self, url: str, prefix: str = "depthhand") -> None:
        import redis

        self._r = redis.Redis.from_url(url, socket_timeout=2.0)
        self._prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        """See :class:`LiveState`."""
        raw = self._r.get(f"{self._prefix}:{key}")
        return None if raw is None else dict(json.loads(raw))

    def set(self, key: str, value: dict[str, Any]) -> None:
        """See :class:`LiveState`."""
        self._r.set(f"{self._prefix}:{key}", json.dumps(value))

    def push_command(self, command: dict[str, Any]) -> None:
        """See :class:`LiveState`."""
        key = f"{self._prefix}:commands"
        pipe = self._r.pipeline()
        pipe.rpush(key, json.dumps(command))
        pipe.ltrim(key, -1000, -1)
        pipe.execute()

    def pop_commands(self) -> list[dict[str, Any]]:
        """See :class:`LiveState`."""
        key = f"{self._prefix}:commands"
        pipe = self._r.pipeline()
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        raw, _ = pipe.execute()
        return [json.loads(c) for c in raw]
