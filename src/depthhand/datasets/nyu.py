"""NYU Hand Pose Dataset reader (Tompson et al., TOG 2014).

Layout (``root`` = the folder holding ``train/`` and ``test/``)::

    <split>/joint_data.mat             joint_names (36), joint_uvd and joint_xyz, each [3 cameras, N, 36, 3]
    <split>/depth_<k>_<%07d>.png       camera k = 1..3, frame numbers 1-based; RGB PNG, depth_mm = G·256 + B

``joint_xyz`` is in mm with y **up**; this reader flips it to depthhand's y-down camera frame. Only the 14
evaluation joints (:data:`depthhand.skeleton.NYU14_FROM_36`) are returned. ``joints_uvd`` are the file's own
``joint_uvd`` values (the published ground truth), checked against the projection of ``joint_xyz`` with the NYU
intrinsics at construction (a disagreement means the wrong intrinsics or y convention).

The depth decoding ``depth_mm = (G << 8) | B`` follows the reference document §1.1 (verified in three independent
loaders); OpenCV reads BGR, so B is channel 0 and G channel 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.datasets.base import HandDataset
from depthhand.datasets.centers import CenterFormat, load_centers_xyz_mm
from depthhand.datasets.files import read_png, require_dir, require_file
from depthhand.geometry.camera import INTRINSICS, Axes, flip_y, xyz_to_uvd
from depthhand.skeleton import NYU14, NYU14_FROM_36

F64 = npt.NDArray[np.float64]

NYU_SPLITS = ("train", "test")
NYU_NUM_JOINTS_ALL = 36
NYU_TEST_SUBJECT1_FRAMES = 2440
"""Test frames 1–2440 are subject 1 (the training subject); frames 2441–8252 are a second subject."""


def decode_nyu_depth(image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Decode an NYU depth PNG as read by OpenCV (BGR) to millimetres: ``depth = G·256 + B``.

    Args:
        image_bgr: (H, W, 3) uint8 in OpenCV's BGR order (channel 0 = B, 1 = G, 2 = R unused).

    Returns:
        (H, W) float32 depth in mm.

    Example:
        >>> img = encode_nyu_depth(np.array([[731.0, 2001.0]], np.float32))
        >>> decode_nyu_depth(img).tolist()
        [[731.0, 2001.0]]
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"NYU depth image must be (H, W, 3) uint8 BGR, got {image_bgr.shape} {image_bgr.dtype}")
    blue = image_bgr[:, :, 0].astype(np.float32)
    green = image_bgr[:, :, 1].astype(np.float32)
    return green * np.float32(256.0) + blue


def encode_nyu_depth(depth_mm: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Encode millimetres as an NYU BGR image (inverse of :func:`decode_nyu_depth`; R = 0).

    Args:
        depth_mm: (H, W) depth in mm; rounded to integers, must lie in [0, 65535].

    Returns:
        (H, W, 3) uint8 BGR image for ``cv2.imwrite``.
    """
    depth = np.rint(np.asarray(depth_mm, np.float64))
    if depth.ndim != 2 or (depth < 0).any() or (depth > 65535).any():
        raise ValueError(f"depth_mm must be (H, W) within [0, 65535] mm, got shape {depth.shape}")
    d = depth.astype(np.uint16)
    out = np.zeros((*d.shape, 3), np.uint8)
    out[:, :, 0] = (d & 0xFF).astype(np.uint8)
    out[:, :, 1] = (d >> 8).astype(np.uint8)
    return out


def read_nyu_joint_data(path: Path, camera: int = 1) -> tuple[F64, F64]:
    """Read one camera's joints from an NYU ``joint_data.mat``.

    Args:
        path: The ``joint_data.mat`` file.
        camera: Kinect index 1..3 (1 = the frontal view used by every benchmark).

    Returns:
        ``(joints_xyz_mm, joints_uvd)``, each (N, 36, 3) float64: xyz in camera mm **converted to y down**, uvd as
        stored (px, px, mm).

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If it cannot be read, lacks ``joint_xyz``/``joint_uvd``, or they are not [3, N, 36, 3].
    """
    import scipy.io

    expected = "'joint_xyz' and 'joint_uvd' of shape [3, N, 36, 3]"
    require_file(path, f"NYU joint_data.mat with {expected}")
    if camera not in (1, 2, 3):
        raise ValueError(f"NYU camera must be 1, 2 or 3, got {camera}")
    try:
        data = scipy.io.loadmat(str(path), variable_names=["joint_xyz", "joint_uvd"])
    except Exception as exc:  # scipy raises MatReadError, IndexError, ValueError, ... on corrupt files
        raise ValueError(f"{path}: cannot be read as a MATLAB v5 file ({exc}); expected {expected}") from None
    arrays: list[F64] = []
    for key in ("joint_xyz", "joint_uvd"):
        if key not in data:
            raise ValueError(f"{path}: has no variable {key!r}; expected {expected}")
        arr = np.asarray(data[key], np.float64)
        if arr.ndim != 4 or arr.shape[2:] != (NYU_NUM_JOINTS_ALL, 3) or arr.shape[0] < camera:
            raise ValueError(f"{path}: {key!r} has shape {arr.shape}; expected [3, N, 36, 3] ({expected})")
        arrays.append(arr[camera - 1])
    xyz_up, uvd = arrays
    if xyz_up.shape != uvd.shape:
        raise ValueError(f"{path}: joint_xyz has {xyz_up.shape[0]} frames but joint_uvd {uvd.shape[0]}")
    return flip_y(xyz_up), uvd


