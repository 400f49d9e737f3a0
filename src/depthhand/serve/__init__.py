"""Stage 7: the Django + Channels backend and web viewer.

Modes (``depthhand serve``):

* embedded (default): one process — uvicorn serves HTTP and WebSockets, the pipeline runs in a thread of the same
  process and publishes through the in-memory channel layer; SQLite for admin users and sessions.
* scale-out: ``--redis URL`` with ``--worker-only`` (one per camera: runs the pipeline, publishes to Redis) and any
  number of ``--web-only`` processes (serve pages, API and WebSockets; one Redis subscription each).

Endpoints: ``/`` viewer, ``/calibrate`` projector calibration, ``/projector`` the projector page (paints touches,
buttons, hover rings in projector pixels), ``/ws/hands`` stream (see
:mod:`depthhand.interact.schema`; the messages as models: :mod:`depthhand.serve.wire`, their JSON Schema at
``/api/schema/ws.json``), ``/api/*`` REST on django-ninja (:mod:`depthhand.serve.api`; OpenAPI at
``/api/openapi.json``, Swagger UI at ``/api/docs``), ``/admin/`` (Django login).
Writes and the WebSocket need the token (``DEPTHHAND_TOKEN`` or printed at start) as ``?token=`` or
``Authorization: Bearer``.

Nothing is configured at import: call :func:`configure` (the ``depthhand serve`` command does) before using the
Django parts (``asgi``, ``urls``, ``views``, ``consumers``).
"""

from __future__ import annotations

from depthhand.serve.options import ServeOptions


def configure(options: ServeOptions) -> None:
    """Configure Django settings from ``options``, set up the apps and the runtime (state store, token).

    Call once per process. Raises ``RuntimeError`` if Django settings were already configured differently.
    """
    import django
    from django.conf import settings

    from depthhand.serve import runtime
    from depthhand.serve.settings import build_settings

    if settings.configured:
        raise RuntimeError("Django settings are already configured in this process; configure() runs once")
    settings.configure(**build_settings(options))
    django.setup()
    runtime.init(options)


__all__ = ["ServeOptions", "configure"]
