"""HTTP routes: pages, REST API, admin (behind Django's login)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from depthhand.serve import views

urlpatterns = [
    path("", views.viewer, name="viewer"),
    path("calibrate", views.calibrate, name="calibrate"),
    path("api/status", views.status),
    path("api/config", views.config),
    path("api/calibration", views.calibration),
    path("api/calibration/plane", views.calibration_plane),
    path("api/calibration/session", views.calibration_session),
    path("api/calibration/points", views.calibration_points),
    path("api/calibration/solve", views.calibration_solve),
    path("api/recording", views.recording),
    path("api/openapi.json", views.openapi_json),
    path("admin/", admin.site.urls),
]
