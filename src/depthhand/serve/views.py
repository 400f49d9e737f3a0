"""REST API (JSON) and the two pages (live viewer, calibration).

Every ``/api/`` answer is JSON, errors included (``{"error": "..."}`` naming the field and what was expected).
Writes need the token in the ``Authorization: Bearer`` header; reads need it too (header or ``?token=``) unless the
server runs with ``--public-read``. Unexpected exceptions answer a JSON 500 and are logged by ``django.request``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path, PurePosixPath
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from depthhand.interact.calibration import (
    Calibration,
    load_calibration,
    make_targets,
    save_calibration,
    solve_calibration,
)
from depthhand.interact.gestures import PinchSettings
from depthhand.interact.touch import TouchSettings
from depthhand.serve import runtime
from depthhand.serve.api import (
    CONFIG_BODY,
    PLANE_BODY,
    POINT_BODY,
    RECORDING_BODY,
    SESSION_BODY,
    ApiError,
    openapi,
    validate,
)
from depthhand.serve.auth import header_token, token_from_parts, token_matches
from depthhand.serve.commands import FitPlane, Record, ReloadCalibration, SetConfig, command_to_dict
from depthhand.skeleton import Finger

View = Callable[..., HttpResponse]
log = logging.getLogger("depthhand.serve")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STALE_STATUS_US = 3_000_000
"""A status older than this (µs; the pipeline publishes it every 0.5 s) is marked ``stale`` and its ``fps`` is 0."""


def _json_body(request: HttpRequest) -> Any:
    if not request.body:
        return {}
    if len(request.body) > 65536:
        raise ApiError("request body too large (max 64 KiB)", 413)
    try:
        return json.loads(request.body)
    except RecursionError:
        raise ApiError("body is nested too deeply (expected a JSON object of the documented fields)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers of more than 4300 digits
        raise ApiError(f"body is not valid JSON: {str(exc)[:200]}") from None


def _auth_error(request: HttpRequest, public: bool) -> JsonResponse | None:
    options = runtime.get().options
    if request.method in WRITE_METHODS:
        if not token_matches(header_token(request.headers.items()), options.token):
            return JsonResponse({"error": "missing or wrong token (send Authorization: Bearer <token>)"}, status=401)
    elif not (public or options.public_read):
        given = token_from_parts(request.META.get("QUERY_STRING", ""), request.headers.items())
        if not token_matches(given, options.token):
            msg = "missing or wrong token (send Authorization: Bearer <token> or ?token=)"
            return JsonResponse({"error": msg}, status=401)
    return None


def api(methods: list[str], public: bool = False) -> Callable[[View], View]:
    """JSON endpoint: method check, token check, ``ApiError`` → JSON error response.

    Writes take the token from the header only; reads need it unless ``public`` or ``--public-read``.
    """

    def wrap(fn: View) -> View:
        @wraps(fn)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = _auth_error(request, public)
            if refused is not None:
                return refused
            try:
                return fn(request, *args, **kwargs)
            except ApiError as exc:
                return JsonResponse({"error": str(exc)}, status=exc.status)

        def methods_checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                error = f"method {request.method} not allowed (expected {', '.join(methods)})"
                return JsonResponse({"error": error}, status=405, headers={"Allow": ", ".join(methods)})
            return inner(request, *args, **kwargs)

        # token auth, not cookies: CSRF does not apply
        checked: View = csrf_exempt(wraps(fn)(methods_checked))
        return checked

    return wrap


def _calibration_path() -> Path:
    return runtime.get().options.data_dir / "calibration.json"


def _stored_calibration() -> Calibration | None:
    """The calibration file, ``None`` when there is none.

    Raises:
        ApiError: 409 when the file is unreadable (naming it and the problem).
    """
    path = _calibration_path()
    if not path.is_file():
        return None
    try:
        return load_calibration(path)
    except (ValueError, OSError) as exc:
        raise ApiError(
            f"the stored calibration is unreadable ({str(exc)[:300]}); fit the plane again "
            "(POST /api/calibration/plane) or replace the file",
            409,
        ) from exc


@api(["GET"])
def status(request: HttpRequest) -> HttpResponse:
    """Pipeline status (fps, per-stage latency, drops, the source's state and counters) and this process's clients."""
    rt = runtime.get()
    starting = {"source": {"url": rt.options.source, "state": "starting"}, "fps": 0.0, "waiting": True}
    st = rt.state.get("status") or starting
    updated_us = st.get("updated_us")
    if isinstance(updated_us, int) and time.time_ns() // 1000 - updated_us > STALE_STATUS_US:
        st = {**st, "fps": 0.0, "stale": True}  # the pipeline (a worker, in the split modes) stopped publishing
    return JsonResponse({**st, "mode": rt.options.mode, "clients": rt.clients.to_dict()})


@api(["GET", "PUT"])
def config(request: HttpRequest) -> HttpResponse:
    """GET the touch/pinch settings; PUT changes (validated, applied by the pipeline on its next frame)."""
    rt = runtime.get()
    if request.method == "GET":
        return JsonResponse(rt.state.get("config") or {})
    body = validate(_json_body(request), CONFIG_BODY)
    current = rt.state.get("config") or {}
    touch = {**current.get("touch", {}), **body.get("touch", {})}
    pinch = {**current.get("pinch", {}), **body.get("pinch", {})}
    try:  # cross-field checks (enter < exit, ...)
        t = dict(touch)
        if "fingers" in t:
            t["fingers"] = tuple(Finger[f.upper()] for f in t["fingers"])
        TouchSettings(**t)
        PinchSettings(**pinch)
    except (ValueError, TypeError) as exc:
        raise ApiError(str(exc)) from exc
    rt.state.push_command(command_to_dict(SetConfig(body.get("touch", {}), body.get("pinch", {}))))
    return JsonResponse({"queued": True, "config": {"touch": touch, "pinch": pinch}}, status=202)


@api(["GET"])
def calibration(request: HttpRequest) -> HttpResponse:
    """The stored calibration file."""
    cal = _stored_calibration()
    return JsonResponse({"calibration": None if cal is None else cal.to_dict()})


@api(["POST"])
def calibration_plane(request: HttpRequest) -> HttpResponse:
    """Ask the pipeline to fit the table plane from the next N frames (keep the table clear)."""
    body = validate(_json_body(request), PLANE_BODY)
    runtime.get().state.push_command(command_to_dict(FitPlane(body.get("frames", 15))))
    return JsonResponse({"queued": True}, status=202)


@api(["GET", "POST", "DELETE"])
def calibration_session(request: HttpRequest) -> HttpResponse:
    """Start (POST), read (GET) or cancel (DELETE) a calibration session."""
    state = runtime.get().state
    if request.method == "GET":
        return JsonResponse(state.get("calibration_session") or {"active": False})
    if request.method == "DELETE":
        state.set("calibration_session", {"active": False})
        return JsonResponse({"active": False})
    body = validate(_json_body(request), SESSION_BODY)
    targets = make_targets(body["width"], body["height"], body.get("rows", 3), body.get("cols", 3))
    session = {
        "active": True,
        "width": body["width"],
        "height": body["height"],
        "targets": [[round(float(x), 2), round(float(y), 2)] for x, y in targets],
        "points": [],
    }
    state.set("calibration_session", session)
    return JsonResponse(session)


@api(["POST"])
def calibration_points(request: HttpRequest) -> HttpResponse:
    """Record the fingertip position for the next target (``index`` must be the next one)."""
    state = runtime.get().state
    body = validate(_json_body(request), POINT_BODY)
    session = state.get("calibration_session") or {}
    if not session.get("active"):
        raise ApiError("no active calibration session (POST /api/calibration/session first)", 409)
    points = session["points"]
    if body["index"] != len(points) or body["index"] >= len(session["targets"]):
        raise ApiError(f"expected the point for target {len(points)} of {len(session['targets'])}", 409)
    points.append({"index": body["index"], "target_px": session["targets"][body["index"]], "xyz_mm": body["xyz_mm"]})
    state.set("calibration_session", session)
    return JsonResponse(session)


@api(["POST"])
def calibration_solve(request: HttpRequest) -> HttpResponse:
    """Fit H (and P when possible) from the session's points, store atomically, tell the pipeline."""
    rt = runtime.get()
    session = rt.state.get("calibration_session") or {}
    points = session.get("points", [])
    if len(points) < 4:
        raise ApiError(f"need at least 4 touched targets, have {len(points)}", 409)
    stored = _stored_calibration()
    try:
        cal = solve_calibration(
            [p["target_px"] for p in points],
            [p["xyz_mm"] for p in points],
            None if stored is None else stored.plane,
            (int(session["width"]), int(session["height"])),
            None if stored is None else stored.plane_rms_mm,
        )
    except ValueError as exc:  # too few points, degenerate spread, reprojection error above the limit
        raise ApiError(str(exc), 422) from exc
    save_calibration(cal, _calibration_path())  # the previous file is kept as calibration.prev.json
    rt.state.set("calibration_session", {**session, "active": False, "solved": True})
    rt.state.push_command(command_to_dict(ReloadCalibration()))
    return JsonResponse({"calibration": cal.to_dict(), "errors": cal.errors})


def _recording_path(raw: str, data_dir: Path) -> str:
    """``raw`` when it is a relative path inside the data directory.

    Raises:
        ApiError: 400 naming ``body.path`` for absolute paths, ``..``, backslashes or NUL bytes.
    """
    expected = "body.path must be a relative path inside the data directory (no '..', not absolute)"
    pure = PurePosixPath(raw)
    if not raw or "\x00" in raw or "\\" in raw or pure.is_absolute() or ".." in pure.parts:
        raise ApiError(f"{expected}, got {raw[:200]!r}")
    base = data_dir.resolve()
    if not (base / pure).resolve().is_relative_to(base):  # a symlink inside pointing out
        raise ApiError(f"{expected}, got {raw[:200]!r}")
    return str(pure)


@api(["POST"])
def recording(request: HttpRequest) -> HttpResponse:
    """Start or stop recording through the pipeline's recorder (409 when the pipeline has none)."""
    rt = runtime.get()
    body = validate(_json_body(request), RECORDING_BODY)
    path = None if body.get("path") is None else _recording_path(body["path"], rt.options.data_dir)
    capabilities = rt.state.get("capabilities") or {}
    if not capabilities.get("recorder"):
        source = ((rt.state.get("status") or {}).get("source") or {}).get("url", rt.options.source)
        raise ApiError(
            f"this source cannot record ({source} has no recorder); record with `depthhand record` instead", 409
        )
    rt.state.push_command(command_to_dict(Record(body["action"], path)))
    return JsonResponse({"queued": True}, status=202)


def api_not_found(request: HttpRequest) -> HttpResponse:
    """JSON 404 for unknown ``/api/`` paths."""
    return JsonResponse({"error": f"no such API endpoint: {request.path[:200]} (see /api/openapi.json)"}, status=404)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 handler: JSON under ``/api/``, plain text elsewhere."""
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return HttpResponse("not found", status=404, content_type="text/plain")


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler (the exception was logged by ``django.request``): always JSON."""
    return JsonResponse({"error": "internal server error (see the server log)"}, status=500)


@api(["GET"], public=True)
def openapi_json(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document."""
    return JsonResponse(openapi())


def viewer(request: HttpRequest) -> HttpResponse:
    """The live three.js viewer."""
    return render(request, "depthhand_serve/viewer.html", {})


def calibrate(request: HttpRequest) -> HttpResponse:
    """The full-screen projector calibration page."""
    return render(request, "depthhand_serve/calibrate.html", {})


def projector(request: HttpRequest) -> HttpResponse:
    """The full-screen projector page: paints touches and presses buttons in projector pixels."""
    return render(request, "depthhand_serve/projector.html", {})
