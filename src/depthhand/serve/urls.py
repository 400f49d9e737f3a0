"""HTTP routes: pages, REST API (unknown ``/api/`` paths answer a JSON 404), admin only with ``serve --admin``."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from depthhand.serve import runtime, views

urlpatterns: list[Any] = [
    path("", views.viewer, name="viewer"),
    path("calibrate", views.calibrate, name="calibrate"),
    path("projector", views.projector, name="projector"),
    path("api/status", views.status),
    path("api/config", views.config),
    path("api/calibration", views.calibration),
    path("api/calibration/plane", views.calibration_plane),
    path("api/calibration/session", views.calibration_session),
    path("api/calibration/points", views.calibration_points),
    path("api/calibration/solve", views.calibration_solve),
    path("api/recording", views.recording),
    path("api/openapi.json", views.openapi_json),
    re_path(r"^api/", views.api_not_found),
]
if runtime.get().options.admin:
    from django.contrib import admin

    urlpatterns.append(path("admin/", admin.site.urls))

handler404 = "depthhand.serve.views.not_found"
handler500 = "depthhand.serve.views.server_error"
