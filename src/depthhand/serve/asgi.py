"""ASGI application: HTTP (Django views + static files) and the ``/ws/hands`` WebSocket.

Import only after :func:`depthhand.serve.configure`. Browser WebSockets (with an ``Origin`` header) must come from
an allowed host (protection against cross-site WebSocket hijacking); clients without ``Origin`` (scripts) are let
through to the consumer, which still requires the token.
"""

from __future__ import annotations

from typing import Any

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

from depthhand.serve.routing import websocket_urlpatterns


class BrowserOriginCheck:
    """Apply Channels' allowed-hosts origin check to connections that carry an ``Origin`` header."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """ASGI entry point."""
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        return await (self.checked if has_origin else self.app)(scope, receive, send)


django_asgi = get_asgi_application()

application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi),
        "websocket": BrowserOriginCheck(URLRouter(websocket_urlpatterns)),
    }
)
