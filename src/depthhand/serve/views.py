"""REST API (JSON) and the two pages (live viewer, calibration). Writes need the token; inputs are validated."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from depthhand.interact.calibration import (
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
from depthhand.serve.auth import token_from_parts, token_matches
from depthhand.serve.commands import FitPlane, Record, ReloadCalibration, SetConfig, command_to_dict
from depthhand.skeleton import Finger

View = Callable[..., HttpResponse]


def _json_body(request: HttpRequest) -> Any:
    if not request.body:
        return {}
    if len(request.body) > 65536:
        raise ApiError("request body too large (max 64 KiB)", 413)
    try:
        return json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(f"body is not valid JSON: {exc}") from exc


def api(methods: list[str], write: tuple[str, ...] = ("POST", "PUT", "PATCH", "DELETE")) -> Callable[[View], View]:
    """JSON endpoint: method check, token check on writes, ``ApiError`` → JSON error response."""

    def wrap(fn: View) -> View:
        @wraps(fn)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in write:
                given = token_from_parts(request.META.get("QUERY_STRING", ""), request.headers.items())
                if not token_matches(given, runtime.get().options.token):
                    return JsonResponse({"error": "missing or wrong token"}, status=401)
            try:
                return fn(request, *args, **kwargs)
            except ApiError as exc:
                return JsonResponse({"error": str(exc)}, status=exc.status)

        # token auth, not cookies: CSRF does not apply
        checked: View = csrf_exempt(require_http_methods(methods)(inner))
        return checked

    return wrap


def _calibration_path() -> Any:
    return runtime.get().options.data_dir / "calibration.json"


@api(["GET"])
def status(request: HttpRequest) -> HttpResponse:
    """Pipeline status (fps, per-stage latency, drops) and this web process's clients."""
    rt = runtime.get()
    st = rt.state.get("status") or {"source": rt.options.source, "fps": 0.0, "waiting": True}
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
    path = _calibration_path()
    if not path.is_file():
        return JsonResponse({"calibration": None})
    try:
        return JsonResponse({"calibration": load_calibration(path).to_dict()})
    except ValueError as exc:
        raise ApiError(f"stored calibration is unreadable: {exc}", 500) from exc


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
    path = _calibration_path()
    plane = load_calibration(path).plane if path.is_file() else None
    try:
        cal = solve_calibration(
            [p["target_px"] for p in points],
            [p["xyz_mm"] for p in points],
            plane,
            (int(session["width"]), int(session["height"])),
        )
    except ValueError as exc:
        raise ApiError(str(exc), 422) from exc
    if plane is not None:
        cal = dataclasses.replace(cal, plane_rms_mm=load_calibration(path).plane_rms_mm)
    save_calibration(cal, path)
    rt.state.set("calibration_session", {**session, "active": False, "solved": True})
    rt.state.push_command(command_to_dict(ReloadCalibration()))
    return JsonResponse({"calibration": cal.to_dict(), "errors": cal.errors})


@api(["POST"])
def recording(request: HttpRequest) -> HttpResponse:
    """Start or stop recording through the pipeline's recorder."""
    body = validate(_json_body(request), RECORDING_BODY)
    runtime.get().state.push_command(command_to_dict(Record(body["action"], body.get("path"))))
    return JsonResponse({"queued": True}, status=202)


@api(["GET"])
def openapi_json(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document."""
    return JsonResponse(openapi())


def viewer(request: HttpRequest) -> HttpResponse:
    """The live three.js viewer."""
    return render(request, "depthhand_serve/viewer.html", {})


def calibrate(request: HttpRequest) -> HttpResponse:
    """The full-screen projector calibration page."""
    return render(request, "depthhand_serve/calibrate.html", {})
