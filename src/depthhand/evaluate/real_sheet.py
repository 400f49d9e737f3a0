"""Contact sheet of the label-free real-frame checks: one tile per frame (OpenCV, BGR uint8).

Each tile is the track hand's crop window (:attr:`~depthhand.evaluate.real_checks.HandMask.window_xyxy`, widened to
every joint's pixel), its depth colourised over the hand's own depth range, the hand pixels outlined in white, the
projected skeleton, and each joint marked: green dot = on hand pixels, red cross = off them, yellow ring = more than
10 mm in front of the observed surface (implausible). A frame without a hand shows the whole frame, marked "no hand".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.evaluate import real_checks as rc
from depthhand.evaluate.real_sequence import FrameCheck, SequenceChecks

U8 = npt.NDArray[np.uint8]
GREEN, RED, YELLOW, WHITE, BONE = (60, 220, 60), (40, 40, 255), (0, 230, 255), (255, 255, 255), (235, 200, 120)


def frame_tile(check: FrameCheck, size: int = 256) -> U8:
    """(size, size, 3) BGR tile of one frame (module docstring)."""
    import cv2

    from depthhand.viz import colorize_depth

    depth = check.frame.depth_mm
    hand, mask = check.hand, check.mask
    if hand is None or mask is None or mask.pixels == 0:
        tile = cv2.resize(colorize_depth(depth), (size, size * depth.shape[0] // depth.shape[1]))
        out = np.zeros((size, size, 3), np.uint8)
        out[: tile.shape[0]] = tile
        _text(out, f"{check.name}: no hand", (6, size - 8), RED)
        return out
    # the view: a square around the crop window and every joint (joints off the window stay visible)
    joints_uv = np.asarray(hand.pose.joints_uvd, np.float64)[:, :2]
    lo, hi = mask.window_xyxy[:2].astype(np.float64), mask.window_xyxy[2:].astype(np.float64)
    if np.isfinite(joints_uv).all():
        lo, hi = np.minimum(lo, joints_uv.min(axis=0) - 12), np.maximum(hi, joints_uv.max(axis=0) + 12)
    side = int(np.ceil(max(hi - lo)))
    u0, v0 = (int(np.floor(x)) for x in (lo + hi - side) / 2)
    scale = size / side
    near = float(np.percentile(depth[mask.mask], 1))
    view = _window(depth, u0, v0, side)
    coloured = colorize_depth(view, near - 10.0, near + 250.0)
    out = np.asarray(cv2.resize(coloured, (size, size), interpolation=cv2.INTER_NEAREST), np.uint8)
    big = cv2.resize(_window(mask.mask.astype(np.uint8), u0, v0, side), (size, size), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, WHITE, 1, cv2.LINE_AA)
    uv = (joints_uv - [u0, v0] + 0.5) * scale
    if np.isfinite(uv).all():
        pts = np.rint(uv).astype(int)
        for a, b in hand.pose.joint_set.bones:
            cv2.line(out, tuple(pts[a]), tuple(pts[b]), BONE, 2, cv2.LINE_AA)
        for p, on, off_mm in zip(pts, check.on_hand, check.offsets_mm, strict=True):
            if on:
                cv2.circle(out, tuple(p), 4, GREEN, -1, cv2.LINE_AA)
            else:
                cv2.drawMarker(out, tuple(p), RED, cv2.MARKER_TILTED_CROSS, 10, 2, cv2.LINE_AA)
            if np.isfinite(off_mm) and off_mm < -rc.FRONT_MM:
                cv2.circle(out, tuple(p), 8, YELLOW, 2, cv2.LINE_AA)
    n_on, n = int(check.on_hand.sum()), len(check.on_hand)
    res = float(check.residuals_mm.mean()) if check.residuals_mm.size else float("nan")
    _text(out, f"{check.name}: {n_on}/{n} on hand, res {res:.1f} mm", (6, size - 8), WHITE)
    return out


def contact_sheet(checks: SequenceChecks, summary: dict[str, Any], columns: int = 4, tile: int = 256) -> U8:
    """All tiles of a sequence in a grid under a header with the sequence's figures and the legend.

    Args:
        checks: The sequence's checks (:func:`depthhand.evaluate.real_sequence.run_sequence`).
        summary: Its figures (:func:`depthhand.evaluate.real_sequence.summarise`).
        columns: Tiles per row.
        tile: Tile side, px.

    Returns:
        (H, W, 3) BGR uint8 image.
    """
    tiles = [frame_tile(f, tile) for f in checks.frames]
    rows = max(1, -(-len(tiles) // columns))
    header = 66
    sheet = np.full((header + rows * (tile + 4), columns * (tile + 4), 3), 24, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = header + r * (tile + 4), c * (tile + 4)
        sheet[y : y + tile, x : x + tile] = t
    s = summary
    lines = [
        f"{checks.sequence.name}: default pipeline (as depthhand predict); hand found {s['frames_with_hand']}/"
        f"{s['frames']}; joints on hand {100 * s.get('on_hand_fraction', float('nan')):.1f} %; "
        f"bones in range {100 * s.get('bones', {}).get('in_range_fraction', float('nan')):.1f} %",
        f"surface: front >10 mm {100 * s.get('surface', {}).get('all', {}).get('front_10mm', float('nan')):.1f} %, "
        f"behind >30 mm {100 * s.get('surface', {}).get('all', {}).get('behind_30mm', float('nan')):.1f} %; "
        f"capsule residual {s.get('residual', {}).get('mean_mm', float('nan')):.1f} mm",
    ]
    for k, line in enumerate(lines):
        _text(sheet, line, (6, 18 + 18 * k), WHITE)
    x = 6
    for colour, label in ((GREEN, "on hand"), (RED, "off hand"), (YELLOW, ">10 mm in front of surface")):
        _text(sheet, "o " + label, (x, 56), colour)
        x += 14 + 9 * (len(label) + 2)
    return sheet


def write_contact_sheet(path: str | Path, checks: SequenceChecks, summary: dict[str, Any]) -> Path:
    """Write :func:`contact_sheet` as a PNG (atomically, best compression; the folder is created)."""
    import cv2

    from depthhand.atomic import atomic_path

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = contact_sheet(checks, summary)
    with atomic_path(out, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise ValueError(f"{out}: could not write the PNG (is the folder writable?)")
    return out


def _window(image: npt.NDArray[Any], u0: int, v0: int, side: int) -> npt.NDArray[Any]:
    """The ``side`` × ``side`` window of ``image`` at column ``u0``, row ``v0``; zeros where it leaves the image."""
    out = np.zeros((side, side, *image.shape[2:]), image.dtype)
    h, w = image.shape[:2]
    a, b = max(0, v0), min(h, v0 + side)
    c, d = max(0, u0), min(w, u0 + side)
    if a < b and c < d:
        out[a - v0 : b - v0, c - u0 : d - u0] = image[a:b, c:d]
    return out


def _text(image: U8, text: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)
    cv2.rectangle(image, (org[0] - 3, org[1] - h - 3), (org[0] + w + 3, org[1] + base + 1), (0, 0, 0), -1)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv2.LINE_AA)
