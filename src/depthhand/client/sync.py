"""A blocking iterator over :class:`~depthhand.client.connection.HandsClient`, for scripts without asyncio.

The client runs on its own event loop in a daemon thread, so it keeps reading (and answering the server's pings)
while the caller works on a message; ``next()`` waits for the next one. It works inside Jupyter too, where the
notebook's own loop is already running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from depthhand.client.connection import HandsClient
from depthhand.client.messages import Frame, Message


class SyncClient:
    """Iterate a :class:`HandsClient` from plain (blocking) code; a context manager that closes it.

    Args:
        url: As for :func:`depthhand.client.connect`.
        token: As for :func:`depthhand.client.connect`.
        **options: The other keyword arguments of :func:`depthhand.client.connect`.
    """

    def __init__(self, url: str, token: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="depthhand-client-loop", daemon=True)
        self._client = HandsClient(url, token, **options)
        self._thread.start()
        self._done = False

    @property
    def client(self) -> HandsClient:
        """The underlying async client (``hello``, ``stats``)."""
        return self._client

    def __iter__(self) -> Iterator[Message]:
        return self

    def __next__(self) -> Message:
        if self._done:
            raise StopIteration
        future = asyncio.run_coroutine_threadsafe(self._client.__anext__(), self._loop)
        try:
            return future.result()
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except BaseException:
            future.cancel()
            self.close()
            raise

    def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._done:
            return
        self._done = True
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def messages(url: str, token: str, **options: Any) -> SyncClient:
    """The messages of :func:`depthhand.client.connect` as a blocking iterator (a :class:`SyncClient`).

    Args:
        url: ``ws://HOST:PORT/ws/hands``.
        token: The server's token.
        **options: ``flow``, ``reconnect``, ``max_retries``, ``wait_for_server``, ``depth``, ``open_timeout_s``.
    """
    return SyncClient(url, token, **options)


def frames(url: str, token: str, **options: Any) -> Iterator[Frame]:
    """Only the :class:`Frame` messages, as a blocking iterator (the connection closes on ``break``).

    Args:
        url: ``ws://HOST:PORT/ws/hands``.
        token: The server's token.
        **options: As for :func:`messages`.
    """
    with SyncClient(url, token, **options) as client:
        for msg in client:
            if isinstance(msg, Frame):
                yield msg
