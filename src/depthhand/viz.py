"""Depth + skeleton overlays with OpenCV (the live window, ``--overlay`` PNGs of ``run`` and ``predict``).

Pure functions that return BGR uint8 images; nothing here opens a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.structures import Handedness, HandPose, TrackedHand

U8 = npt.NDArray[np.uint8]
_HAND_COLOURS = ((80, 220, 80), (80, 160, 255), (255, 140, 60), (220, 80, 220))


def colorize_depth(depth_mm: npt.NDArray[np.floating], near_mm: float | None = None, far_mm: float | None = None) -> U8:
    """(H, W) depth → (H, W, 3) BGR: near bright, far dark, invalid black.

    Args:
        depth_mm: Depth in mm, 0 = invalid.
        near_mm: Depth mapped to the brightest colour (default: 2nd percentile of valid depths).
        far_mm: Depth mapped to the darkest colour (default: 98th percentile).
    """
    depth = np.asarray(depth_mm, np.float32)
    valid = depth > 0
    if not valid.any():
        return np.zeros((*depth.shape, 3), np.uint8)
    lo = float(np.percentile(depth[valid], 2)) if near_mm is None else near_mm
    hi = float(np.percentile(depth[valid], 98)) if far_mm is None else far_mm
    scaled = np.clip((hi - depth) / max(hi - lo, 1.0), 0.0, 1.0)
    img = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    img[~valid] = 0
    out: U8 = img
    return out


def draw_pose(image: U8, pose: HandPose, colour: tuple[int, int, int], label: str = "") -> None:
    """Draw one hand's bones, joints and label on ``image`` in place (joints from ``pose.joints_uvd``)."""
    uv = pose.joints_uvd[:, :2]
    if not np.isfinite(uv).all():
        return
    pts = np.rint(uv).astype(int)
    for a, b in pose.joint_set.bones:
        cv2.line(image, tuple(pts[a]), tuple(pts[b]), colour, 2, cv2.LINE_AA)
    for p in pts:
        cv2.circle(image, tuple(p), 3, (255, 255, 255), -1, cv2.LINE_AA)
    if label:
        top = pts[np.argmin(pts[:, 1])]
        cv2.putText(image, label, (int(top[0]) + 6, int(top[1]) - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)


def draw_overlay(
    depth_mm: npt.NDArray[np.floating],
    hands: Sequence[TrackedHand | HandPose],
    timings_ms: Mapping[str, float] | None = None,
    fps: float | None = None,
) -> U8:
    """Colourised depth with each hand's skeleton, id and handedness, fps and per-stage timings.

    Args:
        depth_mm: (H, W) depth, mm.
        hands: Tracked hands (labelled ``#id L/R``) or bare poses.
        timings_ms: Per-stage times to print, ms.
        fps: Frame rate to print.

    Returns:
        (H, W, 3) BGR uint8 image.
    """
    image = colorize_depth(depth_mm)
    for i, hand in enumerate(hands):
        pose: HandPose = hand.pose if isinstance(hand, TrackedHand) else hand
        tid = hand.track_id if isinstance(hand, TrackedHand) else i
        side = {Handedness.LEFT: "L", Handedness.RIGHT: "R"}.get(pose.handedness, "?")
        draw_pose(image, pose, _HAND_COLOURS[tid % len(_HAND_COLOURS)], f"#{tid} {side}")
    lines = []
    if fps is not None:
        lines.append(f"{fps:5.1f} fps")
    if timings_ms:
        lines.append(" ".join(f"{k} {v:.1f}" for k, v in timings_ms.items()) + " ms")
    for row, text in enumerate(lines):
        cv2.putText(image, text, (8, 18 + 18 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def write_png(path: str | Path, image: U8) -> Path:
    """Write an image as PNG atomically (temporary file, then rename)."""
    path = Path(path)
    with atomic.atomic_path(path, suffix=".png") as tmp:  # cv2 picks the codec from the suffix: always PNG
        if not cv2.imwrite(str(tmp), image):
            raise ValueError(f"{path}: could not write the PNG (is the folder writable?)")
    return path
