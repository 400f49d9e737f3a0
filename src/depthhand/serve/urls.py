"""HTTP routes: pages, the REST API, admin only with ``serve --admin``.

The REST API is django-ninja's (:mod:`depthhand.serve.api`); unknown ``/api/`` paths answer a JSON 404.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from depthhand.serve import runtime, views
from depthhand.serve.api import build_api

urlpatterns: list[Any] = [
    path("", views.viewer, name="viewer"),
    path("calibrate", views.calibrate, name="calibrate"),
    path("projector", views.projector, name="projector"),
    path("api/", build_api().urls),  # REST, /api/openapi.json, /api/docs, /api/schema/ws.json
    re_path(r"^api/", views.api_not_found),
]
if runtime.get().options.admin:
    from django.contrib import admin

    urlpatterns.append(path("admin/", admin.site.urls))

handler404 = "depthhand.serve.views.not_found"
handler500 = "depthhand.serve.views.server_error"
