"""Pydantic schemas of the REST API's JSON bodies, and their validation errors as one message.

django-ninja (:mod:`depthhand.serve.api`) validates request bodies against these models and builds the OpenAPI
document from them. Request bodies are strict: integers must be JSON integers, numbers JSON numbers (not strings, not
``true``), unknown keys are refused, nested objects are checked field by field. A failed validation answers ``400``
with ``{"error": MESSAGE}``; :func:`error_message` writes MESSAGE from the first problem, naming the field by its path
in the body (``body.touch.fingers``, ``body.xyz_mm[1]``) and what was expected (``must be ≤ 300, got 4000``).

Response models describe the answers (``extra`` keys allowed where the server adds counters over time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from depthhand.serve.wire import absent, drop_null_defaults
from depthhand.skeleton import Finger

FINGER_NAMES = tuple(f.name.lower() for f in Finger)
RECORDING_ACTIONS = ("start", "stop")


def _short(value: Any) -> str:
    """``repr`` of a value for a message, at most 80 characters (huge integers by their length)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of {len(str(value))} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bound(value: Any) -> str:
    """A bound as written in the schema: ``0``, not ``0.0``."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _expected(text: str) -> PydanticCustomError:
    return PydanticCustomError("depthhand_expected", "{text}", {"text": text})


def _check(test: Callable[[Any], bool], text: Callable[[Any], str]) -> BeforeValidator:
    """A validator that raises ``must be …`` (``text(value)``) unless ``test(value)``."""

    def check(value: Any) -> Any:
        if not test(value):
            raise _expected(text(value))
        return value

    return BeforeValidator(check)


class Body(BaseModel):
    """A JSON object of known fields (each model checks ``object`` and unknown keys first, naming them all)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=drop_null_defaults)

    @model_validator(mode="before")
    @classmethod
    def _object_of_known_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise PydanticCustomError("depthhand_object", "must be a JSON object")
        unknown = sorted(map(str, set(data) - set(cls.model_fields)))
        if unknown:
            raise PydanticCustomError(
                "depthhand_unknown",
                "{text}",
                {"text": f"unknown field(s) {unknown}; expected {sorted(cls.model_fields)}"},
            )
        return data


Fingers = Annotated[
    list[Literal["thumb", "index", "middle", "ring", "pinky"]],
    _check(
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, str) and x in FINGER_NAMES for x in v),
        lambda v: f"a non-empty list of finger names from {list(FINGER_NAMES)}",
    ),
    Field(min_length=1),
]
Coordinate = Annotated[float, Field(ge=-10000, le=10000)]
Vec3Mm = Annotated[
    list[Coordinate],
    _check(lambda v: isinstance(v, list) and len(v) == 3, lambda v: "a list of 3 numbers (mm)"),
    Field(min_length=3, max_length=3),
]
RecordingAction = Annotated[
    Literal["start", "stop"],
    _check(
        lambda v: isinstance(v, str) and v in RECORDING_ACTIONS,
        lambda v: f"one of {list(RECORDING_ACTIONS)}, got {_short(v)}",
    ),
]
RecordingPath = Annotated[
    str,
    _check(lambda v: isinstance(v, str) and len(v) <= 500, lambda v: "a string of at most 500 characters"),
    Field(max_length=500),
]


class TouchBody(Body):
    """Touch / hover thresholds (heights above the table plane); the absent ones keep their value."""

    hover_enter_mm: float = absent(ge=0, le=1000, description="start hovering below, mm")
    hover_exit_mm: float = absent(ge=0, le=1000, description="stop hovering at or above, mm")
    touch_enter_mm: float = absent(ge=0, le=1000, description="touch starts below, mm")
    touch_exit_mm: float = absent(ge=0, le=1000, description="touch ends above, mm")
    touch_debounce_frames: int = absent(ge=1, le=30, description="frames below touch_enter_mm")
    lost_frames: int = absent(ge=0, le=300, description="frames a lost hand keeps its contacts")
    fingers: Fingers = absent(description="fingers that can touch")
    height_smoothing: float = absent(ge=0.01, le=1, description="EMA weight of a new height")
    rule: Literal["pose", "pixels", "fused"] = absent(
        description="what decides contact: the fingertip joint's height (pose), the depth pixels (pixels) or both "
        "filtered (fused)"
    )


class PinchBody(Body):
    """Pinch thresholds (thumb–index distance, mm); the absent ones keep their value."""

    start_mm: float = absent(ge=1, le=500, description="pinch starts below, mm")
    end_mm: float = absent(ge=1, le=500, description="pinch ends above, mm")
    zero_strength_mm: float = absent(ge=1, le=1000, description="strength 0 at, mm")
    lost_frames: int = absent(ge=0, le=300, description="frames a lost hand keeps its pinch")


class ConfigBody(Body):
    """``PUT /api/config``: the settings to change (cross-field rules such as enter < exit are checked too)."""

    touch: TouchBody = absent()
    pinch: PinchBody = absent()


class PlaneBody(Body):
    """``POST /api/calibration/plane`` (keep the table clear)."""

    frames: int = Field(15, ge=1, le=300, description="background frames to fit")


class SessionBody(Body):
    """``POST /api/calibration/session``: the projector image and the target grid."""

    width: int = Field(ge=64, le=16384, description="projector width, px")
    height: int = Field(ge=64, le=16384, description="projector height, px")
    rows: int = Field(3, ge=2, le=8)
    cols: int = Field(3, ge=2, le=8)


