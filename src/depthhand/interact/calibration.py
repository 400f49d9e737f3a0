"""Projector calibration: touched targets → homography / 3×4 projection → versioned, atomically written JSON.

The user touches targets the projector shows; each touch gives a fingertip in camera mm and the target's projector
pixel. For a flat table, :func:`solve_calibration` fits a homography from the plane-local (a, b) mm of the touches
(≥ 4) to projector pixels; with ≥ 6 points that are not coplanar (targets on a box, or touched at several heights)
it also fits a full 3×4 projection, which maps hovering fingertips correctly (reference §3).

File format (``"format": "depthhand-calibration", "version": 1``)::

    {"format": ..., "version": 1, "created_utc": "...", "projector": {"width": 1280, "height": 800},
     "plane": [nx, ny, nz, d] | null, "plane_rms_mm": float | null,
     "H": [9 floats] | null, "P": [12 floats] | null,
     "errors": {"H": {"rms_px", "mean_px", "max_px"}, "P": {...}},
     "points": [{"target_px": [x, y], "xyz_mm": [x, y, z]}, ...]}

Acceptance (:func:`solve_calibration`): the touches must spread at least :data:`MIN_SPREAD_MM` (standard deviation
along their second principal axis; a stuck finger gives a few tenths of a mm), and the mapping kept must reproject
its points with an RMS error of at most :data:`MAX_RMS_PX` pixels; otherwise :class:`CalibrationRejected` names the
problem. :func:`save_calibration` keeps the file it replaces as ``calibration.prev.json``, writes files ``0600``
and removes temporary files a killed write left behind.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.geometry.plane import Plane, plane_to_local
from depthhand.geometry.projector import (
    apply_homography,
    fit_homography,
    fit_projection,
    project_points,
    reprojection_errors,
)

FORMAT = "depthhand-calibration"
VERSION = 1
F64 = npt.NDArray[np.float64]
MAX_RMS_PX = 20.0
"""Largest accepted RMS reprojection error of a calibration, projector pixels (a fingertip is ≈ 15–30 px)."""
MIN_SPREAD_MM = 10.0
"""Smallest accepted spread of the touches (std along their second principal axis), mm."""
FILE_MODE = 0o600


class CalibrationRejected(ValueError):
    """A calibration was fitted but is not good enough to replace the stored one (degenerate or inaccurate)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Table plane and camera → projector mapping.

    Attributes:
        projector_size: Projector (width, height), pixels.
        plane: The table plane, or ``None`` before it was measured.
        homography: (3, 3) plane-local (a, b) mm → projector pixels, or ``None``.
        projection: (3, 4) camera mm → projector pixels, or ``None``.
        errors: Reprojection errors per mapping (``"H"``, ``"P"``) on the calibration points.
        points: The (target_px, xyz_mm) pairs used.
        plane_rms_mm: RMS residual of the plane fit, mm.
        created_utc: ISO timestamp.
    """

    projector_size: tuple[int, int] = (1280, 800)
    plane: Plane | None = None
    homography: F64 | None = None
    projection: F64 | None = None
    errors: dict[str, dict[str, float]] = field(default_factory=dict)
    points: tuple[tuple[tuple[float, float], tuple[float, float, float]], ...] = ()
    plane_rms_mm: float | None = None
    created_utc: str = ""

    @property
    def can_map(self) -> bool:
        """Whether camera points can be mapped to projector pixels."""
        return self.projection is not None or (self.homography is not None and self.plane is not None)

    def to_projector(self, points_xyz_mm: npt.ArrayLike) -> F64:
        """Camera points (..., 3) mm → projector pixels (..., 2); uses P when present, else H on the plane.

        Raises:
            ValueError: If the calibration has no mapping yet.
        """
        if self.projection is not None:
            return project_points(self.projection, points_xyz_mm)
        if self.homography is not None and self.plane is not None:
            local = plane_to_local(points_xyz_mm, self.plane)
            return apply_homography(self.homography, local[..., :2])
        raise ValueError("the calibration has no projector mapping yet (run the calibration first)")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (see the module docstring)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "created_utc": self.created_utc,
            "projector": {"width": self.projector_size[0], "height": self.projector_size[1]},
            "plane": None if self.plane is None else self.plane.to_list(),
            "plane_rms_mm": self.plane_rms_mm,
            "H": None if self.homography is None else [float(v) for v in self.homography.ravel()],
            "P": None if self.projection is None else [float(v) for v in self.projection.ravel()],
            "errors": self.errors,
            "points": [{"target_px": list(t), "xyz_mm": list(x)} for t, x in self.points],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "calibration") -> Calibration:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` naming the bad field."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{source}: not a depthhand calibration (expected 'format': '{FORMAT}')")
        if data.get("version") != VERSION:
            raise ValueError(f"{source}: unsupported calibration version {data.get('version')!r}, expected {VERSION}")
        try:
            proj = data["projector"]
            size = (int(proj["width"]), int(proj["height"]))
            plane = None if data.get("plane") is None else Plane.from_list(data["plane"])
            h = None if data.get("H") is None else np.asarray(data["H"], dtype=np.float64).reshape(3, 3)
            p = None if data.get("P") is None else np.asarray(data["P"], dtype=np.float64).reshape(3, 4)
            pts = tuple(
                (
                    (float(q["target_px"][0]), float(q["target_px"][1])),
                    (float(q["xyz_mm"][0]), float(q["xyz_mm"][1]), float(q["xyz_mm"][2])),
                )
                for q in data.get("points", [])
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{source}: malformed calibration field: {exc}") from exc
        if size[0] <= 0 or size[1] <= 0:
            raise ValueError(f"{source}: projector size must be positive, got {size}")
        rms = data.get("plane_rms_mm")
        return cls(
            size,
            plane,
            h,
            p,
            dict(data.get("errors", {})),
            pts,
            None if rms is None else float(rms),
            str(data.get("created_utc", "")),
        )


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where :func:`save_calibration` keeps the replaced file: ``calibration.json`` → ``calibration.prev.json``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.prev{p.suffix}")


def save_calibration(calibration: Calibration, path: str | os.PathLike[str], backup: bool = True) -> Path:
    """Write the calibration JSON atomically (temp file in the same folder, then rename), mode ``0600``.

    Args:
        calibration: What to store.
        path: The file.
        backup: Keep the file being replaced as :func:`backup_path` (``calibration.prev.json``).

    Returns:
        ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.remove_stale_temps(target)
    data = json.dumps(calibration.to_dict(), indent=2)  # unserialisable: fails before anything is touched
    if backup and target.is_file():
        atomic.write_bytes(backup_path(target), target.read_bytes(), mode=FILE_MODE)
    atomic.write_text(target, data, mode=FILE_MODE)
    return target


