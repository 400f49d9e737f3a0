"""REST endpoints (a django-ninja router, mounted by :mod:`depthhand.serve.api`) and the pages.

Every ``/api/`` answer is JSON, errors included (``{"error": "..."}`` naming the field and what was expected).
Writes need the token in the ``Authorization: Bearer`` header; reads need it too (header or ``?token=``) unless the
server runs with ``--public-read``. Request and response bodies are the models of :mod:`depthhand.serve.schemas`.
Unexpected exceptions answer a JSON 500 and are logged by ``django.request``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path, PurePosixPath
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from ninja import Router, Status
from ninja.params.functions import Body
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

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
from depthhand.serve.api import READ, WRITE, ApiError
from depthhand.serve.commands import FitPlane, Record, ReloadCalibration, SetConfig, command_to_dict
from depthhand.serve.schemas import (
    CalibrationOut,
    ConfigBody,
    ConfigOut,
    ConfigQueuedOut,
    ErrorOut,
    PlaneBody,
    PointBody,
    QueuedOut,
    RecordingBody,
    SessionBody,
    SessionOut,
    SolveOut,
    StatusOut,
)
from depthhand.skeleton import Finger

log = logging.getLogger("depthhand.serve")
router = Router()
STALE_STATUS_US = 3_000_000
"""A status older than this (µs; the pipeline publishes it every 0.5 s) is marked ``stale`` and its ``fps`` is 0."""
REFUSED: dict[int, type[ErrorOut]] = {401: ErrorOut}
INVALID: dict[int, type[ErrorOut]] = {400: ErrorOut, 401: ErrorOut, 413: ErrorOut}


def _optional_body(schema: type[BaseModel]) -> Any:
    """A body that may be empty (as ``{}``: the schema's defaults), documented without a default object."""
    return Body(PydanticUndefined, default_factory=schema)


CONFIG_BODY = _optional_body(ConfigBody)
PLANE_BODY = _optional_body(PlaneBody)


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


@router.get("/status", response={200: StatusOut, **REFUSED}, auth=READ, exclude_unset=True, summary="Pipeline status")
def status(request: HttpRequest) -> dict[str, Any]:
    """Frames per second (of the last 2 s), per-stage latency, frame errors, drops, this process's clients.

    ``source``: url, kind, state (running / reconnecting / ended / failed / stopped), ended, frames, skipped,
    dropped, corrupt_chunks, bytes_skipped, truncated, reconnects, errors, last_error.
    """
    rt = runtime.get()
    starting = {"source": {"url": rt.options.source, "state": "starting"}, "fps": 0.0, "waiting": True}
    st = rt.state.get("status") or starting
    updated_us = st.get("updated_us")
    if isinstance(updated_us, int) and time.time_ns() // 1000 - updated_us > STALE_STATUS_US:
        st = {**st, "fps": 0.0, "stale": True}  # the pipeline (a worker, in the split modes) stopped publishing
    return {**st, "mode": rt.options.mode, "clients": rt.clients.to_dict()}


@router.get("/config", response={200: ConfigOut, **REFUSED}, auth=READ, exclude_unset=True, summary="Settings")
def get_config(request: HttpRequest) -> dict[str, Any]:
    """The touch and pinch settings in force (empty until the pipeline published them)."""
    return runtime.get().state.get("config") or {}


@router.put("/config", response={202: ConfigQueuedOut, **INVALID}, auth=WRITE, summary="Change settings")
def put_config(request: HttpRequest, payload: ConfigBody = CONFIG_BODY) -> Status[dict[str, Any]]:
    """Validated (field ranges, then enter < exit and the like), applied by the pipeline on its next frame."""
    rt = runtime.get()
    body = payload.model_dump(exclude_unset=True)
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
    return Status(202, {"queued": True, "config": {"touch": touch, "pinch": pinch}})


@router.get("/calibration", response={200: CalibrationOut, 409: ErrorOut, **REFUSED}, auth=READ, summary="Calibration")
def calibration(request: HttpRequest) -> dict[str, Any]:
    """The stored calibration file (plane, H, P, errors), ``null`` when there is none; 409 when it is unreadable."""
    cal = _stored_calibration()
    return {"calibration": None if cal is None else cal.to_dict()}


@router.post("/calibration/plane", response={202: QueuedOut, **INVALID}, auth=WRITE, summary="Fit the table plane")
def calibration_plane(request: HttpRequest, payload: PlaneBody = PLANE_BODY) -> Status[dict[str, Any]]:
    """Fit the table plane from the next background frames (keep the table clear)."""
    runtime.get().state.push_command(command_to_dict(FitPlane(payload.frames)))
    return Status(202, {"queued": True})


@router.get(
    "/calibration/session", response={200: SessionOut, **REFUSED}, auth=READ, exclude_unset=True, summary="Session"
)
def get_calibration_session(request: HttpRequest) -> dict[str, Any]:
    """The calibration session (targets, touched points)."""
    return runtime.get().state.get("calibration_session") or {"active": False}


@router.post(
    "/calibration/session", response={200: SessionOut, **INVALID}, auth=WRITE, exclude_unset=True, summary="Start"
)
def start_calibration_session(request: HttpRequest, payload: SessionBody) -> dict[str, Any]:
    """Start a session with a target grid (``rows`` × ``cols`` targets on the projector image)."""
    targets = make_targets(payload.width, payload.height, payload.rows, payload.cols)
    session = {
        "active": True,
        "width": payload.width,
        "height": payload.height,
        "targets": [[round(float(x), 2), round(float(y), 2)] for x, y in targets],
        "points": [],
    }
    runtime.get().state.set("calibration_session", session)
    return session


@router.delete(
    "/calibration/session", response={200: SessionOut, **REFUSED}, auth=WRITE, exclude_unset=True, summary="Cancel"
)
def cancel_calibration_session(request: HttpRequest) -> dict[str, Any]:
    """Cancel the session."""
    runtime.get().state.set("calibration_session", {"active": False})
    return {"active": False}


@router.post(
    "/calibration/points",
    response={200: SessionOut, 409: ErrorOut, **INVALID},
    auth=WRITE,
    exclude_unset=True,
    summary="Record a touched target",
)
def calibration_points(request: HttpRequest, payload: PointBody) -> dict[str, Any]:
    """Record the fingertip position for the next target (``index`` must be the next one)."""
    state = runtime.get().state
    session = state.get("calibration_session") or {}
    if not session.get("active"):
        raise ApiError("no active calibration session (POST /api/calibration/session first)", 409)
    points = session["points"]
    if payload.index != len(points) or payload.index >= len(session["targets"]):
        raise ApiError(f"expected the point for target {len(points)} of {len(session['targets'])}", 409)
    target = session["targets"][payload.index]
    points.append({"index": payload.index, "target_px": target, "xyz_mm": list(payload.xyz_mm)})
    state.set("calibration_session", session)
    return session


@router.post(
    "/calibration/solve",
    response={200: SolveOut, 409: ErrorOut, 422: ErrorOut, **REFUSED},
    auth=WRITE,
    summary="Solve and store",
)
def calibration_solve(request: HttpRequest) -> dict[str, Any]:
    """Fit H (and P when possible) from the session's points, store atomically, tell the pipeline.

    409 with fewer than 4 touched targets or an unreadable stored file; 422 when the fit is rejected (degenerate
    spread, reprojection error above the limit).
    """
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
    return {"calibration": cal.to_dict(), "errors": cal.errors}


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


@router.post(
    "/recording", response={202: QueuedOut, 409: ErrorOut, **INVALID}, auth=WRITE, summary="Start or stop recording"
)
def recording(request: HttpRequest, payload: RecordingBody) -> Status[dict[str, Any]]:
    """Through the pipeline's recorder; 409 when this source cannot record."""
    rt = runtime.get()
    path = None if payload.path is None else _recording_path(payload.path, rt.options.data_dir)
    capabilities = rt.state.get("capabilities") or {}
    if not capabilities.get("recorder"):
        source = ((rt.state.get("status") or {}).get("source") or {}).get("url", rt.options.source)
        raise ApiError(
            f"this source cannot record ({source} has no recorder); record with `depthhand record` instead", 409
        )
    rt.state.push_command(command_to_dict(Record(payload.action, path)))
    return Status(202, {"queued": True})


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


def viewer(request: HttpRequest) -> HttpResponse:
    """The live three.js viewer."""
    return render(request, "depthhand_serve/viewer.html", {})


def calibrate(request: HttpRequest) -> HttpResponse:
    """The full-screen projector calibration page."""
    return render(request, "depthhand_serve/calibrate.html", {})


def projector(request: HttpRequest) -> HttpResponse:
    """The full-screen projector page: paints touches and presses buttons in projector pixels."""
    return render(request, "depthhand_serve/projector.html", {})
