"""ICVL hand posture dataset reader (Tang et al., CVPR 2014).

Layout (``root`` = the folder holding ``Training/`` and ``Testing/``)::

    Training/labels.txt                 one line per frame: `filename u1 v1 d1 … u16 v16 d16` (px, px, mm)
    Training/Depth/<filename>           320×240 single-channel 16-bit PNG, mm
    Testing/test_seq_1.txt, test_seq_2.txt
    Testing/Depth/<filename>            e.g. Depth/test_seq_1/image_0000.png

Labels are uvd; xyz is back-projected with y down (ICVL's convention). Two intrinsics conventions exist
(reference §1.2): ``"icvl"`` (fx 240.99, fy 240.96: REN, A2J, the awesome-hpe tool) and ``"icvl_deepprior"``
(fx = fy = 241.42: DeepPrior++, V2V, CrossInfoNet); choose with ``intrinsics=``. The training list holds the
in-plane-rotated copies as well ("330K" lines); this reader returns what the list names. 32001 mm marks invalid
pixels in some frames; it is returned as stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.base import HandDataset
from depthhand.datasets.centers import CenterFormat, load_centers_xyz_mm
from depthhand.datasets.files import F64, read_label_text, read_png_depth16, require_dir
from depthhand.geometry.camera import INTRINSICS, Axes
from depthhand.skeleton import ICVL16

ICVL_NUM_JOINTS = 16
ICVL_INTRINSICS = ("icvl", "icvl_deepprior")
ICVL_SPLIT_FILES: dict[str, tuple[str, ...]] = {
    "train": ("Training/labels.txt",),
    "test": ("Testing/test_seq_1.txt", "Testing/test_seq_2.txt"),
    "test_seq_1": ("Testing/test_seq_1.txt",),
    "test_seq_2": ("Testing/test_seq_2.txt",),
}
"""Label files of each split, relative to the root; ``test`` = sequence A (702) + sequence B (894)."""


def read_icvl_labels(path: Path) -> tuple[list[str], F64]:
    """Parse an ICVL label file (``labels.txt`` or ``test_seq_*.txt``).

    Returns:
        ``(filenames, joints_uvd)``: N names relative to the ``Depth`` folder and (N, 16, 3) float64 uvd.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: For a line without exactly 1 + 48 tokens or with a non-numeric value (names file and line).

    Example:
        >>> names, uvd = read_icvl_labels(Path("Testing/test_seq_1.txt"))  # doctest: +SKIP
        >>> uvd.shape
        (702, 16, 3)
    """
    names, values = read_label_text(path, ICVL_NUM_JOINTS * 3, True, "'filename u1 v1 d1 … u16 v16 d16'")
    return names, values.reshape(-1, ICVL_NUM_JOINTS, 3)


class IcvlDataset(HandDataset):
    """ICVL frames of one split with their 16 joints.

    Args:
        root: Folder holding ``Training/`` and ``Testing/``.
        split: ``"train"``, ``"test"`` (both sequences), ``"test_seq_1"`` or ``"test_seq_2"``.
        intrinsics: ``"icvl"`` (240.99/240.96) or ``"icvl_deepprior"`` (241.42).
        center_file: Optional centre file, one centre per frame (V2V's ICVL files: xyz mm, y down; A2J's
            ``icvl_center_test.mat``: uvd).
        center_format: What the centre file holds; AUTO decides from the values.
    """

    name = "icvl"
    joint_set = ICVL16

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        intrinsics: str = "icvl",
        center_file: str | Path | None = None,
        center_format: CenterFormat = CenterFormat.AUTO,
    ) -> None:
        super().__init__()
        if split not in ICVL_SPLIT_FILES:
            raise ValueError(f"ICVL split must be one of {sorted(ICVL_SPLIT_FILES)}, got {split!r}")
        if intrinsics not in ICVL_INTRINSICS:
            raise ValueError(f"ICVL intrinsics must be one of {ICVL_INTRINSICS}, got {intrinsics!r}")
        self.root = Path(root)
        self.split = split
        self.intrinsics = INTRINSICS[intrinsics]
        require_dir(self.root, "the ICVL folder holding Training/ and Testing/")
        all_names: list[str] = []
        all_uvd: list[F64] = []
        for rel in ICVL_SPLIT_FILES[split]:
            names, uvd = read_icvl_labels(self.root / rel)
            all_names += names
            all_uvd.append(uvd)
        self._depth_dir = self.root / ICVL_SPLIT_FILES[split][0].split("/")[0] / "Depth"
        self._set_labels_uvd(all_names, np.concatenate(all_uvd, axis=0))
        if center_file is not None:
            path = Path(center_file)
            self._set_centers(load_centers_xyz_mm(path, self.intrinsics, center_format, Axes.Y_DOWN), path)

    def image_path(self, index: int) -> Path:
        """Path of the depth PNG of sample ``index``."""
        return self._depth_dir / self._names[self._check_index(index)]

    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read a 320×240 16-bit ICVL depth PNG (mm)."""
        return read_png_depth16(path, (self.intrinsics.height, self.intrinsics.width))
