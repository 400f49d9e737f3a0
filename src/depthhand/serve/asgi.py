"""ASGI application: HTTP (Django views + static files) and the ``/ws/hands`` WebSocket.

Import only after :func:`depthhand.serve.configure`.

Before Django sees an HTTP request, :class:`RequestGuard`:

* answers ``401`` to a REST write (``POST``/``PUT``/``PATCH``/``DELETE`` under ``/api/``) without the right
  ``Authorization: Bearer`` token, before reading its body;
* answers ``413`` to a body larger than :data:`MAX_BODY_BYTES`: at once when ``Content-Length`` says so, else as
  soon as the streamed (chunked) bytes pass the limit; nothing larger is ever buffered;
* answers ``404`` to ``/static/`` paths with ``..`` / ``.`` segments, backslashes or NUL bytes.

These answers are JSON and close the connection. Browser WebSockets (with an ``Origin`` header) must come from
the very origin the server is reached at: an allowed host *and* the same port (protection against cross-site
WebSocket hijacking; Channels' ``AllowedHostsOriginValidator`` ignores the port). Clients without ``Origin``
(scripts) are let through to the consumer, which still requires the token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.http.request import validate_host

from depthhand.serve import runtime
from depthhand.serve.auth import header_token, token_matches
from depthhand.serve.routing import websocket_urlpatterns

MAX_BODY_BYTES = 1024 * 1024
"""Largest HTTP request body accepted (1 MiB; the API's JSON bodies are far smaller)."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CLOSE_FORBIDDEN_ORIGIN = 4403


def _headers(scope: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k.decode("latin1").lower(), v.decode("latin1")) for k, v in scope.get("headers", [])]


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),  # the unread rest of the body is not waited for
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _bad_static_path(path: str) -> bool:
    if not path.startswith("/static/"):
        return False
    return "\\" in path or "\x00" in path or any(part in ("..", ".") for part in path.split("/"))


class RequestGuard:
    """ASGI middleware bounding HTTP requests before they are buffered (see the module docstring).

    Args:
        app: The HTTP application.
        max_body: Largest request body, bytes.
    """

    def __init__(self, app: Any, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if _bad_static_path(path):
            await _send_json(send, 404, {"error": f"no such static file: {path[:200]!r}"})
            return
        headers = _headers(scope)
        token = runtime.get().options.token
        if path.startswith("/api/") and method in WRITE_METHODS and not token_matches(header_token(headers), token):
            await _send_json(send, 401, {"error": "missing or wrong token (send Authorization: Bearer <token>)"})
            return
        too_large = {"error": f"request body too large (max {self.max_body} bytes)"}
        for name, value in headers:
            if name == "content-length":
                if not value.strip().isdigit():
                    await _send_json(send, 400, {"error": "Content-Length must be a non-negative integer"})
                    return
                if int(value) > self.max_body:
                    await _send_json(send, 413, too_large)
                    return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _send_json(send, 413, too_large)
                return
            more = message.get("more_body", False)
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives the buffered body once, then the connection's own messages (disconnect)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replay


def _with_brackets(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def origin_allowed(origin: str, host_header: str | None, port: int, allowed_hosts: list[str]) -> bool:
    """Whether a browser ``Origin`` is the server's own origin: an allowed host and the same port.

    With a ``Host`` header (always there from a browser) the origin's host and port must equal it; without one the
    origin's port must be the server's ``port``. Ports default to 80/443 by the origin's scheme.
    """
    try:
        o = urlsplit(origin)
        if o.scheme not in ("http", "https") or not o.hostname:
            return False
        default = 443 if o.scheme == "https" else 80
        o_port = o.port or default
        if not validate_host(_with_brackets(o.hostname), allowed_hosts):
            return False
        if host_header:
            h = urlsplit(f"//{host_header}")
            return (h.hostname or "") == o.hostname and (h.port or default) == o_port
    except ValueError:  # a malformed port
        return False
    return o_port == port


class BrowserOriginCheck:
    """Refuse WebSockets whose ``Origin`` is not the server's own origin (see :func:`origin_allowed`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """ASGI entry point."""
        headers = dict(_headers(scope))
        origin = headers.get("origin")
        if origin is not None:
            options = runtime.get().options
            if not origin_allowed(origin, headers.get("host"), options.port, list(settings.ALLOWED_HOSTS)):
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN_ORIGIN})
                return None
        return await self.app(scope, receive, send)


django_asgi = get_asgi_application()

application = ProtocolTypeRouter(
    {
        "http": RequestGuard(ASGIStaticFilesHandler(django_asgi)),
        "websocket": BrowserOriginCheck(URLRouter(websocket_urlpatterns)),
    }
)
