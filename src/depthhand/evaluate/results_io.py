"""Reading and writing joint prediction / ground-truth files.

Three formats:

* **uvd text** (the community's format, awesome-hand-pose-estimation ``evaluation/``): one line per test frame,
  whitespace-separated ``u1 v1 d1 u2 v2 d2 …`` (pixels of the full depth image, depth in mm); line i is frame i of
  the dataset's list file. The reader is strict: a wrong number of lines, a wrong number of values on a line, a
  blank line, a non-number or a non-finite value is refused with an error naming the file and the line.
* **JSON** (depthhand's own): an object with exactly one of the keys ``joints_uvd`` or ``joints_xyz_mm``, holding
  a list of frames, each a list of J ``[a, b, c]`` triples; or a ``frames`` list of objects each carrying that key.
  Optional ``axes`` (``"y_down"``, the default and depthhand's camera frame, or ``"y_up"``; only for xyz),
  ``method`` and ``dataset``.
* **NPZ** (depthhand's own): exactly one of the arrays ``joints_uvd`` or ``joints_xyz_mm`` (N, J, 3), optional
  string arrays ``axes``, ``method`` and ``dataset``.

Writers write to a temporary file in the target folder and rename it.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.evaluate.protocols import EvalProtocol
from depthhand.geometry.camera import Axes

F64 = npt.NDArray[np.float64]


class Coords(enum.Enum):
    """What a joints array holds; the value is the key/array name in JSON and NPZ files."""

    UVD = "joints_uvd"
    """Pixels u, v and depth d in mm."""
    XYZ_MM = "joints_xyz_mm"
    """Camera-space millimetres."""


@dataclass(frozen=True, slots=True, eq=False)
class JointsFile:
    """The content of one joints file.

    Attributes:
        path: Where it was read from.
        name: Method name (``method`` metadata, else the file stem).
        coords: What ``joints`` holds.
        joints: (N, J, 3) float64 joints.
        axes: Y convention of ``joints`` when ``coords`` is xyz (uvd files: ``Axes.Y_DOWN``, meaningless).
    """

    path: Path
    name: str
    coords: Coords
    joints: F64
    axes: Axes = Axes.Y_DOWN

    @property
    def num_frames(self) -> int:
        """Frames N."""
        return int(self.joints.shape[0])

    @property
    def num_joints(self) -> int:
        """Joints J."""
        return int(self.joints.shape[1])

    def to_camera_xyz(self, protocol: EvalProtocol) -> F64:
        """(N, J, 3) camera mm (y down): uvd converted with the protocol's intrinsics, xyz y-flipped if needed.

        Raises:
            ValueError: If the file is not the protocol's full (N, J) set.
        """
        joints = protocol.check_shape(self.joints, str(self.path))
        if self.coords is Coords.UVD:
            return protocol.uvd_to_xyz(joints)
        return protocol.label_xyz_to_camera(joints, self.axes)


def _line_error(path: Path, line_no: int, message: str) -> ValueError:
    return ValueError(f"{path}:{line_no}: {message}")


def read_uvd_text(path: str | os.PathLike[str], num_joints: int | None = None, num_frames: int | None = None) -> F64:
    """Read a uvd text file strictly.

    Args:
        path: The file.
        num_joints: Expected joints J per line (3·J values); if None, taken from line 1 (must be a multiple of 3).
        num_frames: Expected number of lines N; if None, any N >= 1.

    Returns:
        (N, J, 3) float64 ``u, v, d``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: Naming the file and line on any format problem.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    if not lines:
        raise ValueError(f"{p}: empty file, expected one line of u v d values per frame")
    if num_frames is not None and len(lines) != num_frames:
        raise ValueError(f"{p}: expected {num_frames} lines (one per test frame), got {len(lines)}")
    counts = np.fromiter((len(line.split()) for line in lines), dtype=np.int64, count=len(lines))
    if num_joints is None:
        if counts[0] == 0 or counts[0] % 3:
            raise _line_error(p, 1, f"expected a multiple of 3 values (u v d per joint), got {counts[0]}")
        expected = int(counts[0])
    else:
        expected = 3 * num_joints
    bad = np.flatnonzero(counts != expected)
    if bad.size:
        i = int(bad[0])
        what = "blank line" if counts[i] == 0 else f"got {counts[i]}"
        raise _line_error(p, i + 1, f"expected {expected} values ({expected // 3} joints × u v d), {what}")
    try:
        values = np.loadtxt(lines, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        for i, line in enumerate(lines):
            for token in line.split():
                try:
                    float(token)
                except ValueError:
                    raise _line_error(p, i + 1, f"not a number: {token!r}") from None
        raise
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        raise _line_error(p, int(np.flatnonzero(~finite)[0]) + 1, "non-finite value (nan/inf)")
    return values.reshape(len(lines), expected // 3, 3)


def _check_joints(joints: npt.ArrayLike, what: str) -> F64:
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must have shape (N, J, 3) with N, J >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} has non-finite values")
    return arr


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_open(path, mode) as fh:
        yield fh


def write_uvd_text(path: str | os.PathLike[str], joints_uvd: npt.ArrayLike, decimals: int = 4) -> Path:
    """Write (N, J, 3) uvd joints as a uvd text file (one frame per line), atomically.

    Args:
        path: Output file.
        joints_uvd: (N, J, 3) pixels and mm.
        decimals: Digits after the point.

    Returns:
        The path written.
    """
    arr = _check_joints(joints_uvd, "joints_uvd")
    p = Path(path)
    with _atomic(p, "w") as fh:
        np.savetxt(fh, arr.reshape(arr.shape[0], -1), fmt=f"%.{decimals}f", delimiter=" ")
    return p


def _metadata(method: str | None, dataset: str | None) -> dict[str, str]:
    meta = {}
    if method is not None:
        meta["method"] = method
    if dataset is not None:
        meta["dataset"] = dataset
    return meta


def write_json(
    path: str | os.PathLike[str],
    joints: npt.ArrayLike,
    coords: Coords,
    *,
    axes: Axes = Axes.Y_DOWN,
    method: str | None = None,
    dataset: str | None = None,
) -> Path:
    """Write (N, J, 3) joints as depthhand JSON (``{"joints_uvd": [...]}`` or ``{"joints_xyz_mm": [...]}``)."""
    arr = _check_joints(joints, coords.value)
    payload: dict[str, Any] = {"format": "depthhand.joints", "version": 1, **_metadata(method, dataset)}
    if coords is Coords.XYZ_MM:
        payload["axes"] = axes.value
    payload[coords.value] = arr.tolist()
    p = Path(path)
    with _atomic(p, "w") as fh:
        json.dump(payload, fh)
    return p


def write_npz(
    path: str | os.PathLike[str],
    joints: npt.ArrayLike,
    coords: Coords,
    *,
    axes: Axes = Axes.Y_DOWN,
    method: str | None = None,
    dataset: str | None = None,
) -> Path:
    """Write (N, J, 3) joints as depthhand NPZ (array ``joints_uvd`` or ``joints_xyz_mm``), atomically."""
    arr = _check_joints(joints, coords.value)
    arrays: dict[str, Any] = {coords.value: arr, **{k: np.array(v) for k, v in _metadata(method, dataset).items()}}
    if coords is Coords.XYZ_MM:
        arrays["axes"] = np.array(axes.value)
    p = Path(path)
    with _atomic(p, "wb") as fh:
        np.savez(fh, **arrays)
    return p


def _pick_coords(keys: set[str], p: Path) -> Coords:
    found = [c for c in Coords if c.value in keys]
    if len(found) != 1:
        raise ValueError(
            f"{p}: expected exactly one of {[c.value for c in Coords]}, found {[c.value for c in found] or 'none'}"
        )
    return found[0]


def _parse_axes(value: object, p: Path) -> Axes:
    try:
        return Axes(str(value))
    except ValueError:
        raise ValueError(f"{p}: axes must be one of {[a.value for a in Axes]}, got {value!r}") from None


def read_json(path: str | os.PathLike[str]) -> JointsFile:
    """Read a depthhand JSON joints file (see the module docstring).

    Raises:
        ValueError: On malformed content, naming the file.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object with joints_uvd or joints_xyz_mm")
    if "frames" in data and not any(c.value in data for c in Coords):
        frames = data["frames"]
        if not isinstance(frames, list) or not frames or not all(isinstance(f, dict) for f in frames):
            raise ValueError(f"{p}: 'frames' must be a non-empty list of objects")
        coords = _pick_coords(set(frames[0]), p)
        for i, frame in enumerate(frames):
            if coords.value not in frame:
                raise ValueError(f"{p}: frame {i} has no {coords.value!r}")
        raw: Any = [frame[coords.value] for frame in frames]
    else:
        coords = _pick_coords(set(data), p)
        raw = data[coords.value]
    try:
        joints = _check_joints(raw, f"{p}: {coords.value}")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{p}: {coords.value} is not a (N, J, 3) array of numbers ({exc})") from None
    axes = _parse_axes(data.get("axes", Axes.Y_DOWN.value), p)
    return JointsFile(p, str(data.get("method", p.stem)), coords, joints, axes)


def read_npz(path: str | os.PathLike[str]) -> JointsFile:
    """Read a depthhand NPZ joints file (see the module docstring).

    Raises:
        ValueError: On malformed content, naming the file.
    """
    p = Path(path)
    with np.load(p, allow_pickle=False) as npz:
        coords = _pick_coords(set(npz.files), p)
        joints = _check_joints(npz[coords.value], f"{p}: {coords.value}")
        axes = _parse_axes(npz["axes"].item(), p) if "axes" in npz.files else Axes.Y_DOWN
        name = str(npz["method"].item()) if "method" in npz.files else p.stem
    return JointsFile(p, name, coords, joints, axes)


def read_joints(
    path: str | os.PathLike[str], num_joints: int | None = None, num_frames: int | None = None
) -> JointsFile:
    """Read any supported joints file, by suffix (``.json``, ``.npz``, anything else: uvd text).

    Args:
        path: The file.
        num_joints: Expected J (checked strictly per line for text files).
        num_frames: Expected N (checked strictly for text files; callers check the others with the protocol).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: On format problems.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"joints file not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return read_json(p)
    if suffix == ".npz":
        return read_npz(p)
    return JointsFile(p, p.stem, Coords.UVD, read_uvd_text(p, num_joints, num_frames))
