"""WebSocket URL routes."""

from __future__ import annotations

from django.urls import path

from depthhand.serve.consumers import HandsConsumer

websocket_urlpatterns = [path("ws/hands", HandsConsumer.as_asgi())]