class PointBody(Body):
    """``POST /api/calibration/points``: the fingertip touching target ``index`` (the next one)."""

    index: int = Field(ge=0, le=63, description="target index")
    xyz_mm: Vec3Mm = Field(description="fingertip, camera mm")


class RecordingBody(Body):
    """``POST /api/recording``."""

    action: RecordingAction
    path: RecordingPath = absent(description="where to record: a relative path inside the data directory")


# ----------------------------------------------------------------------------------------------------- responses
class Open(BaseModel):
    """A response object that may carry more keys than listed."""

    model_config = ConfigDict(extra="allow", json_schema_extra=drop_null_defaults)


class ErrorOut(BaseModel):
    """Every 4xx / 5xx answer of ``/api/``."""

    error: str = Field(description="what was wrong, naming the field and what was expected")


class QueuedOut(BaseModel):
    """A command handed to the pipeline (applied on its next frame)."""

    queued: bool


class SourceOut(Open):
    """The source's state and counters."""

    url: str
    kind: str = absent(description="sensor, file or scene")
    state: str = absent(description="starting, running, reconnecting, ended, failed or stopped")
    ended: bool = absent()
    last_error: str = absent()


class StatusOut(Open):
    """``GET /api/status``."""

    source: SourceOut
    fps: float = Field(description="frames of the last 2 s, per second (0 when stale)")
    mode: str = Field(description="embedded, worker or web")
    clients: dict[str, int] = Field(description="this process's WebSocket clients and their counters")
    waiting: bool = absent(description="the pipeline has not published a status yet")
    stale: bool = absent(description="the status is older than 3 s (the pipeline stopped publishing)")
    latency_ms: dict[str, float] = absent(description="mean per-stage time of the last 0.5 s, ms")
    frames: int = absent()
    seq: int = absent()
    errors: int = absent(description="frames that failed")
    last_error: str = absent()
    publish_skipped: int = absent()
    uptime_s: float = absent()
    updated_us: int = absent()
    recording: dict[str, Any] = absent()
    plane_fit: dict[str, Any] | None = absent()
    outputs: dict[str, dict[str, Any]] = absent(description="UDP outputs (--osc, --tuio) and their counters")
    ended: bool = absent()


class TouchConfigOut(Open):
    """The touch settings in force."""

    hover_enter_mm: float
    hover_exit_mm: float
    touch_enter_mm: float
    touch_exit_mm: float
    touch_debounce_frames: int
    lost_frames: int
    fingers: list[str]
    height_smoothing: float


class PinchConfigOut(Open):
    """The pinch settings in force."""

    start_mm: float
    end_mm: float
    zero_strength_mm: float
    lost_frames: int


class ConfigOut(BaseModel):
    """``GET /api/config`` (empty until the pipeline published its settings)."""

    model_config = ConfigDict(json_schema_extra=drop_null_defaults)

    touch: TouchConfigOut = absent()
    pinch: PinchConfigOut = absent()


class ConfigQueuedOut(QueuedOut):
    """``PUT /api/config``: queued, and the settings once applied."""

    config: dict[str, dict[str, Any]]


class CalibrationFileOut(Open):
    """The stored calibration (``calibration.json``)."""

    format: str
    version: int
    created_utc: str
    projector: dict[str, int]
    plane: list[float] | None = Field(description="[nx, ny, nz, d]: unit normal and offset, camera mm")
    plane_rms_mm: float | None
    H: list[float] | None = Field(description="3×3 homography camera-plane → projector px, row-major")
    P: list[float] | None = Field(description="3×4 projection camera mm → projector px, row-major")
    errors: dict[str, dict[str, float]]
    points: list[dict[str, list[float]]]


class CalibrationOut(BaseModel):
    """``GET /api/calibration``."""

    calibration: CalibrationFileOut | None


class SessionOut(Open):
    """The calibration session."""

    active: bool
    width: int = absent()
    height: int = absent()
    targets: list[list[float]] = absent(description="target centres, projector px")
    points: list[dict[str, Any]] = absent(description="touched targets: index, target_px, xyz_mm")
    solved: bool = absent()


class SolveOut(BaseModel):
    """``POST /api/calibration/solve``."""

    calibration: CalibrationFileOut
    errors: dict[str, dict[str, float]]


# ----------------------------------------------------------------------------------------------------- errors
def _path(loc: Sequence[int | str], where: str) -> str:
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def error_message(error: ErrorDetails, where: str = "body") -> str:
    """One pydantic error as ``PATH must be EXPECTED, got VALUE`` (``PATH``: ``where`` and the error's location)."""
    path = _path(error["loc"], where)
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "depthhand_unknown":
        return f"{path}: {ctx['text']}"
    if kind == "depthhand_expected":
        return f"{path} must be {ctx['text']}"
    if kind == "depthhand_object":
        return f"{path} must be a JSON object"
    if kind == "missing":
        return f"{path} is required"
    if kind == "int_type":
        return f"{path} must be an integer, got {_short(value)}"
    if kind == "float_type":
        return f"{path} must be a number, got {_short(value)}"
    if kind == "finite_number":
        return f"{path} must be finite"
    if kind == "greater_than_equal":
        return f"{path} must be ≥ {_bound(ctx['ge'])}, got {_short(value)}"
    if kind == "less_than_equal":
        return f"{path} must be ≤ {_bound(ctx['le'])}, got {_short(value)}"
    return f"{path}: {error['msg']}, got {_short(value)}"  # a check without a message of its own (none today)
