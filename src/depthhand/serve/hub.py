"""Per-process fan-out: one channel-layer subscription per web process, relayed to every local WebSocket client.

With one group member per *client*, every frame is copied into 50 channel queues and wakes 50 consumer tasks (and,
with Redis, 50 blocking reads). The hub joins the ``hands`` group once per process and event loop and calls each
registered consumer's handler directly, so the per-client cost is one string concatenation and one socket write.
A consumer whose send fails is dropped; a slow consumer never blocks the loop (sends do not wait for the client).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from depthhand.serve.settings import FRAME_GROUP

log = logging.getLogger("depthhand.serve")


class HubClient(Protocol):
    """What the hub needs from a consumer."""

    async def deliver(self, message: dict[str, Any]) -> None:
        """Handle one group message (``hands.frame``, ``hands.event``, ...)."""
        ...


class Hub:
    """The fan-out task of one event loop."""

    def __init__(self) -> None:
        self.clients: set[HubClient] = set()
        self._task: asyncio.Task[None] | None = None
        self.messages = 0

    def register(self, client: HubClient) -> None:
        """Add a client; starts the subscription task on first use."""
        self.clients.add(client)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="depthhand-hub")

    def unregister(self, client: HubClient) -> None:
        """Remove a client (the subscription stays for the next one)."""
        self.clients.discard(client)

    async def _run(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel("hub.")
        await layer.group_add(FRAME_GROUP, channel)
        try:
            while True:
                message = await layer.receive(channel)
                self.messages += 1
                for client in list(self.clients):
                    try:
                        await client.deliver(message)
                    except Exception:  # one broken client must not stop the others
                        log.exception("dropping a WebSocket client after a failed send")
                        self.clients.discard(client)
        finally:
            await layer.group_discard(FRAME_GROUP, channel)


_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    hub = _HUBS.get(loop)
    if hub is None:
        hub = _HUBS[loop] = Hub()
    return hub
