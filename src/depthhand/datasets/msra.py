"""MSRA hand gesture dataset reader ("MSRA15", Sun et al., CVPR 2015), leave-one-subject-out folds.

Layout (``root`` = the folder holding ``P0`` … ``P8``)::

    P<s>/<gesture>/joint.txt            line 1: N; then N lines of 21 × (x, y, z) mm, y up, z stored NEGATIVE
    P<s>/<gesture>/<%06d>_depth.bin     6 × int32 (width, height, left, top, right, bottom), then a float32
                                        (bottom − top) × (right − left) row-major patch in mm, pasted at (left, top)

Gestures: ``1``–``9``, ``I``, ``IP``, ``L``, ``MP``, ``RP``, ``T``, ``TIP``, ``Y`` (reference §1.3). Labels are
converted to depthhand's camera frame by negating y and z: ``(x, y, z)_file → (x, −y, −z)`` (every published
pipeline negates z and keeps y up; depthhand then flips y to point down).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.base import HandDataset
from depthhand.datasets.files import F64, read_counted_text, require_dir, require_file
from depthhand.geometry.camera import INTRINSICS
from depthhand.skeleton import MSRA21

MSRA_SUBJECTS: tuple[str, ...] = tuple(f"P{s}" for s in range(9))
MSRA_GESTURES: tuple[str, ...] = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "I",
    "IP",
    "L",
    "MP",
    "RP",
    "T",
    "TIP",
    "Y",
)
MSRA_NUM_JOINTS = 21
MSRA_SPLITS = ("train", "test", "all")
MSRA_HEADER_INTS = 6
_HEADER_BYTES = MSRA_HEADER_INTS * 4


def msra_file_to_camera(joints_file: F64) -> F64:
    """Convert MSRA label coordinates (y up, z negative) to depthhand's camera frame (y down, z positive).

    Its own inverse: negates y and z.

    Args:
        joints_file: (..., 3) as stored in ``joint.txt``.

    Returns:
        (..., 3) float64 camera mm.
    """
    out = np.array(joints_file, np.float64)
    out[..., 1:] = -out[..., 1:]
    return out


def decode_msra_bin(data: bytes, path: Path | str = "<bytes>") -> npt.NDArray[np.float32]:
    """Decode an MSRA ``.bin`` depth file: header + float patch → full (height, width) image.

    Args:
        data: The file contents.
        path: Used in error messages.

    Returns:
        (height, width) float32 mm, zeros outside the stored patch.

    Raises:
        ValueError: For a short header, an inconsistent box, or a patch with fewer/more floats than the box.
    """
    if len(data) < _HEADER_BYTES:
        raise ValueError(f"{path}: {len(data)} bytes; expected a {_HEADER_BYTES}-byte header of 6 int32")
    width, height, left, top, right, bottom = (int(v) for v in np.frombuffer(data[:_HEADER_BYTES], "<i4"))
    if not (width > 0 and height > 0 and 0 <= left <= right <= width and 0 <= top <= bottom <= height):
        raise ValueError(
            f"{path}: header (width={width}, height={height}, left={left}, top={top}, right={right}, "
            f"bottom={bottom}) is inconsistent; expected 0 ≤ left ≤ right ≤ width and 0 ≤ top ≤ bottom ≤ height"
        )
    n_expected = (bottom - top) * (right - left)
    payload = len(data) - _HEADER_BYTES
    if payload != 4 * n_expected:
        kind = "truncated" if payload < 4 * n_expected else "too long"
        raise ValueError(
            f"{path}: {kind}: {payload} bytes after the header ({payload / 4:g} floats); expected "
            f"{n_expected} float32 for the {right - left}x{bottom - top} patch"
        )
    patch = np.frombuffer(data, "<f4", count=n_expected, offset=_HEADER_BYTES).reshape(bottom - top, right - left)
    depth = np.zeros((height, width), np.float32)
    depth[top:bottom, left:right] = patch
    return depth


def encode_msra_bin(depth_mm: npt.NDArray[np.floating], box_ltrb: tuple[int, int, int, int]) -> bytes:
    """Encode a depth image as an MSRA ``.bin`` (inverse of :func:`decode_msra_bin` inside the box).

    Args:
        depth_mm: (height, width) depth in mm.
        box_ltrb: (left, top, right, bottom) of the patch to store, pixels (right/bottom exclusive).

    Returns:
        The file contents.
    """
    depth = np.asarray(depth_mm, np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth_mm must be (H, W), got {depth.shape}")
    height, width = depth.shape
    left, top, right, bottom = box_ltrb
    if not (0 <= left <= right <= width and 0 <= top <= bottom <= height):
        raise ValueError(f"box {box_ltrb} does not fit a {width}x{height} image")
    header = np.array([width, height, left, top, right, bottom], "<i4").tobytes()
    return header + np.ascontiguousarray(depth[top:bottom, left:right], "<f4").tobytes()


def read_msra_bin(path: Path) -> npt.NDArray[np.float32]:
    """Read an MSRA ``<%06d>_depth.bin`` file (see :func:`decode_msra_bin`)."""
    require_file(path, "an MSRA depth .bin (6 × int32 header + float32 patch)")
    return decode_msra_bin(path.read_bytes(), path)


def read_msra_joints(path: Path) -> F64:
    """Read an MSRA ``joint.txt`` and convert to camera mm (y down, z positive).

    Returns:
        (N, 21, 3) float64 camera mm.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a bad count line, a line without 63 values, a count/line mismatch, or a positive z
            (the file stores z negative; a positive one means the file was already converted).
    """
    values = read_counted_text(path, MSRA_NUM_JOINTS * 3, "21 × 'x y z' in mm, z negative").reshape(-1, 21, 3)
    positive = values[..., 2] >= 0
    if positive.any():
        frame = int(np.nonzero(positive.any(axis=1))[0][0])
        raise ValueError(f"{path}: frame {frame} (line {frame + 2}) has z ≥ 0; expected MSRA's negative z values")
    return msra_file_to_camera(values)


class MsraDataset(HandDataset):
    """MSRA frames of one leave-one-subject-out fold.

    Args:
        root: Folder holding ``P0`` … ``P8``.
        test_subject: Subject held out (0–8) for ``split="train"``/``"test"``; ignored for ``"all"``.
        split: ``"test"`` (the held-out subject), ``"train"`` (the other eight) or ``"all"`` (P0…P8 in order,
            the 76,375-frame evaluation order).
        gestures: Gesture folders to read per subject (default: all 17).

    Example:
        >>> ds = MsraDataset("/data/msra", test_subject=3, split="test")  # doctest: +SKIP
        >>> len(ds)
        8488
    """

    name = "msra"
    joint_set = MSRA21

    def __init__(
        self,
        root: str | Path,
        test_subject: int | None = None,
        split: str = "all",
        gestures: tuple[str, ...] = MSRA_GESTURES,
    ) -> None:
        super().__init__()
        if split not in MSRA_SPLITS:
            raise ValueError(f"MSRA split must be one of {MSRA_SPLITS}, got {split!r}")
        if split != "all" and (test_subject is None or not 0 <= int(test_subject) < len(MSRA_SUBJECTS)):
            raise ValueError(f"MSRA split {split!r} needs test_subject in 0..8, got {test_subject!r}")
        self.root = Path(root)
        self.split = split
        self.test_subject = test_subject
        self.intrinsics = INTRINSICS["msra"]
        require_dir(self.root, "the MSRA folder holding P0 … P8")
        if split == "all":
            subjects = list(range(len(MSRA_SUBJECTS)))
        elif split == "test":
            subjects = [int(test_subject)]  # type: ignore[arg-type]
        else:
            subjects = [s for s in range(len(MSRA_SUBJECTS)) if s != test_subject]
        names: list[str] = []
        joints: list[F64] = []
        frame_subjects: list[int] = []
        for s in subjects:
            subject = MSRA_SUBJECTS[s]
            require_dir(self.root / subject, f"MSRA subject folder with gestures {', '.join(gestures)}")
            for gesture in gestures:
                folder = require_dir(self.root / subject / gesture, f"MSRA gesture folder of {subject}")
                xyz = read_msra_joints(folder / "joint.txt")
                names += [f"{subject}/{gesture}/{i:06d}_depth.bin" for i in range(len(xyz))]
                joints.append(xyz)
                frame_subjects += [s] * len(xyz)
        self._set_labels_xyz(names, np.concatenate(joints, axis=0) if joints else np.zeros((0, 21, 3)))
        self.frame_subjects: npt.NDArray[np.int64] = np.array(frame_subjects, np.int64)
        """(N,) subject number (0–8) of every frame, e.g. for DeepPrior++'s per-subject cubes."""

    def image_path(self, index: int) -> Path:
        """Path of the ``.bin`` of sample ``index``."""
        return self.root / self._names[self._check_index(index)]

    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read an MSRA ``.bin`` into a full 320×240 mm image."""
        depth = read_msra_bin(path)
        expected = (self.intrinsics.height, self.intrinsics.width)
        if depth.shape != expected:
            raise ValueError(
                f"{path}: header image size {depth.shape[1]}x{depth.shape[0]}; expected {expected[1]}x{expected[0]}"
            )
        return depth
