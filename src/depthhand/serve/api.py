"""Input validation for the REST API and the OpenAPI document built from the same field specs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from depthhand.skeleton import Finger


class ApiError(ValueError):
    """A client error with an HTTP status (400 unless told)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One JSON body field.

    Attributes:
        kind: ``int``, ``number``, ``string``, ``enum``, ``vec3`` (3 numbers), ``fingers`` (finger names) or
            ``object`` (nested ``children``).
        required: Must be present.
        minimum: Inclusive lower bound (numbers).
        maximum: Inclusive upper bound (numbers), or the maximum string length.
        choices: Allowed values (``enum``).
        children: Nested fields (``object``).
        description: For the OpenAPI document.
    """

    kind: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    children: tuple[tuple[str, FieldSpec], ...] = ()
    description: str = ""


def _short(value: Any) -> str:
    text = (
        repr(value) if not isinstance(value, int) or abs(value) < 10**30 else f"an integer of {len(str(value))} digits"
    )
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: Any, spec: FieldSpec, where: str, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise ApiError(f"{where} must be {'an integer' if integer else 'a number'}, got {_short(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(f"{where} must be finite")
    if spec.minimum is not None and value < spec.minimum:
        raise ApiError(f"{where} must be ≥ {spec.minimum}, got {_short(value)}")
    if spec.maximum is not None and value > spec.maximum:
        raise ApiError(f"{where} must be ≤ {spec.maximum}, got {_short(value)}")
    return value


def validate(body: Any, fields: dict[str, FieldSpec], where: str = "body") -> dict[str, Any]:
    """Check a JSON object against ``fields``; unknown keys are rejected.

    Raises:
        ApiError: Naming the offending field and what was expected.
    """
    if not isinstance(body, dict):
        raise ApiError(f"{where} must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(f"{where}: unknown field(s) {unknown}; expected {sorted(fields)}")
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        path = f"{where}.{name}"
        if name not in body:
            if spec.required:
                raise ApiError(f"{path} is required")
            continue
        v = body[name]
        if spec.kind in ("int", "number"):
            out[name] = _number(v, spec, path, spec.kind == "int")
        elif spec.kind == "string":
            if not isinstance(v, str) or (spec.maximum is not None and len(v) > spec.maximum):
                raise ApiError(f"{path} must be a string of at most {spec.maximum} characters")
            out[name] = v
        elif spec.kind == "enum":
            if not isinstance(v, str) or v not in spec.choices:
                raise ApiError(f"{path} must be one of {list(spec.choices)}, got {_short(v)}")
            out[name] = v
        elif spec.kind == "vec3":
            if not isinstance(v, list) or len(v) != 3:
                raise ApiError(f"{path} must be a list of 3 numbers (mm)")
            out[name] = [float(_number(x, spec, f"{path}[{i}]", False)) for i, x in enumerate(v)]
        elif spec.kind == "fingers":
            names = [f.name.lower() for f in Finger]
            if not isinstance(v, list) or not v or any(not isinstance(x, str) or x not in names for x in v):
                raise ApiError(f"{path} must be a non-empty list of finger names from {names}")
            out[name] = v
        elif spec.kind == "object":
            out[name] = validate(v, dict(spec.children), path)
        else:  # pragma: no cover - programming error
            raise TypeError(f"unknown field kind {spec.kind}")
    return out


TOUCH_FIELDS = {
    "hover_enter_mm": FieldSpec("number", minimum=0, maximum=1000, description="start hovering below, mm"),
    "hover_exit_mm": FieldSpec("number", minimum=0, maximum=1000, description="stop hovering at or above, mm"),
    "touch_enter_mm": FieldSpec("number", minimum=0, maximum=1000, description="touch starts below, mm"),
    "touch_exit_mm": FieldSpec("number", minimum=0, maximum=1000, description="touch ends above, mm"),
    "touch_debounce_frames": FieldSpec("int", minimum=1, maximum=30, description="frames below touch_enter_mm"),
    "lost_frames": FieldSpec("int", minimum=0, maximum=300, description="frames a lost hand keeps its contacts"),
    "fingers": FieldSpec("fingers", description="fingers that can touch"),
    "height_smoothing": FieldSpec("number", minimum=0.01, maximum=1, description="EMA weight of a new height"),
}
PINCH_FIELDS = {
    "start_mm": FieldSpec("number", minimum=1, maximum=500, description="pinch starts below, mm"),
    "end_mm": FieldSpec("number", minimum=1, maximum=500, description="pinch ends above, mm"),
    "zero_strength_mm": FieldSpec("number", minimum=1, maximum=1000, description="strength 0 at, mm"),
    "lost_frames": FieldSpec("int", minimum=0, maximum=300),
}
CONFIG_BODY = {
    "touch": FieldSpec("object", children=tuple(TOUCH_FIELDS.items())),
    "pinch": FieldSpec("object", children=tuple(PINCH_FIELDS.items())),
}
PLANE_BODY = {"frames": FieldSpec("int", minimum=1, maximum=300, description="background frames to fit")}
SESSION_BODY = {
    "width": FieldSpec("int", required=True, minimum=64, maximum=16384, description="projector width, px"),
    "height": FieldSpec("int", required=True, minimum=64, maximum=16384, description="projector height, px"),
    "rows": FieldSpec("int", minimum=2, maximum=8),
    "cols": FieldSpec("int", minimum=2, maximum=8),
}
POINT_BODY = {
    "index": FieldSpec("int", required=True, minimum=0, maximum=63, description="target index"),
    "xyz_mm": FieldSpec("vec3", required=True, minimum=-10000, maximum=10000, description="fingertip, camera mm"),
}
RECORDING_BODY = {
    "action": FieldSpec("enum", required=True, choices=("start", "stop")),
    "path": FieldSpec("string", maximum=500, description="where to record: a relative path inside the data directory"),
}


def _schema(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, f in fields.items():
        if f.kind in ("int", "number"):
            p: dict[str, Any] = {"type": "integer" if f.kind == "int" else "number"}
            if f.minimum is not None:
                p["minimum"] = f.minimum
            if f.maximum is not None:
                p["maximum"] = f.maximum
        elif f.kind == "string":
            p = {"type": "string", "maxLength": f.maximum}
        elif f.kind == "enum":
            p = {"type": "string", "enum": list(f.choices)}
        elif f.kind == "vec3":
            p = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}
        elif f.kind == "fingers":
            p = {"type": "array", "items": {"type": "string", "enum": [x.name.lower() for x in Finger]}}
        else:
            p = _schema(dict(f.children))
        if f.description:
            p["description"] = f.description
        props[name] = p
    req = [n for n, f in fields.items() if f.required]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if req:
        out["required"] = req
    return out


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the REST API."""
    bearer: list[dict[str, list[str]]] = [{"token": []}]
    ok = {"200": {"description": "OK", "content": {"application/json": {}}}}
    accepted = {
        "202": {"description": "queued for the pipeline"},
        "400": {"description": "invalid input"},
        "401": {"description": "missing or wrong token"},
        "409": {"description": "not possible in the current state (e.g. this source cannot record)"},
        "413": {"description": "request body too large"},
    }

    def body(fields: dict[str, FieldSpec]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _schema(fields)}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "depthhand live server",
            "version": "1",
            "description": "Live hand tracking status, interaction settings, projector calibration and recording. "
            "The token is needed for writes (Authorization: Bearer <token> only) and reads (header or ?token=, unless "
            "the server runs with --public-read). Bodies are limited to 1 MiB (413). WebSocket: /ws/hands?token=… "
            "(messages: hello, frame, depth, touch_*/hover_*/pinch_* events, source (its state changed); acknowledge "
            "frames with "
            '{"type": "ack", "seq": N}).',
        },
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/status": {
                "get": {
                    "summary": "fps (frames of the last 2 s), per-stage latency, pose_backend (the pose runtime "
                    "in use), frame errors, drops, clients, and "
                    "source: {url, kind, state (running/reconnecting/ended/failed/stopped), ended, frames, skipped, "
                    "dropped, corrupt_chunks, bytes_skipped, truncated, reconnects, errors, last_error}",
                    "responses": ok,
                }
            },
            "/api/config": {
                "get": {"summary": "touch and pinch settings", "responses": ok},
                "put": {
                    "summary": "change settings",
                    "security": bearer,
                    "requestBody": body(CONFIG_BODY),
                    "responses": accepted,
                },
            },
            "/api/calibration": {"get": {"summary": "the stored calibration (plane, H, P, errors)", "responses": ok}},
            "/api/calibration/plane": {
                "post": {
                    "summary": "fit the table plane from the next background frames",
                    "security": bearer,
                    "requestBody": body(PLANE_BODY),
                    "responses": accepted,
                }
            },
            "/api/calibration/session": {
                "get": {"summary": "the calibration session (targets, touched points)", "responses": ok},
                "post": {
                    "summary": "start a session with a target grid",
                    "security": bearer,
                    "requestBody": body(SESSION_BODY),
                    "responses": ok,
                },
                "delete": {"summary": "cancel the session", "security": bearer, "responses": ok},
            },
            "/api/calibration/points": {
                "post": {
                    "summary": "record the touch for a target",
                    "security": bearer,
                    "requestBody": body(POINT_BODY),
                    "responses": ok,
                }
            },
            "/api/calibration/solve": {
                "post": {
                    "summary": "fit H (and P) from the session, store atomically",
                    "security": bearer,
                    "responses": ok,
                }
            },
            "/api/recording": {
                "post": {
                    "summary": "start or stop recording",
                    "security": bearer,
                    "requestBody": body(RECORDING_BODY),
                    "responses": accepted,
                }
            },
            "/api/openapi.json": {"get": {"summary": "this document", "responses": ok}},
        },
    }
