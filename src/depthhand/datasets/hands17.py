"""HANDS2017 frame-based challenge / BigHand2.2M reader (training set; test labels are hidden).

Layout (``root`` = the HANDS2017 folder)::

    training/Training_Annotation.txt    one line per frame: `image_D%08d.png x1 y1 z1 … x21 y21 z21` (mm, y down)
    training/images/image_D%08d.png     640×480 single-channel 16-bit PNG, mm, background zeroed

Tabs or spaces separate the tokens. Joint order (BigHand): wrist, the five MCPs (thumb … pinky), then per finger
(thumb, index, middle, ring, pinky) PIP, DIP, TIP (:class:`depthhand.skeleton.Hands17`). SR300 intrinsics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.base import HandDataset
from depthhand.datasets.files import F64, read_label_text, read_png_depth16, require_dir
from depthhand.geometry.camera import INTRINSICS
from depthhand.skeleton import HANDS17

HANDS17_NUM_JOINTS = 21
HANDS17_ANNOTATION = "Training_Annotation.txt"


def read_hands17_annotation(path: Path) -> tuple[list[str], F64]:
    """Parse ``Training_Annotation.txt``.

    Returns:
        ``(filenames, joints_xyz_mm)``: N image names and (N, 21, 3) float64 camera mm (y down, as stored).

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a line without exactly 1 + 63 tokens or with a non-numeric value (names file and line).
    """
    names, values = read_label_text(path, HANDS17_NUM_JOINTS * 3, True, "'image_D%08d.png x1 y1 z1 … x21 y21 z21'")
    return names, values.reshape(-1, HANDS17_NUM_JOINTS, 3)


class Hands17Dataset(HandDataset):
    """HANDS2017 training frames with their 21 joints.

    Args:
        root: The HANDS2017 folder (holding ``training/``), or the ``training`` folder itself.
    """

    name = "hands17"
    joint_set = HANDS17

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.intrinsics = INTRINSICS["hands17"]
        require_dir(self.root, "the HANDS2017 folder holding training/")
        training = self.root / "training"
        if not (training / HANDS17_ANNOTATION).is_file() and (self.root / HANDS17_ANNOTATION).is_file():
            training = self.root
        names, joints_xyz_mm = read_hands17_annotation(training / HANDS17_ANNOTATION)
        self._image_dir = require_dir(training / "images", "the HANDS2017 image_D%08d.png depth images")
        self._set_labels_xyz(names, joints_xyz_mm)

    def image_path(self, index: int) -> Path:
        """Path of the depth PNG of sample ``index``."""
        return self._image_dir / self._names[self._check_index(index)]

    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read a 640×480 16-bit depth PNG (mm)."""
        return read_png_depth16(path, (self.intrinsics.height, self.intrinsics.width))
