"""Hand-centre files published alongside the datasets (V2V-PoseNet text files, A2J ``.mat`` files).

Two formats with confusingly similar names exist (see the reference document, §1.1):

* V2V-PoseNet's ``center_{train,test}_refined.txt``: one line per frame, ``x y z`` in camera mm in the *dataset's*
  y convention (NYU: y **up**, ICVL: y down); frames without a usable centre read ``invalid``.
* A2J's ``{nyu,icvl}_center_test.mat``: key ``centre_pixel``, shape (N, 1, 3), already in **uvd** (px, px, mm).
  Some re-distributions of the V2V text files (TriHorn-Net, SRNet) are also already uvd.

:func:`load_centers_xyz_mm` converts any of them to depthhand's camera frame (mm, y down). Pass the format
explicitly when you know it; :attr:`CenterFormat.AUTO` decides from the values (:func:`detect_center_format`).
"""

from __future__ import annotations

import enum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.files import require_file
from depthhand.geometry.camera import Axes, flip_y, uvd_to_xyz
from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]

A2J_CENTER_KEY = "centre_pixel"
"""Key of the centre array in A2J's ``.mat`` centre files."""


class CenterFormat(enum.Enum):
    """What the three numbers of a centre file are."""

    AUTO = "auto"
    UVD = "uvd"
    XYZ = "xyz"


def read_center_txt(path: Path) -> F64:
    """Read a V2V-style centre text file: one ``a b c`` line per frame, or ``invalid``.

    Returns:
        (N, 3) float64 as stored (no unit or axis conversion); ``invalid`` lines become NaN rows.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a line that is neither three numbers nor ``invalid`` (message names file and line).
    """
    require_file(path, "a centre file with one 'x y z' (or 'invalid') line per frame")
    rows: list[list[float]] = []
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) == 1 and tokens[0].lower() == "invalid":
                rows.append([np.nan, np.nan, np.nan])
                continue
            try:
                if len(tokens) != 3:
                    raise ValueError
                rows.append([float(t) for t in tokens])
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: {line.strip()[:60]!r}; expected three numbers 'x y z' or 'invalid'"
                ) from None
    return np.array(rows, np.float64).reshape(-1, 3)


def read_center_mat(path: Path, key: str = A2J_CENTER_KEY) -> F64:
    """Read an A2J-style centre ``.mat`` file.

    Args:
        path: The MATLAB file.
        key: Variable holding the centres, shape (N, 1, 3) or (N, 3).

    Returns:
        (N, 3) float64 as stored (A2J's files are uvd: px, px, mm).

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If it cannot be read, lacks ``key`` or has the wrong shape.
    """
    import scipy.io

    require_file(path, f"a MATLAB centre file with variable {key!r} of shape (N, 1, 3)")
    try:
        data = scipy.io.loadmat(str(path), variable_names=[key])
    except Exception as exc:  # scipy raises MatReadError, IndexError, ValueError, ... on corrupt files
        raise ValueError(f"{path}: cannot be read as a MATLAB v5 file ({exc}); expected variable {key!r}") from None
    if key not in data:
        raise ValueError(f"{path}: has no variable {key!r}; expected (N, 1, 3) centres under that name")
    arr = np.asarray(data[key], np.float64)
    if arr.ndim == 3 and arr.shape[1:] == (1, 3):
        arr = arr[:, 0, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{path}: {key!r} has shape {arr.shape}; expected (N, 1, 3) or (N, 3)")
    return arr


def read_center_file(path: Path) -> F64:
    """Read a centre file by suffix (``.mat`` → :func:`read_center_mat`, else :func:`read_center_txt`)."""
    return read_center_mat(path) if path.suffix.lower() == ".mat" else read_center_txt(path)


def detect_center_format(centers: F64, intrinsics: CameraIntrinsics) -> CenterFormat:
    """Guess whether stored centres are uvd or camera xyz.

    Rule: a negative first or second value is impossible for uvd, so it means xyz; if every valid centre lies
    inside the image (0 ≤ u < width, 0 ≤ v < height) the file is uvd, otherwise xyz. Reliable for whole dataset
    files (a hand moves to both sides of the principal point, so xyz has negative values); for a handful of
    centres pass the format explicitly.

    Args:
        centers: (N, 3) values as stored; NaN rows are ignored.
        intrinsics: The dataset's camera (image size).

    Returns:
        :attr:`CenterFormat.UVD` or :attr:`CenterFormat.XYZ`.
    """
    valid = centers[np.isfinite(centers).all(axis=1)]
    if len(valid) == 0:
        return CenterFormat.XYZ
    u, v = valid[:, 0], valid[:, 1]
    if (u < 0).any() or (v < 0).any():
        return CenterFormat.XYZ
    inside = (u < intrinsics.width) & (v < intrinsics.height)
    return CenterFormat.UVD if bool(inside.all()) else CenterFormat.XYZ


def centers_to_xyz_mm(
    centers: F64,
    intrinsics: CameraIntrinsics,
    fmt: CenterFormat = CenterFormat.AUTO,
    xyz_axes: Axes = Axes.Y_DOWN,
) -> F64:
    """Convert stored centres to camera mm with y down (NaN rows stay NaN).

    Args:
        centers: (N, 3) values as stored.
        intrinsics: The dataset's camera (for uvd back-projection and format detection).
        fmt: What the values are; AUTO uses :func:`detect_center_format`.
        xyz_axes: Y convention of the file when it holds xyz (NYU's V2V files: ``Axes.Y_UP``).

    Returns:
        (N, 3) float64 centres in camera mm, y down.
    """
    if fmt is CenterFormat.AUTO:
        fmt = detect_center_format(centers, intrinsics)
    if fmt is CenterFormat.UVD:
        return uvd_to_xyz(centers, intrinsics)
    return flip_y(centers) if xyz_axes is Axes.Y_UP else np.array(centers, np.float64)


def load_centers_xyz_mm(
    path: Path,
    intrinsics: CameraIntrinsics,
    fmt: CenterFormat = CenterFormat.AUTO,
    xyz_axes: Axes = Axes.Y_DOWN,
) -> F64:
    """Read a centre file (text or ``.mat``) and convert it with :func:`centers_to_xyz_mm`.

    Example:
        >>> # A2J's NYU test centres (uvd) -> (8252, 3) camera mm, y down
        >>> # load_centers_xyz_mm(Path("nyu_center_test.mat"), INTRINSICS["nyu"], CenterFormat.UVD)
    """
    return centers_to_xyz_mm(read_center_file(path), intrinsics, fmt, xyz_axes)
