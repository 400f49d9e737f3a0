"""The Django app of depthhand's server."""

from __future__ import annotations

from django.apps import AppConfig


class ServeConfig(AppConfig):  # type: ignore[misc]
    """Templates and static files live in this package; there are no models."""

    name = "depthhand.serve"
    label = "depthhand_serve"
    verbose_name = "depthhand live server"
