"""Hand-labelled real depth frames: the one reader of box-label files.

A label file is JSON::

    {"description": "...",
     "frames": {"<name>": {"box_xyxy": [u0, v0, u1, v1],      # pixels, required
                           "center_uvd": [u, v, d_mm],        # optional, default: the box centre, depth unknown
                           "handedness": "right" | "left"}}}  # optional, default "right"

and frame ``<name>`` is ``frames_dir/<name>.png``: a 16-bit depth PNG in the camera's raw units (× the camera's
``depth_unit_mm``). Frames come back in frame order (numeric names by value).

The package ships the labels of the real SR305 desk sequence (``../shared/data/real/sr305-desk``) as
:data:`SR305_DESK_LABELS`, so benchmarks and scripts work from an installed package as from a checkout.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.structures import DepthFrame, Handedness

SR305_DESK_LABELS = Path(__file__).resolve().parent / "labels" / "sr305_desk_boxes.json"
"""Right-hand boxes of the 11 labelled frames of the real SR305 desk sequence."""

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LabelledFrame:
    """One real frame with one labelled hand.

    Attributes:
        name: The frame's name in the label file (its PNG's stem).
        frame: The depth frame, in mm, with the camera's intrinsics.
        box_xyxy: (4,) float64 box (u0, v0, u1, v1) in pixels.
        center_uv: (2,) float64 hand centre in pixels (the label's ``center_uvd`` or the box centre).
        center_depth_mm: The label's centre depth in mm, or None where the label has none.
        handedness: Which hand is labelled.
    """

    name: str
    frame: DepthFrame
    box_xyxy: F64
    center_uv: F64
    center_depth_mm: float | None
    handedness: Handedness


def _numbers(value: Any, n: int, where: str) -> F64:
    ok = isinstance(value, list) and len(value) == n
    ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in value)
    if not ok:
        raise ValueError(f"{where}: expected a list of {n} finite numbers, got {value!r}")
    return np.asarray(value, np.float64)


def _order(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)


def read_box_labels(labels_json: str | Path) -> dict[str, dict[str, Any]]:
    """The validated ``frames`` mapping of a label file, in frame order.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not JSON, or a field is missing or malformed (the message names the file, frame and field).
    """
    path = Path(labels_json)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, dict) or not frames:
        raise ValueError(f"{path}: expected an object with a non-empty 'frames' mapping")
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(frames, key=_order):
        lab = frames[name]
        where = f"{path}: frame {name!r}"
        if not isinstance(lab, dict) or "box_xyxy" not in lab:
            raise ValueError(f"{where} has no 'box_xyxy'")
        box = _numbers(lab["box_xyxy"], 4, f"{where} 'box_xyxy'")
        if not (box[0] < box[2] and box[1] < box[3]):
            raise ValueError(f"{where} 'box_xyxy': expected u0 < u1 and v0 < v1, got {lab['box_xyxy']}")
        hand = lab.get("handedness", "right")
        if hand not in ("right", "left"):
            raise ValueError(f"{where} 'handedness': expected 'right' or 'left', got {hand!r}")
        centre = _numbers(lab["center_uvd"], 3, f"{where} 'center_uvd'") if "center_uvd" in lab else None
        out[name] = {"box_xyxy": box, "center_uvd": centre, "handedness": Handedness(hand)}
    return out


def load_box_labels(
    labels_json: str | Path = SR305_DESK_LABELS, frames_dir: str | Path | None = None, camera: str = "sr305"
) -> list[LabelledFrame]:
    """The labelled frames of a label file, read with the named camera's intrinsics, in frame order.

    Args:
        labels_json: The label file (default: the shipped SR305 desk labels).
        frames_dir: Folder of ``<name>.png``; default ``<shared>/data/real/sr305-desk/frames``.
        camera: A key of :data:`depthhand.geometry.camera.INTRINSICS` (``"sr305"``, ``"nyu"``, …).

    Raises:
        ValueError: Unknown camera, or a malformed label file.
        FileNotFoundError: The label file, or a labelled frame's PNG, is missing or unreadable.
    """
    import cv2

    from depthhand.geometry.camera import INTRINSICS

    if camera not in INTRINSICS:
        raise ValueError(f"camera must be one of {sorted(INTRINSICS)}, got {camera!r}")
    if frames_dir is None:
        from depthhand.evaluate.protocols import resolve_shared_dir

        frames_dir = resolve_shared_dir() / "data" / "real" / "sr305-desk" / "frames"
    labels = read_box_labels(labels_json)
    out = []
    for name, lab in labels.items():
        png = Path(frames_dir) / f"{name}.png"
        raw = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FileNotFoundError(f"{labels_json}: frame {name!r} not found or unreadable at {png}")
        if raw.ndim != 2 or raw.dtype != np.uint16:
            raise ValueError(f"{png}: expected a single-channel 16-bit depth PNG, got {raw.dtype} {raw.shape}")
        frame = DepthFrame.from_raw(raw, INTRINSICS[camera], index=int(name) if name.isdigit() else 0)
        box, centre = lab["box_xyxy"], lab["center_uvd"]
        out.append(
            LabelledFrame(
                name=name,
                frame=frame,
                box_xyxy=box,
                center_uv=centre[:2].copy() if centre is not None else np.array([box[0] + box[2], box[1] + box[3]]) / 2,
                center_depth_mm=float(centre[2]) if centre is not None else None,
                handedness=lab["handedness"],
            )
        )
    return out
