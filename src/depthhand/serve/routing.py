"""WebSocket URL routes: ``/ws/hands`` (also with a trailing slash); any other path is closed cleanly (4404)."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from depthhand.serve.consumers import HandsConsumer

CLOSE_NOT_FOUND = 4404


class NotFoundConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Closes a WebSocket to an unknown path with code 4404 (instead of an error in the server)."""

    async def connect(self) -> None:
        """Refuse the connection."""
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns = [
    re_path(r"^ws/hands/?$", HandsConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