def load_calibration(path: str | os.PathLike[str]) -> Calibration:
    """Read a calibration JSON written by :func:`save_calibration`."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"calibration file {p} does not exist")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON: {exc}") from exc
    return Calibration.from_dict(data, source=str(p))


def make_targets(width: int, height: int, rows: int = 3, cols: int = 3, margin: float = 0.12) -> F64:
    """A grid of calibration targets in projector pixels, (rows·cols, 2), row by row.

    Args:
        width: Projector width, px.
        height: Projector height, px.
        rows: Grid rows (≥ 2).
        cols: Grid columns (≥ 2).
        margin: Distance of the outer targets from the edges, as a fraction of the size.
    """
    if width <= 0 or height <= 0 or rows < 2 or cols < 2 or not 0 <= margin < 0.5:
        raise ValueError(f"bad target grid: {width}×{height}, {rows}×{cols}, margin {margin}")
    xs = np.linspace(margin * width, (1 - margin) * width, cols)
    ys = np.linspace(margin * height, (1 - margin) * height, rows)
    return np.array([[x, y] for y in ys for x in xs], dtype=np.float64)


def solve_calibration(
    target_px: npt.ArrayLike,
    touch_xyz_mm: npt.ArrayLike,
    plane: Plane | None,
    projector_size: tuple[int, int],
    plane_rms_mm: float | None = None,
) -> Calibration:
    """Fit the mappings from touched targets.

    Args:
        target_px: (N, 2) projector pixels of the targets.
        touch_xyz_mm: (N, 3) fingertip positions (camera mm) when each target was touched.
        plane: The table plane (needed for the homography).
        projector_size: (width, height), px.
        plane_rms_mm: Residual of the plane fit, stored for reference.

    Returns:
        A calibration with ``H`` when a plane is given and N ≥ 4, and ``P`` when N ≥ 6 and the points are not
        coplanar.

    Raises:
        CalibrationRejected: The touches are degenerate (spread below :data:`MIN_SPREAD_MM`) or the kept mapping's
            RMS error is above :data:`MAX_RMS_PX` (a 3×4 projection above the limit is dropped when the homography
            is within it).
        ValueError: If neither mapping can be fitted.
    """
    t = np.asarray(target_px, dtype=np.float64)
    x = np.asarray(touch_xyz_mm, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] != 2 or x.shape != (len(t), 3):
        raise ValueError(f"need (N, 2) target pixels and (N, 3) touches, got {t.shape} and {x.shape}")
    if len(x) >= 4 and np.all(np.isfinite(x)):  # fewer: no mapping can be fitted (reported below)
        spread = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) / np.sqrt(len(x))
        if spread[1] < MIN_SPREAD_MM:
            raise CalibrationRejected(
                f"calibration rejected: the touches spread only {spread[1]:.1f} mm (need ≥ {MIN_SPREAD_MM:g} mm in "
                "two directions; was the finger stuck on one spot?)"
            )
    errors: dict[str, dict[str, float]] = {}
    h = p = None
    reasons = []
    if plane is not None and len(t) >= 4:
        local = plane_to_local(x, plane)[:, :2]
        h = fit_homography(local, t)
        errors["H"] = reprojection_errors(apply_homography(h, local), t)
    else:
        reasons.append("a homography needs the table plane and ≥ 4 points")
    if len(t) >= 6:
        try:
            p = fit_projection(x, t)
            errors["P"] = reprojection_errors(project_points(p, x), t)
        except ValueError as exc:
            reasons.append(str(exc))
    else:
        reasons.append("a 3×4 projection needs ≥ 6 non-coplanar points")
    if h is None and p is None:
        raise ValueError("calibration failed: " + "; ".join(reasons))
    if p is not None and errors["P"]["rms_px"] > MAX_RMS_PX and h is not None:
        p = None  # the projection is worse than the limit; the homography may still do
        errors.pop("P")
    kept = "P" if p is not None else "H"
    rms = errors[kept]["rms_px"]
    if not rms <= MAX_RMS_PX:
        raise CalibrationRejected(
            f"calibration rejected: RMS reprojection error {rms:.1f} px of {kept} is above the limit of "
            f"{MAX_RMS_PX:g} px (touch each target's centre, keep the table plane current)"
        )
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    pts = tuple(((float(a), float(b)), (float(c), float(d), float(e))) for (a, b), (c, d, e) in zip(t, x, strict=True))
    return Calibration(projector_size, plane, h, p, errors, pts, plane_rms_mm, now)


def with_plane(calibration: Calibration, plane: Plane, rms_mm: float | None) -> Calibration:
    """A copy with a new plane (keeps the projector mappings)."""
    return dataclasses.replace(calibration, plane=plane, plane_rms_mm=rms_mm)


def points_from_pairs(pairs: Sequence[tuple[Sequence[float], Sequence[float]]]) -> tuple[F64, F64]:
    """Split ``[(target_px, xyz_mm), ...]`` into (N, 2) and (N, 3) arrays."""
    t = np.array([p[0] for p in pairs], dtype=np.float64).reshape(-1, 2)
    x = np.array([p[1] for p in pairs], dtype=np.float64).reshape(-1, 3)
    return t, x
