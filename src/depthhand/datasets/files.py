"""File checks and parsers shared by the dataset readers.

Every function raises ``FileNotFoundError`` or ``ValueError`` whose message names the file (and the line, for text
files) and what was expected, so a broken download is diagnosed from the message alone.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise ``FileNotFoundError`` naming it and ``what`` it should be."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; expected {what}")
    return path


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a directory, else raise ``FileNotFoundError`` naming it and ``what`` it should be."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: missing folder; expected {what}")
    return path


def read_png(path: Path) -> npt.NDArray[np.generic]:
    """Read a PNG exactly as stored (no channel conversion, no bit-depth change); cv2 gives BGR channel order.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If OpenCV cannot decode it.
    """
    import cv2

    require_file(path, "a PNG depth image")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: cannot be decoded as an image; expected a PNG depth file")
    return np.asarray(image)


def read_png_depth16(path: Path, shape_hw: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Read a single-channel 16-bit PNG in millimetres (ICVL, HANDS2017, FPHA).

    Args:
        path: The PNG file.
        shape_hw: Expected (height, width).

    Returns:
        (H, W) float32 depth in mm; 0 stays 0 (invalid).

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a wrong channel count, bit depth or size.
    """
    image = read_png(path)
    expected = f"a single-channel 16-bit PNG of {shape_hw[1]}x{shape_hw[0]} px (depth in mm)"
    if image.ndim != 2:
        channels = image.shape[2] if image.ndim == 3 else image.ndim
        raise ValueError(f"{path}: has {channels} channels; expected {expected}")
    if image.dtype != np.uint16:
        raise ValueError(f"{path}: has dtype {image.dtype}; expected {expected}")
    if image.shape != shape_hw:
        raise ValueError(f"{path}: has size {image.shape[1]}x{image.shape[0]}; expected {expected}")
    return image.astype(np.float32)


def _read_lines(path: Path, what: str) -> list[str]:
    require_file(path, what)
    with path.open("r", encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def _floats(tokens: list[str], path: Path, lineno: int, what: str) -> F64:
    try:
        return np.array([float(t) for t in tokens], np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise ValueError(f"{path}:{lineno}: token {bad!r} is not a number; expected {what}") from None


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_label_text(path: Path, num_values: int, name_column: bool, what: str) -> tuple[list[str], F64]:
    """Parse a whitespace-separated label file: one frame per line, optionally led by a name token.

    Blank lines are skipped; tabs and spaces both separate tokens.

    Args:
        path: The text file.
        num_values: Numbers expected per line after the name (e.g. 48 for ICVL's 16 × (u, v, d)).
        name_column: Whether each line starts with a frame name (filename, frame number).
        what: Description of the expected line, used in error messages.

    Returns:
        ``(names, values)``: the first tokens (empty strings when ``name_column`` is false) and an
        (N, num_values) float64 array.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a line with the wrong token count or a non-numeric value (message names file and line).
    """
    lines = _read_lines(path, what)
    expected_tokens = num_values + (1 if name_column else 0)
    names: list[str] = []
    bodies: list[str] = []
    linenos: list[int] = []
    for lineno, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != expected_tokens:
            raise ValueError(f"{path}:{lineno}: has {len(tokens)} tokens; expected {expected_tokens} ({what})")
        if name_column:
            names.append(tokens[0])
            bodies.append(line.split(None, 1)[1])
        else:
            names.append("")
            bodies.append(line)
        linenos.append(lineno)
    values = _to_array(bodies, linenos, path, num_values, what)
    return names, values


def _to_array(bodies: list[str], linenos: list[int], path: Path, num_values: int, what: str) -> F64:
    """Convert lines already checked to hold ``num_values`` tokens each into an (N, num_values) array."""
    if not bodies:
        return np.zeros((0, num_values), np.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # older numpy warns when it stops at a bad token
            flat = np.fromstring(" ".join(bodies), dtype=np.float64, sep=" ")
    except ValueError:  # newer numpy raises instead
        flat = np.zeros(0, np.float64)
    if flat.size == len(bodies) * num_values:
        return flat.reshape(len(bodies), num_values)
    for body, lineno in zip(bodies, linenos, strict=True):  # slow path: find the offending line
        _floats(body.split(), path, lineno, what)
    raise ValueError(f"{path}: could not parse {len(bodies)} lines of {num_values} numbers ({what})")


def read_counted_text(path: Path, num_values: int, what: str) -> F64:
    """Parse a file whose first line is a frame count N followed by N lines of ``num_values`` numbers (MSRA).

    Returns:
        (N, num_values) float64 array.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a missing/non-integer count, a count that disagrees with the number of lines, or a line
            with the wrong token count.
    """
    lines = _read_lines(path, what)
    body = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if not body:
        raise ValueError(f"{path}: is empty; expected a frame count on line 1, then {what}")
    first_lineno, first = body[0]
    try:
        count = int(first.split()[0]) if len(first.split()) == 1 else -1
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"{path}:{first_lineno}: {first.strip()[:40]!r} is not a frame count; expected one integer")
    bodies: list[str] = []
    linenos: list[int] = []
    for lineno, line in body[1:]:
        n_tokens = len(line.split())
        if n_tokens != num_values:
            raise ValueError(f"{path}:{lineno}: has {n_tokens} values; expected {num_values} ({what})")
        bodies.append(line)
        linenos.append(lineno)
    if len(bodies) != count:
        raise ValueError(f"{path}: line 1 declares {count} frames but {len(bodies)} label lines follow")
    return _to_array(bodies, linenos, path, num_values, what)
