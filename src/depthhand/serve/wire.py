"""The ``/ws/hands`` messages as pydantic models: they describe and validate, the encoders stay where they are.

The server writes its messages with the encoders of :mod:`depthhand.interact.schema` (``hello``, ``frame``, events,
``depth``, ``source``; the frame's hands are :meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>`)
and the consumer's own (``pong``, ``error``, the ``hello`` while the pipeline has not started, and the ``flow`` and
``t_relay_us`` it adds). These models are the contract those messages keep: every object is closed (no key beyond
those listed), numbers are JSON numbers (``null`` where the value was not finite), and keys a message carries only
sometimes (``fingers``, ``pinch``, ``joints_projector_px`` without an interaction engine; ``error``) may be absent
but are never ``null`` unless said. :func:`ws_json_schema` is their JSON Schema (served at ``/api/schema/ws.json``);
:func:`validate_message` checks one message as sent.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

from depthhand.interact.schema import SCHEMA_VERSION

Num = float | None
"""A rounded number; ``null`` when it was not finite."""
Vec2 = Annotated[list[Num], Field(min_length=2, max_length=2)]
Vec3 = Annotated[list[Num], Field(min_length=3, max_length=3)]
FingerName = Literal["thumb", "index", "middle", "ring", "pinky"]
Version = Literal[2]
EVENT_TYPES = (
    "hover_enter",
    "hover_move",
    "hover_leave",
    "touch_down",
    "touch_move",
    "touch_up",
    "pinch_start",
    "pinch_end",
)


def drop_null_defaults(schema: dict[str, Any]) -> None:
    """A key that may be absent has no ``"default": null`` in its model's JSON Schema (absent is not ``null``)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def absent(**constraints: Any) -> Any:
    """A field that may be absent, but is never ``null`` when present (``None`` in Python when absent).

    Args:
        constraints: ``pydantic.Field`` arguments (bounds, description).
    """
    return Field(None, **constraints)


class Wire(BaseModel):
    """A closed JSON object of the wire."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=drop_null_defaults)


# ----------------------------------------------------------------------------------------------------- hello
class Skeleton(Wire):
    """The joint set of the poses: names, bones (index pairs) and the fingertip of each finger."""

    name: str
    joints: list[str]
    bones: list[Annotated[list[int], Field(min_length=2, max_length=2)]]
    tips: dict[FingerName, int]


class Sensor(Wire):
    """The depth camera's pinhole intrinsics (px) and depth unit (mm)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    depth_unit_mm: float


class Projector(Wire):
    """Projector image size, px."""

    width: int
    height: int


class CalibrationSummary(Wire):
    """The installation's calibration: table plane, homography, projection, reprojection errors."""

    plane: Annotated[list[float], Field(min_length=4, max_length=4)] | None = Field(
        description="[nx, ny, nz, d]: unit normal and offset, camera mm"
    )
    H: Annotated[list[float], Field(min_length=9, max_length=9)] | None = Field(description="3×3, row-major")
    P: Annotated[list[float], Field(min_length=12, max_length=12)] | None = Field(description="3×4, row-major")
    projector: Projector
    errors: dict[str, dict[str, float]]
    created_utc: str


class SourceState(Wire):
    """What the source is doing (``/api/status`` has all its counters)."""

    url: str
    kind: Literal["sensor", "file", "scene"] = absent()
    state: Literal["starting", "running", "reconnecting", "ended", "failed", "stopped"] = absent()
    ended: bool = absent()
    last_error: str = absent()


class Flow(Wire):
    """This connection's flow control (``?flow=ack``: acknowledge frames, at most ``window`` unacknowledged)."""

    ack: bool
    window: int = Field(ge=1)
    ack_every: int = Field(ge=1)
    mode: Literal["ack", "latest"]


class Hello(Wire):
    """The first message of every connection."""

    type: Literal["hello"]
    v: Version
    units: Literal["mm"]
    frame: Literal["camera"]
    axes: Literal["x_right,y_down,z_forward"]
    skeleton: Skeleton
    sensor: Sensor | None = Field(description="null until the camera is known")
    calibration: CalibrationSummary | None
    fps: float = Field(description="nominal frame rate")
    source: SourceState
    flow: Flow


class HelloWaiting(Wire):
    """The first message while the pipeline has not published its ``hello`` yet (a full one follows)."""

    type: Literal["hello"]
    v: Version
    waiting: Literal[True]
    flow: Flow


# ----------------------------------------------------------------------------------------------------- frames
class FingerReading(Wire):
    """One fingertip against the table."""

    state: Literal["none", "hover", "touch"]
    height_mm: Num
    projector_px: Vec2 | None = Field(description="null without a projector calibration")
    projector_uv: Vec2 | None = Field(description="projector px / projector size; null without a calibration")
    contact_id: int = Field(ge=0, description="shared by the down … up of one contact; 0 when none")


class Pinch(Wire):
    """The thumb–index pinch of a hand."""

    active: bool
    strength: Num = Field(description="0 (open) … 1 (closed)")
    distance_mm: Num


