"""Typed, frozen records passed between the pipeline stages.

Every stage of depthhand (capture → detect → crop → pose → track → interact → serve) takes and returns these
types, never positional tuples. Coordinate names carry their frame and unit:

* ``*_xyz_mm``: camera frame, millimetres, x right, y down, z forward (the OpenCV convention).
* ``*_uvd``: image pixels (u right, v down) and depth in millimetres.
* ``*_crop``: cube-normalised coordinates in [-1, 1] relative to a :class:`HandCrop`.
* ``*_projector_px``: projector pixels (only where a projector calibration exists, see :mod:`depthhand.interact`).

JSON: :meth:`FrameResult.to_dict` is the one per-frame record of ``depthhand run`` (JSONL), ``depthhand predict``
(JSON) and ``depthhand serve`` (the ``frame`` message of ``/ws/hands`` wraps it). Precision: coordinates (mm, pixels)
to 0.01, confidences and scores to 0.001, timings to 0.001 ms, normalised projector coordinates to 0.0001
(:data:`COORD_DECIMALS`, :data:`SCORE_DECIMALS`, :data:`MS_DECIMALS`, :data:`UV_DECIMALS`, applied by
:func:`json_floats`); a non-finite number is written as ``null``, so every record is strict JSON.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.skeleton import JointSet

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

MAX_FOCAL_PX = 1e5
"""Upper bound of a focal length, px: larger values are typos (100 000 px is a 0.4° field of view at 640 px)."""


COORD_DECIMALS = 2
"""Decimals of every coordinate in JSON records: mm, image and projector pixels (0.01)."""
SCORE_DECIMALS = 3
"""Decimals of confidences and scores in [0, 1] in JSON records (0.001)."""
MS_DECIMALS = 3
"""Decimals of stage timings in JSON records (0.001 ms)."""
UV_DECIMALS = 4
"""Decimals of normalised projector coordinates in [0, 1] (``projector_uv``) in JSON messages."""


def json_floats(values: npt.ArrayLike, decimals: int) -> Any:
    """Numbers (scalar or nested) rounded in float64 to ``decimals`` as plain JSON: lists, floats, ``None`` for NaN/inf.

    Args:
        values: A number or an array of any shape.
        decimals: Digits after the decimal point.

    Returns:
        A float (or ``None``) for a scalar, else nested lists of the array's shape.
    """
    arr = np.asarray(np.round(np.asarray(values, dtype=np.float64), decimals), dtype=np.float64)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    out = arr.astype(object)
    out[~finite] = None
    return out.tolist()


class Handedness(enum.Enum):
    """Which hand a detection or pose belongs to."""

    LEFT = "left"
    RIGHT = "right"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a depth camera.

    Attributes:
        fx: Focal length along u, pixels.
        fy: Focal length along v, pixels (positive; y points down in depthhand's camera frame).
        cx: Principal point u, pixels.
        cy: Principal point v, pixels.
        width: Image width, pixels.
        height: Image height, pixels.
        depth_unit_mm: Millimetres per raw depth unit of the sensor (1.0 for mm sensors, 0.125 for the SR305).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    depth_unit_mm: float = 1.0

    def __post_init__(self) -> None:
        for name in ("fx", "fy"):
            value = _as_float(self, name)
            if not (math.isfinite(value) and 0 < value < MAX_FOCAL_PX):
                raise ValueError(
                    f"CameraIntrinsics.{name} must be a finite focal length in (0, {MAX_FOCAL_PX:g}) px, got {value}"
                )
        for name in ("cx", "cy"):
            value = _as_float(self, name)
            if not math.isfinite(value):
                raise ValueError(f"CameraIntrinsics.{name} must be a finite principal point in px, got {value}")
        for name in ("width", "height"):
            size = _as_float(self, name)
            if not (math.isfinite(size) and size.is_integer() and size > 0):
                raise ValueError(f"CameraIntrinsics.{name} must be a positive whole number of px, got {size}")
            object.__setattr__(self, name, int(size))
        unit = _as_float(self, "depth_unit_mm")
        if not (math.isfinite(unit) and unit > 0):
            raise ValueError(f"CameraIntrinsics.depth_unit_mm must be a positive finite mm per raw unit, got {unit}")

    @property
    def matrix(self) -> Float64Array:
        """The 3×3 camera matrix K (float64)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=np.float64)

    def scaled(self, factor: float) -> CameraIntrinsics:
        """Intrinsics of the same camera with the image resized by ``factor`` (pixel-centre convention)."""
        return CameraIntrinsics(
            fx=self.fx * factor,
            fy=self.fy * factor,
            cx=(self.cx + 0.5) * factor - 0.5,
            cy=(self.cy + 0.5) * factor - 0.5,
            width=round(self.width * factor),
            height=round(self.height * factor),
            depth_unit_mm=self.depth_unit_mm,
        )

    def to_dict(self) -> dict[str, float | int]:
        """Plain-JSON form."""
        return {
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "width": self.width,
            "height": self.height,
            "depth_unit_mm": self.depth_unit_mm,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraIntrinsics:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: Naming a missing field, a field that is not a number, or a value :class:`CameraIntrinsics`
                refuses (see its checks).
        """
        if not isinstance(data, dict):
            raise ValueError(f"intrinsics must be a JSON object with {', '.join(_FIELDS)}, got {type(data).__name__}")
        missing = [k for k in _FIELDS if k not in data]
        if missing:
            raise ValueError(f"intrinsics are missing field(s) {missing}; expected {', '.join(_FIELDS)}")
        values: dict[str, Any] = {}
        for key in (*_FIELDS, "depth_unit_mm"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                    raise ValueError(f"intrinsics field {key!r} must be a number, got {value!r}")
                values[key] = value if key in ("width", "height") else float(value)
        return cls(**values)


_FIELDS = ("fx", "fy", "cx", "cy", "width", "height")


def _as_float(obj: object, name: str) -> float:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{type(obj).__name__}.{name} must be a number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True, eq=False)
class DepthFrame:
    """One depth image in millimetres.

    Attributes:
        depth_mm: (H, W) float32 depth in mm; 0 marks an invalid pixel.
        intrinsics: The camera that took it; ``(height, width)`` must match ``depth_mm``.
        timestamp_us: Capture time in microseconds (sensor or host clock, monotonic per source).
        source_id: Where it came from (URL of the source, dataset name and frame, ...).
        index: Frame number within the source.
    """

    depth_mm: FloatArray
    intrinsics: CameraIntrinsics
    timestamp_us: int = 0
    source_id: str = ""
    index: int = 0

    def __post_init__(self) -> None:
        depth = self.depth_mm
        if not isinstance(depth, np.ndarray) or depth.ndim != 2:
            shape = getattr(depth, "shape", type(depth).__name__)
            raise ValueError(f"DepthFrame.depth_mm must be a 2-D (H, W) array in mm, got {shape}")
        if depth.dtype != np.float32:
            raise ValueError(f"DepthFrame.depth_mm must be float32 mm, got {depth.dtype}; use DepthFrame.from_raw()")
        expected = (self.intrinsics.height, self.intrinsics.width)
        if depth.shape != expected:
            raise ValueError(f"DepthFrame.depth_mm has shape {depth.shape}, intrinsics expect {expected} (H, W)")

    @classmethod
    def from_raw(
        cls,
        raw: npt.NDArray[Any],
        intrinsics: CameraIntrinsics,
        timestamp_us: int = 0,
        source_id: str = "",
        index: int = 0,
        max_depth_mm: float = 10_000.0,
    ) -> DepthFrame:
        """Build a frame from raw sensor units, cleaning invalid values.

        Raw values are multiplied by ``intrinsics.depth_unit_mm``; NaN, infinite, negative and values beyond
        ``max_depth_mm`` become 0 (invalid).

        Args:
            raw: (H, W) integer or float depth in sensor units.
            intrinsics: The camera.
            timestamp_us: Capture time, µs.
            source_id: Origin of the frame.
            index: Frame number.
            max_depth_mm: Depths beyond this are treated as invalid.

        Raises:
            ValueError: If ``raw`` is not a 2-D numeric array of the intrinsics' size.
        """
        arr = np.asarray(raw)
        if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"raw depth must be a 2-D numeric (H, W) array, got shape {arr.shape} dtype {arr.dtype}")
        depth = arr.astype(np.float32) * np.float32(intrinsics.depth_unit_mm)
        bad = ~np.isfinite(depth) | (depth < 0) | (depth > max_depth_mm)
        if bad.any():
            depth[bad] = 0.0
        return cls(depth, intrinsics, timestamp_us=timestamp_us, source_id=source_id, index=index)

    @property
    def valid_mask(self) -> npt.NDArray[np.bool_]:
        """(H, W) True where the depth is valid (> 0)."""
        return self.depth_mm > 0


@dataclass(frozen=True, slots=True, eq=False)
class HandBox:
    """A detected hand in one frame.

    Attributes:
        center_uvd: (3,) hand centre: pixels u, v and depth in mm.
        center_xyz_mm: (3,) the same centre in camera mm.
        box_xyxy: (4,) image box (u0, v0, u1, v1), pixels.
        score: Detection confidence in [0, 1].
        handedness: Left / right / unknown.
    """

    center_uvd: FloatArray
    center_xyz_mm: FloatArray
    box_xyxy: FloatArray
    score: float = 1.0
    handedness: Handedness = Handedness.UNKNOWN


@dataclass(frozen=True, slots=True, eq=False)
class HandCrop:
    """A metric cube around a hand and the 2-D transform from the image to the crop.

    Attributes:
        center_xyz_mm: (3,) cube centre in camera mm.
        cube_mm: (3,) cube size (x, y, z) in mm, e.g. (250, 250, 250).
        image_to_crop: (3, 3) float64 affine that maps homogeneous image pixels (u, v, 1) to crop pixels.
        crop_size: Side of the square crop, pixels (e.g. 96 or 128).
    """

    center_xyz_mm: Float64Array
    cube_mm: Float64Array
    image_to_crop: Float64Array
    crop_size: int
    _crop_to_image: Float64Array | None = field(default=None, init=False, repr=False)

    @property
    def crop_to_image(self) -> Float64Array:
        """(3, 3) inverse of :attr:`image_to_crop` (computed on first use, then kept: a crop is never changed)."""
        if self._crop_to_image is None:
            inv: Float64Array = np.linalg.inv(self.image_to_crop).astype(np.float64)
            object.__setattr__(self, "_crop_to_image", inv)
            return inv
        return self._crop_to_image


@dataclass(frozen=True, slots=True, eq=False)
class HandPose:
    """3-D joints of one hand.

    Attributes:
        joints_xyz_mm: (J, 3) float32 joints in camera mm (y down).
        joints_uvd: (J, 3) float32 joints in image pixels and depth mm.
        joint_set: The skeleton the joints follow (names, bones).
        confidence: (J,) per-joint confidence in [0, 1]; ones if unknown.
        handedness: Left / right / unknown.
        score: Overall score of the hand in [0, 1].
        visible: (J,) per-joint visibility (True when unknown).
    """

    joints_xyz_mm: FloatArray
    joints_uvd: FloatArray
    joint_set: JointSet
    confidence: FloatArray = field(default_factory=lambda: np.zeros(0, np.float32))
    handedness: Handedness = Handedness.UNKNOWN
    score: float = 1.0
    visible: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))

    def __post_init__(self) -> None:
        n = self.joint_set.num_joints
        for name in ("joints_xyz_mm", "joints_uvd"):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != (n, 3):
                shape = getattr(arr, "shape", type(arr).__name__)
                raise ValueError(f"HandPose.{name} must be ({n}, 3) for {self.joint_set.name}, got {shape}")
        if self.confidence.size == 0:
            object.__setattr__(self, "confidence", np.ones(n, np.float32))
        if self.visible.size == 0:
            object.__setattr__(self, "visible", np.ones(n, bool))
        if self.confidence.shape != (n,) or self.visible.shape != (n,):
            raise ValueError(
                f"HandPose.confidence and .visible must be ({n},), got {self.confidence.shape} and {self.visible.shape}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The pose part of a hand in a JSON record (see :meth:`FrameResult.to_dict`)."""
        return {
            "handedness": self.handedness.value,
            "score": json_floats(self.score, SCORE_DECIMALS),
            "joint_set": self.joint_set.name,
            "joints_xyz_mm": json_floats(self.joints_xyz_mm, COORD_DECIMALS),
            "joints_uvd": json_floats(self.joints_uvd, COORD_DECIMALS),
            "confidence": json_floats(self.confidence, SCORE_DECIMALS),
            "visible": self.visible.astype(bool).tolist(),
        }


@dataclass(frozen=True, slots=True, eq=False)
class TrackedHand:
    """A hand followed over time.

    Attributes:
        track_id: Stable id while the hand stays in view (ids are never reused within a run).
        pose: The (smoothed) pose in this frame.
        box: The detection it was matched to this frame, or ``None`` if coasting.
        age_frames: Frames since the track started.
        lost_frames: Consecutive frames without a matching detection (0 when seen this frame).
    """

    track_id: int
    pose: HandPose
    box: HandBox | None = None
    age_frames: int = 0
    lost_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        """One hand of a JSON record: ``track_id``, ``lost_frames`` and the pose (:meth:`HandPose.to_dict`)."""
        return {"track_id": self.track_id, "lost_frames": self.lost_frames, **self.pose.to_dict()}


@dataclass(frozen=True, slots=True, eq=False)
class FrameResult:
    """Everything the live pipeline produced for one frame.

    Attributes:
        frame_index: Index of the frame within its source.
        timestamp_us: Capture time of the frame, µs.
        hands: The tracked hands.
        timings_ms: Per-stage wall time (``capture``, ``detect``, ``crop``, ``pose``, ``track``, ``total``), ms.
        source_id: The source the frame came from.
        intrinsics: The camera of the frame.
        error: Why the frame produced no hands when it was rejected (bad input), else empty.
    """

    frame_index: int
    timestamp_us: int
    hands: tuple[TrackedHand, ...]
    timings_ms: dict[str, float]
    source_id: str = ""
    intrinsics: CameraIntrinsics | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The one JSON record of a frame: ``depthhand run`` (JSONL), ``predict`` and the wire's ``frame`` message.

        Keys: ``frame_index``, ``timestamp_us``, ``source``, ``hands`` (each ``track_id``, ``lost_frames``,
        ``handedness``, ``score``, ``joint_set``, ``joints_xyz_mm`` (J, 3) camera mm, ``joints_uvd`` (J, 3) image
        pixels and depth mm, ``confidence`` (J,), ``visible`` (J,)), ``timings_ms`` and ``error`` (only when set).
        Joint names are those of ``joint_set`` (:mod:`depthhand.skeleton`; also in the JSONL header and the wire's
        ``hello``). Precision and non-finite values: see the module docstring.
        """
        record: dict[str, Any] = {
            "frame_index": int(self.frame_index),
            "timestamp_us": int(self.timestamp_us),
            "source": self.source_id,
            "hands": [h.to_dict() for h in self.hands],
            "timings_ms": {k: json_floats(v, MS_DECIMALS) for k, v in self.timings_ms.items()},
        }
        if self.error:
            record["error"] = self.error
        return record
