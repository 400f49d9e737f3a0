"""Per-dataset evaluation protocols: intrinsics, frame and joint counts, standard subsets, ground-truth paths.

The intrinsics are those of the community's reference evaluation tool (awesome-hand-pose-estimation): NYU
(588.03, −587.07, 320, 240), i.e. fy = 587.07 with y **up**; ICVL (240.99, 240.96, 160, 120); MSRA
(241.42, 241.42, 160, 120). They are bound to the protocol; :meth:`EvalProtocol.with_intrinsics` is the explicit
override for diagnostics (wrong intrinsics roughly double NYU errors and shrink ICVL errors by a third).

Errors are computed in depthhand's camera frame (y down). The y sign changes no error value; a protocol's
``label_axes`` records the dataset's own 3D-label convention and is used only to read xyz predictions stored in it.

Example:
    >>> p = get_protocol("nyu")
    >>> p.num_frames, p.num_joints, p.intrinsics.fx
    (8252, 14, 588.03)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from depthhand.evaluate.metrics import DEFAULT_THRESHOLDS_MM, EvalReport, FrameRange, evaluate_xyz
from depthhand.geometry.camera import INTRINSICS, Axes, flip_y, uvd_to_xyz
from depthhand.skeleton import ICVL16, MSRA21, NYU14, JointSet
from depthhand.structures import CameraIntrinsics

F64 = npt.NDArray[np.float64]

SHARED_ENV = "DEPTHHAND_SHARED"
"""Environment variable naming the shared folder (the one holding ``data/eval``)."""


@dataclass(frozen=True, slots=True)
class EvalProtocol:
    """How one dataset's test set is evaluated.

    Attributes:
        name: ``"nyu"``, ``"icvl"`` or ``"msra"``.
        joint_set: The evaluated joints, in file column order.
        num_frames: Test frames N of the full set.
        intrinsics: Intrinsics of the reference tool, used to convert (u, v, d) to mm.
        label_axes: Y convention of the dataset's own 3D labels.
        gt_relpath: Ground-truth file relative to the shared ``data`` folder.
        subsets: Named 1-based frame ranges reported separately (NYU halves, ICVL sequences).
        intrinsics_overridden: True when :attr:`intrinsics` is not the reference tool's (a diagnostic).
    """

    name: str
    joint_set: JointSet
    num_frames: int
    intrinsics: CameraIntrinsics
    label_axes: Axes
    gt_relpath: str
    subsets: Mapping[str, FrameRange] = field(default_factory=dict)
    intrinsics_overridden: bool = False

    @property
    def num_joints(self) -> int:
        """Joints J per frame."""
        return self.joint_set.num_joints

    def with_intrinsics(self, intrinsics: CameraIntrinsics) -> EvalProtocol:
        """The same protocol with other intrinsics (for the wrong-intrinsics diagnostic; numbers are not comparable)."""
        return replace(self, intrinsics=intrinsics, intrinsics_overridden=True)

    def check_shape(self, joints: npt.ArrayLike, what: str) -> F64:
        """Return ``joints`` as float64 after checking it is the full (N, J, 3) set; partial sets are refused.

        Raises:
            ValueError: Naming ``what`` and the expected shape.
        """
        arr = np.asarray(joints, dtype=np.float64)
        expected = (self.num_frames, self.num_joints, 3)
        if arr.shape != expected:
            raise ValueError(
                f"{what}: expected the full {self.name} test set {expected} (N frames, J joints, 3), got {arr.shape}; "
                "partial sets are refused"
            )
        return arr

    def uvd_to_xyz(self, joints_uvd: npt.ArrayLike) -> F64:
        """Convert (..., 3) image joints (px, px, mm) to camera mm (y down) with the protocol's intrinsics."""
        return uvd_to_xyz(joints_uvd, self.intrinsics, Axes.Y_DOWN)

    def label_xyz_to_camera(self, joints_xyz_mm: npt.ArrayLike, axes: Axes) -> F64:
        """Bring (..., 3) xyz mm stored with y convention ``axes`` into the y-down camera frame."""
        arr = np.asarray(joints_xyz_mm, dtype=np.float64)
        return flip_y(arr) if axes is Axes.Y_UP else arr

    def gt_path(self, shared_dir: Path) -> Path:
        """The default ground-truth file under ``shared_dir`` (the folder holding ``data/``)."""
        return shared_dir / "data" / self.gt_relpath


