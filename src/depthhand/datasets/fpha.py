"""First-Person Hand Action benchmark (FPHA / F-PHAB, Garcia-Hernando et al., CVPR 2018) reader.

Layout (``root`` = the FPHA folder)::

    Video_files/Subject_<n>/<action>/<seq>/depth/depth_%04d.png      640×480 16-bit PNG, mm
    Hand_pose_annotation_v1/Subject_<n>/<action>/<seq>/skeleton.txt  one line per frame: `t x1 y1 z1 … x21 y21 z21`

The README calls the skeleton "world coordinates", but they are depth-camera coordinates, mm, **y down** (reference
§1.5: projected joints land on the hand). The annotation folder may also be named ``Hand_pose_annotation_v1_1``.
Joint order as HANDS2017. Licence: academic research only, no redistribution; never commit FPHA frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.base import HandDataset
from depthhand.datasets.files import F64, read_label_text, read_png_depth16, require_dir
from depthhand.geometry.camera import INTRINSICS
from depthhand.skeleton import FPHA21

FPHA_NUM_JOINTS = 21
FPHA_ANNOTATION_DIRS = ("Hand_pose_annotation_v1", "Hand_pose_annotation_v1_1")
_SUBJECT_RE = re.compile(r"^Subject_(\d+)$")


def read_fpha_skeleton(path: Path) -> tuple[list[int], F64]:
    """Parse one ``skeleton.txt``.

    Returns:
        ``(frame_numbers, joints_xyz_mm)``: N frame numbers (the ``%04d`` of the depth file) and (N, 21, 3)
        float64 camera mm, y down.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a line without 1 + 63 tokens, a non-numeric value or a non-integer frame number.
    """
    names, values = read_label_text(path, FPHA_NUM_JOINTS * 3, True, "'t x1 y1 z1 … x21 y21 z21'")
    frames: list[int] = []
    for name in names:
        try:
            frames.append(int(float(name)))
        except ValueError:
            raise ValueError(f"{path}: frame number {name!r} is not an integer; expected 't x1 … z21'") from None
    return frames, values.reshape(-1, FPHA_NUM_JOINTS, 3)


def _natural_key(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 30, name)


class FphaDataset(HandDataset):
    """FPHA frames with their 21 joints, in subject / action / sequence / frame order.

    Args:
        root: Folder holding ``Video_files/`` and ``Hand_pose_annotation_v1/``.
        subjects: Subject numbers to read (default: every ``Subject_<n>`` folder).
    """

    name = "fpha"
    joint_set = FPHA21

    def __init__(self, root: str | Path, subjects: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.intrinsics = INTRINSICS["fpha"]
        require_dir(self.root, "the FPHA folder holding Video_files/ and Hand_pose_annotation_v1/")
        annotation = next((self.root / d for d in FPHA_ANNOTATION_DIRS if (self.root / d).is_dir()), None)
        if annotation is None:
            raise FileNotFoundError(f"{self.root}: missing folder; expected one of {FPHA_ANNOTATION_DIRS} inside")
        require_dir(self.root / "Video_files", "FPHA depth videos (Video_files/Subject_<n>/…)")
        found = {int(m.group(1)): p for p in annotation.iterdir() if (m := _SUBJECT_RE.match(p.name)) and p.is_dir()}
        wanted = sorted(found) if subjects is None else list(subjects)
        names: list[str] = []
        joints: list[F64] = []
        for s in wanted:
            if s not in found:
                raise FileNotFoundError(f"{annotation / f'Subject_{s}'}: missing folder; expected FPHA subject {s}")
            for action in sorted(p for p in found[s].iterdir() if p.is_dir()):
                for seq in sorted((p for p in action.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name)):
                    frames, xyz = read_fpha_skeleton(seq / "skeleton.txt")
                    rel = f"Subject_{s}/{action.name}/{seq.name}/depth"
                    names += [f"{rel}/depth_{t:04d}.png" for t in frames]
                    joints.append(xyz)
        self._set_labels_xyz(names, np.concatenate(joints, axis=0) if joints else np.zeros((0, 21, 3)))

    def image_path(self, index: int) -> Path:
        """Path of the depth PNG of sample ``index``."""
        return self.root / "Video_files" / self._names[self._check_index(index)]

    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read a 640×480 16-bit depth PNG (mm)."""
        return read_png_depth16(path, (self.intrinsics.height, self.intrinsics.width))
