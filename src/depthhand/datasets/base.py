"""The common shape of every dataset reader: a lazy, indexable list of :class:`DatasetSample`.

A reader indexes its label file(s) when it is constructed (joints for every frame, as float64 arrays) and reads a
depth image only when a sample is requested, so a 72k-frame dataset opens in seconds. Readers only *read*: no
cropping, normalisation or augmentation happens here (that is ``geometry.crop`` / ``geometry.augment``).

All joints are returned in depthhand's camera frame (x right, y **down**, z forward, mm); readers of datasets that
store y up (NYU, MSRA) convert on reading.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import uvd_to_xyz, xyz_to_uvd
from depthhand.skeleton import JointSet
from depthhand.structures import CameraIntrinsics, DepthFrame, HandPose

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class DatasetSample:
    """One frame of a dataset with its ground truth.

    Attributes:
        frame: The depth image (mm, 0 = invalid) and its camera.
        pose: Ground-truth joints: ``joints_xyz_mm`` (J, 3) camera mm, y down; ``joints_uvd`` (J, 3) px, px, mm.
        center_xyz_mm: (3,) float64 hand centre in camera mm (y down) from a centre file, or ``None`` when the
            reader has no centre file or the file marks this frame ``invalid``.
        name: The frame's name as the dataset lists it (e.g. ``"test/depth_1_0000001.png"``).
        path: The depth file on disk.
        index: Position of the sample in the reader (0-based).
    """

    frame: DepthFrame
    pose: HandPose
    center_xyz_mm: F64 | None
    name: str
    path: Path
    index: int


class HandDataset(abc.ABC):
    """A dataset reader: ``len(ds)``, ``ds[i] -> DatasetSample``, iteration, and the labels as arrays.

    Subclasses fill ``_names``, ``_joints_xyz_mm`` and ``_joints_uvd`` (and optionally ``_centers_xyz_mm``) in
    their constructor and implement :meth:`image_path` and :meth:`read_depth`.

    Attributes:
        name: Dataset name (``"nyu"``, ``"icvl"``, ...).
        intrinsics: The dataset's camera.
        joint_set: Skeleton of the ground truth.
    """

    name: str
    intrinsics: CameraIntrinsics
    joint_set: JointSet

    def __init__(self) -> None:
        self._names: list[str] = []
        self._joints_xyz_mm: F64 = np.zeros((0, 0, 3), np.float64)
        self._joints_uvd: F64 = np.zeros((0, 0, 3), np.float64)
        self._centers_xyz_mm: F64 | None = None

    # -- to implement ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def image_path(self, index: int) -> Path:
        """Path of the depth file of sample ``index`` (no I/O)."""

    @abc.abstractmethod
    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read one depth file into an (H, W) float32 mm image (0 = invalid).

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If the file is not in the dataset's format (message names the file and what was expected).
        """

    # -- shared ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[DatasetSample]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, frames={len(self)}, joints={self.joint_set.name})"

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not isinstance(index, int | np.integer):
            raise TypeError(f"{self.name} index must be an int, got {type(index).__name__}")
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"{self.name} index {index} out of range for {n} frames")
        return i

    @property
    def names(self) -> tuple[str, ...]:
        """Frame names in reader order."""
        return tuple(self._names)

    @property
    def joints_xyz_mm(self) -> F64:
        """(N, J, 3) float64 ground truth of all frames, camera mm, y down (a copy)."""
        return self._joints_xyz_mm.copy()

    @property
    def joints_uvd(self) -> F64:
        """(N, J, 3) float64 ground truth of all frames, pixels and mm (a copy)."""
        return self._joints_uvd.copy()

    @property
    def centers_xyz_mm(self) -> F64 | None:
        """(N, 3) float64 centres from the centre file (NaN rows = invalid), or ``None`` without one."""
        return None if self._centers_xyz_mm is None else self._centers_xyz_mm.copy()

    def pose(self, index: int) -> HandPose:
        """Ground truth of sample ``index`` without reading its image."""
        i = self._check_index(index)
        return HandPose(
            joints_xyz_mm=self._joints_xyz_mm[i].astype(np.float32),
            joints_uvd=self._joints_uvd[i].astype(np.float32),
            joint_set=self.joint_set,
        )

    def center_xyz_mm(self, index: int) -> F64 | None:
        """(3,) centre of sample ``index`` (camera mm, y down), or ``None`` if unknown/invalid."""
        i = self._check_index(index)
        if self._centers_xyz_mm is None or not np.isfinite(self._centers_xyz_mm[i]).all():
            return None
        center: F64 = np.array(self._centers_xyz_mm[i], np.float64)
        return center

    def frame(self, index: int) -> DepthFrame:
        """Read the depth image of sample ``index``."""
        i = self._check_index(index)
        depth_mm = self.read_depth(self.image_path(i))
        return DepthFrame(depth_mm, self.intrinsics, source_id=f"{self.name}:{self._names[i]}", index=i)

    def __getitem__(self, index: int) -> DatasetSample:
        i = self._check_index(index)
        return DatasetSample(
            frame=self.frame(i),
            pose=self.pose(i),
            center_xyz_mm=self.center_xyz_mm(i),
            name=self._names[i],
            path=self.image_path(i),
            index=i,
        )

    # -- helpers for subclasses ------------------------------------------------------------------------------
    def _set_labels_xyz(self, names: list[str], joints_xyz_mm: F64) -> None:
        """Store labels given in camera mm (y down); uvd is projected with the dataset's intrinsics."""
        self._set_labels(names, joints_xyz_mm, xyz_to_uvd(joints_xyz_mm, self.intrinsics))

    def _set_labels_uvd(self, names: list[str], joints_uvd: F64) -> None:
        """Store labels given in pixels + mm; xyz is back-projected with the dataset's intrinsics."""
        self._set_labels(names, uvd_to_xyz(joints_uvd, self.intrinsics), joints_uvd)

    def _set_labels(self, names: list[str], joints_xyz_mm: F64, joints_uvd: F64) -> None:
        j = self.joint_set.num_joints
        n = len(names)
        for label, arr in (("joints_xyz_mm", joints_xyz_mm), ("joints_uvd", joints_uvd)):
            if arr.shape != (n, j, 3):
                raise ValueError(f"{self.name}: {label} has shape {arr.shape}, expected ({n}, {j}, 3)")
        self._names = list(names)
        self._joints_xyz_mm = np.ascontiguousarray(joints_xyz_mm, np.float64)
        self._joints_uvd = np.ascontiguousarray(joints_uvd, np.float64)

    def _set_centers(self, centers_xyz_mm: F64 | None, source: Path | str) -> None:
        if centers_xyz_mm is None:
            self._centers_xyz_mm = None
            return
        if centers_xyz_mm.shape != (len(self), 3):
            raise ValueError(
                f"{source}: centre file has {centers_xyz_mm.shape[0]} centres, expected one per frame "
                f"({len(self)} frames of {self.name})"
            )
        self._centers_xyz_mm = np.ascontiguousarray(centers_xyz_mm, np.float64)