def nyu_depth_name(split: str, camera: int, frame_number: int) -> str:
    """Name of a depth file relative to the dataset root, e.g. ``test/depth_1_0000001.png`` (1-based frames)."""
    return f"{split}/depth_{camera}_{frame_number:07d}.png"


class NyuDataset(HandDataset):
    """NYU camera-``camera`` frames of one split with the 14 evaluation joints.

    Args:
        root: Folder holding ``train/`` and ``test/``.
        split: ``"train"`` (72,757 frames) or ``"test"`` (8,252).
        camera: Kinect index 1..3.
        center_file: Optional centre file with one centre per frame: V2V's ``center_*_refined.txt`` (xyz mm,
            y **up**) or A2J's ``nyu_center_test.mat`` (uvd), or an uvd re-distribution of the V2V file.
        center_format: What the centre file holds; AUTO decides from the values (see
            :func:`depthhand.datasets.centers.detect_center_format`). xyz centres are taken as y up (NYU's
            convention).
        max_label_disagreement_px: Tolerance of the ``joint_uvd`` vs projected ``joint_xyz`` check; ``None``
            skips it.

    Example:
        >>> ds = NyuDataset("/data/nyu", "test")  # doctest: +SKIP
        >>> sample = ds[0]; sample.pose.joints_xyz_mm.shape
        (14, 3)
    """

    name = "nyu"
    joint_set = NYU14

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        camera: int = 1,
        center_file: str | Path | None = None,
        center_format: CenterFormat = CenterFormat.AUTO,
        max_label_disagreement_px: float | None = 1.0,
    ) -> None:
        super().__init__()
        if split not in NYU_SPLITS:
            raise ValueError(f"NYU split must be one of {NYU_SPLITS}, got {split!r}")
        self.root = Path(root)
        self.split = split
        self.camera = camera
        self.intrinsics = INTRINSICS["nyu"]
        split_dir = require_dir(self.root / split, f"the NYU {split} folder with joint_data.mat and depth PNGs")
        mat = split_dir / "joint_data.mat"
        xyz36, uvd36 = read_nyu_joint_data(mat, camera)
        index = list(NYU14_FROM_36)
        joints_xyz_mm, joints_uvd = xyz36[:, index], uvd36[:, index]
        if max_label_disagreement_px is not None:
            self._check_labels(mat, joints_xyz_mm, joints_uvd, max_label_disagreement_px)
        names = [nyu_depth_name(split, camera, i + 1) for i in range(len(joints_xyz_mm))]
        self._set_labels(names, joints_xyz_mm, joints_uvd)
        if center_file is not None:
            path = Path(center_file)
            self._set_centers(load_centers_xyz_mm(path, self.intrinsics, center_format, Axes.Y_UP), path)

    def _check_labels(self, mat: Path, joints_xyz_mm: F64, joints_uvd: F64, tol_px: float) -> None:
        projected = xyz_to_uvd(joints_xyz_mm, self.intrinsics)
        with np.errstate(invalid="ignore"):
            err = np.abs(projected[..., :2] - joints_uvd[..., :2]).max(axis=-1)
        err = np.where(np.isfinite(err), err, 0.0)
        if err.size and float(err.max()) > tol_px:
            frame, joint = np.unravel_index(int(np.argmax(err)), err.shape)
            raise ValueError(
                f"{mat}: joint_uvd and joint_xyz (projected with NYU intrinsics, y up) disagree by "
                f"{float(err.max()):.2f} px at frame {int(frame) + 1}, joint {int(joint)}; expected ≤ {tol_px} px"
            )

    def image_path(self, index: int) -> Path:
        """Path of the depth PNG of sample ``index``."""
        return self.root / self._names[self._check_index(index)]

    def read_depth(self, path: Path) -> npt.NDArray[np.float32]:
        """Read an NYU RGB-encoded depth PNG (640×480, 3 × uint8) into mm."""
        image = read_png(path)
        h, w = self.intrinsics.height, self.intrinsics.width
        if image.ndim != 3 or image.shape != (h, w, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"{path}: is {image.shape} {image.dtype}; expected an RGB PNG of {w}x{h} with 8-bit channels "
                "(depth_mm = G·256 + B)"
            )
        return decode_nyu_depth(image.astype(np.uint8))