def _frozen(d: dict[str, FrameRange]) -> Mapping[str, FrameRange]:
    return MappingProxyType(d)


PROTOCOLS: Mapping[str, EvalProtocol] = MappingProxyType(
    {
        "nyu": EvalProtocol(
            name="nyu",
            joint_set=NYU14,
            num_frames=8252,
            intrinsics=INTRINSICS["nyu"],
            label_axes=Axes.Y_UP,
            gt_relpath="eval/groundtruth/nyu/nyu_test_groundtruth_label.txt",
            subsets=_frozen({"frames 1-2440": FrameRange(1, 2440), "frames 2441-8252": FrameRange(2441, 8252)}),
        ),
        "icvl": EvalProtocol(
            name="icvl",
            joint_set=ICVL16,
            num_frames=1596,
            intrinsics=INTRINSICS["icvl"],
            label_axes=Axes.Y_DOWN,
            gt_relpath="eval/groundtruth/icvl/icvl_test_groundtruth_label.txt",
            subsets=_frozen({"seq 1": FrameRange(1, 702), "seq 2": FrameRange(703, 1596)}),
        ),
        "msra": EvalProtocol(
            name="msra",
            joint_set=MSRA21,
            num_frames=76375,
            intrinsics=INTRINSICS["msra"],
            label_axes=Axes.Y_DOWN,
            gt_relpath="eval/groundtruth/msra/msra_test_groundtruth_label.txt",
        ),
    }
)
"""The supported protocols by name."""


def get_protocol(name: str) -> EvalProtocol:
    """Look a protocol up by dataset name.

    Raises:
        ValueError: For an unknown name.
    """
    try:
        return PROTOCOLS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(PROTOCOLS)}") from None


def resolve_shared_dir(shared: str | os.PathLike[str] | None = None) -> Path:
    """The shared folder: ``shared`` if given, else ``$DEPTHHAND_SHARED``, else ``../shared`` from the cwd."""
    if shared is not None:
        return Path(shared)
    env = os.environ.get(SHARED_ENV)
    if env:
        return Path(env)
    return Path.cwd().parent / "shared"


def default_gt_path(protocol: EvalProtocol, shared: str | os.PathLike[str] | None = None) -> Path:
    """The protocol's ground-truth file in the shared folder, which must exist.

    Raises:
        FileNotFoundError: Naming the path tried and how to point elsewhere.
    """
    path = protocol.gt_path(resolve_shared_dir(shared))
    if not path.is_file():
        raise FileNotFoundError(
            f"{protocol.name} ground truth not found at {path}; pass --gt FILE, or --shared DIR / "
            f"${SHARED_ENV} pointing at the folder that holds data/eval"
        )
    return path


def evaluate_protocol(
    protocol: EvalProtocol,
    pred_xyz_mm: npt.ArrayLike,
    gt_xyz_mm: npt.ArrayLike,
    name: str,
    *,
    frames: FrameRange | None = None,
    joints: Sequence[int] | None = None,
    thresholds_mm: Sequence[float] = DEFAULT_THRESHOLDS_MM,
) -> EvalReport:
    """Evaluate full-set camera-space predictions under ``protocol``.

    Both arrays must cover the full test set (partial sets are refused); ``frames`` and ``joints`` then select
    what is summarised. The protocol's subsets (NYU halves, ICVL sequences) are reported when no frame range is
    given.

    Args:
        protocol: The dataset protocol.
        pred_xyz_mm: (N, J, 3) predictions, camera mm (y down).
        gt_xyz_mm: (N, J, 3) ground truth, camera mm (y down).
        name: Method name.
        frames: Optional 1-based inclusive frame range.
        joints: Optional joint indices.
        thresholds_mm: Success-curve thresholds.

    Returns:
        The report.
    """
    pred = protocol.check_shape(pred_xyz_mm, f"predictions of {name!r}")
    gt = protocol.check_shape(gt_xyz_mm, "ground truth")
    return evaluate_xyz(
        pred,
        gt,
        name,
        dataset=protocol.name,
        joint_names=protocol.joint_set.names,
        frames=frames,
        joints=joints,
        subsets=protocol.subsets,
        thresholds_mm=thresholds_mm,
    )