class Hand(Wire):
    """A tracked hand: :meth:`TrackedHand.to_dict <depthhand.structures.TrackedHand.to_dict>` and its interaction."""

    track_id: int
    lost_frames: int = Field(ge=0)
    handedness: Literal["left", "right", "unknown"]
    score: Num
    joint_set: str
    joints_xyz_mm: list[Vec3] = Field(description="(J, 3) camera mm")
    joints_uvd: list[Vec3] = Field(description="(J, 3) image px and depth mm")
    confidence: list[Num]
    visible: list[bool]
    joints_projector_px: list[Vec2] | None = absent(description="(J, 2); null without a projector calibration")
    fingers: dict[FingerName, FingerReading] = absent()
    pinch: Pinch = absent()


class Frame(Wire):
    """One frame: the head, :meth:`FrameResult.to_dict <depthhand.structures.FrameResult.to_dict>`, the relay time."""

    type: Literal["frame"]
    v: Version
    seq: int = Field(ge=1, description="message sequence number (acknowledge it with ?flow=ack)")
    t_send_us: int = Field(description="the pipeline handed it to the server, µs since the epoch")
    frame_index: int
    timestamp_us: int = Field(description="capture time, µs")
    source: str
    hands: list[Hand]
    timings_ms: dict[str, Num]
    error: str = absent(description="why the frame has no hands (bad input); only when set")
    t_relay_us: int = Field(description="the server's consumer sent it, µs since the epoch")


class Event(Wire):
    """A touch, hover or pinch event."""

    type: Literal[
        "hover_enter", "hover_move", "hover_leave", "touch_down", "touch_move", "touch_up", "pinch_start", "pinch_end"
    ]
    event_id: int = Field(description="unique and increasing")
    contact_id: int
    track_id: int
    finger: FingerName
    timestamp_us: int
    xyz_mm: Vec3
    height_mm: Num
    projector_px: Vec2 | None
    projector_uv: Vec2 | None
    rule: Literal["pose", "pixels", "fused"] = Field(
        description="what decided the height: the fingertip joint above the plane, the depth pixels against the "
        "surface model, or both in a height filter (pixels and fused: a touch's xyz_mm is the contact blob's "
        "centroid on the plane when there is one)"
    )
    v: Version


class Source(Wire):
    """The source's state changed (ended, failed, reconnecting, running again)."""

    type: Literal["source"]
    v: Version
    source: SourceState


class Depth(Wire):
    """A low-rate depth preview."""

    type: Literal["depth"]
    v: Version
    seq: int
    timestamp_us: int = Field(description="capture time of the frame it shows, µs")
    png_b64: str = Field(pattern=r"^[A-Za-z0-9+/]*={0,2}$", description="8-bit PNG, base64")


class Pong(Wire):
    """The answer to a client's ``ping``."""

    type: Literal["pong"]
    t_us: int


class Error(Wire):
    """A refused connection request (then the socket closes with 4400)."""

    type: Literal["error"]
    error: str


class Ack(Wire):
    """Client → server: frames up to ``seq`` arrived (``?flow=ack``)."""

    type: Literal["ack"]
    seq: int


class Ping(Wire):
    """Client → server: answered with ``pong``."""

    type: Literal["ping"]


def _tag(message: Any) -> str | None:
    if not isinstance(message, dict):
        return None
    kind = message.get("type")
    if kind == "hello" and "waiting" in message:
        return "hello_waiting"
    return "event" if kind in EVENT_TYPES else kind if isinstance(kind, str) else None


ServerMessage = Annotated[
    Annotated[Hello, Tag("hello")]
    | Annotated[HelloWaiting, Tag("hello_waiting")]
    | Annotated[Frame, Tag("frame")]
    | Annotated[Event, Tag("event")]
    | Annotated[Source, Tag("source")]
    | Annotated[Depth, Tag("depth")]
    | Annotated[Pong, Tag("pong")]
    | Annotated[Error, Tag("error")],
    Discriminator(_tag),
]
"""Any message the server sends on ``/ws/hands``."""


@cache
def _server_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(ServerMessage)


def validate_message(text: str | bytes) -> BaseModel:
    """One message as sent (JSON text), as its model.

    Raises:
        pydantic.ValidationError: Naming the key and what was expected.
    """
    model: BaseModel = _server_adapter().validate_json(text, strict=True)
    return model


@cache
def _schema() -> dict[str, Any]:
    schema = _server_adapter().json_schema()
    defs = schema.setdefault("$defs", {})
    for model in (Ack, Ping):
        defs[f"Client{model.__name__}"] = model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "depthhand /ws/hands messages",
        "description": f"Every message the server sends (schema version v={SCHEMA_VERSION}); the client's messages "
        "are $defs ClientAck and ClientPing. Coordinates: camera mm (x right, y down, z forward) unless the key names "
        "another frame (*_uvd image px and depth mm, *_projector_px projector px, *_projector_uv normalised).",
        **schema,
    }


def ws_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the server's messages (``oneOf``), the client's in ``$defs``."""
    import copy

    return copy.deepcopy(_schema())
