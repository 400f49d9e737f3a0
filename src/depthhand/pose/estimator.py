"""Hand pose from depth frames and hand centres, with an exported network on ONNX Runtime (torch-free).

The API follows mediapipe's task shape: an options dataclass, ``create_from_options``, a context manager and one
object (:class:`~depthhand.structures.HandPose`) per hand. Crop geometry (cube, input size), joint set and the
output convention come from the model's ONNX metadata, so a model file is self-describing.

Example:
    >>> with PoseEstimator.create_from_model_path("depthhand_fast.onnx") as est:  # doctest: +SKIP
    ...     poses = est.estimate(frame, [[10.0, -20.0, 550.0]])
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import inside_image, xyz_to_uvd
from depthhand.geometry.crop import crop_depth, make_crop
from depthhand.pose.backends import Backend, open_backend
from depthhand.pose.decode import OUTPUT_SPACES, crop_output_to_xyz
from depthhand.pose.tta import average_views, tta_views, view_patches
from depthhand.skeleton import JointSet, get_joint_set
from depthhand.structures import CameraIntrinsics, DepthFrame, HandCrop, HandPose

__all__ = ["PoseEstimator", "PoseEstimatorOptions", "PoseModelInfo"]

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class PoseEstimatorOptions:
    """How to run the pose network.

    Attributes:
        model_path: Exported ``.onnx`` file (with depthhand metadata).
        backend: ``"onnxruntime"`` (default), ``"onnxruntime-int8"`` (the model's int8 copy), ``"openvino"``,
            ``"openvino-bf16"`` (optional package) or ``"auto"`` (int8 where the copy exists and the CPU has VNNI or
            AVX2, else OpenVINO bf16 where it is installed and the CPU has bf16, else ONNX Runtime fp32;
            :func:`~depthhand.pose.backends.resolve_backend`).
        num_threads: Inference threads.
        allow_spinning: ONNX Runtime thread spinning (off by default: kinder to a server sharing the cores).
        cube_mm: Override the model's cube side, mm (``None``: from the metadata).
        tta_deg: Test-time augmentation: also run each hand rotated by ±``tta_deg`` degrees and average the three
            views (:mod:`depthhand.pose.tta`; ``uvd_crop`` models only; 0 = off, one view).
        tta_mirror: Test-time augmentation: also run the mirror image of every view (twice the views).
    """

    model_path: str | Path
    backend: str = "onnxruntime"
    num_threads: int = 2
    allow_spinning: bool = False
    cube_mm: float | None = None
    tta_deg: float = 0.0
    tta_mirror: bool = False


@dataclass(frozen=True, slots=True)
class PoseModelInfo:
    """What the model file says about itself.

    Attributes:
        name: Registry name of the architecture.
        joint_set: Output skeleton.
        cube_mm: Cube side, mm.
        input_size: Patch side, pixels.
        output_space: ``"xyz_crop"`` or ``"uvd_crop"``.
    """

    name: str
    joint_set: JointSet
    cube_mm: float
    input_size: int
    output_space: str

    @classmethod
    def from_metadata(cls, meta: dict[str, str], source: str = "model") -> PoseModelInfo:
        """Parse the ``depthhand.*`` metadata; raises ``ValueError`` naming a bad field."""
        try:
            info = cls(
                name=meta.get("depthhand.model", "unknown"),
                joint_set=get_joint_set(meta["depthhand.joint_set"]),
                cube_mm=float(meta["depthhand.cube_mm"]),
                input_size=int(meta["depthhand.input_size"]),
                output_space=meta["depthhand.output_space"],
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{source}: bad depthhand metadata ({exc}); got {meta}") from exc
        if info.output_space not in OUTPUT_SPACES:
            raise ValueError(
                f"{source}: depthhand.output_space must be one of {OUTPUT_SPACES}, got {info.output_space}"
            )
        return info


class PoseEstimator:
    """Crops each hand, runs the network on all hands in one batch and uncrops to camera mm.

    Not for training or evaluation of PyTorch models (use :mod:`depthhand.train`); this runs exported models only.
    """

    def __init__(self, options: PoseEstimatorOptions) -> None:
        self.options = options
        self._backend: Backend | None = open_backend(
            options.model_path, options.backend, options.num_threads, options.allow_spinning
        )
        self.backend = self._backend.name
        """The backend in use (``"auto"`` resolved, see :func:`~depthhand.pose.backends.open_backend`)."""
        self.info = PoseModelInfo.from_metadata(self._backend.metadata, str(options.model_path))
        self._views = tta_views(options.tta_deg, options.tta_mirror)
        if len(self._views) > 1 and self.info.output_space != "uvd_crop":
            self.close()
            raise ValueError(
                f"{options.model_path}: test-time rotation and mirroring need a uvd_crop model, this one outputs "
                f"{self.info.output_space}"
            )

    @classmethod
    def create_from_options(cls, options: PoseEstimatorOptions) -> PoseEstimator:
        """Build from options."""
        return cls(options)

    @classmethod
    def create_from_model_path(cls, path: str | Path) -> PoseEstimator:
        """Build with default options for a model file."""
        return cls(PoseEstimatorOptions(model_path=path))

    @property
    def cube_mm(self) -> float:
        """Cube side in use, mm."""
        return self.options.cube_mm or self.info.cube_mm

    def crop_hands(self, frame: DepthFrame, centers_xyz_mm: npt.ArrayLike) -> tuple[F32, list[HandCrop]]:
        """Normalised patches and crops of the hands.

        Args:
            frame: The depth frame.
            centers_xyz_mm: (N, 3) hand centres in camera mm (y down).

        Returns:
            ``(patches (N, 1, S, S) float32, crops)``.
        """
        centers = np.asarray(centers_xyz_mm, np.float64).reshape(-1, 3) if np.size(centers_xyz_mm) else np.zeros((0, 3))
        size = self.info.input_size
        crops = [make_crop(c, self.cube_mm, frame.intrinsics, size) for c in centers]
        patches = np.ones((len(crops), 1, size, size), np.float32)
        for i, crop in enumerate(crops):
            patches[i, 0] = crop_depth(frame.depth_mm, crop)
        return patches, crops

    def prepare(self, hands: int) -> None:
        """Make the network ready for up to ``hands`` hands at once, with every test-time view.

        No frame then pays a runtime's first-use cost
        (:meth:`Backend.prepare <depthhand.pose.backends.Backend.prepare>`).
        """
        if self._backend is None:
            raise ValueError("PoseEstimator is closed")
        self._backend.prepare(max(int(hands), 1) * len(self._views))

    def run_network(self, patches: F32) -> F32:
        """Raw network output (N, J, 3) in the model's output space for (N, 1, S, S) patches."""
        if self._backend is None:
            raise ValueError("PoseEstimator is closed")
        size = self.info.input_size
        if patches.ndim != 4 or patches.shape[1:] != (1, size, size):
            raise ValueError(f"patches must be (N, 1, {size}, {size}), got {patches.shape}")
        return self._backend.run(np.ascontiguousarray(patches, np.float32))

    def predict_patches(self, patches: F32) -> F32:
        """Network output (N, J, 3) for (N, 1, S, S) patches, averaged over the test-time views when enabled."""
        if len(self._views) == 1:
            return self.run_network(patches)
        return average_views(self.run_network(view_patches(patches, self._views)), self._views)

    def estimate(
        self, frame: DepthFrame, centers_xyz_mm: npt.ArrayLike, timings: dict[str, float] | None = None
    ) -> list[HandPose]:
        """Poses of the hands around ``centers_xyz_mm`` (all hands in one network call).

        Args:
            frame: The depth frame.
            centers_xyz_mm: (N, 3) or (3,) hand centres, camera mm; N may be 0.
            timings: If given, the ``crop`` and ``pose`` (network and decode) wall times, ms, are written into it.

        Returns:
            One :class:`HandPose` per centre, joints in camera mm and image uvd; ``visible`` is False for joints
            outside the camera image (the network's guess beyond the edge, e.g. the wrist of a hand reaching in).
        """
        return self.estimate_with_patches(frame, centers_xyz_mm, timings)[0]

    def estimate_with_patches(
        self, frame: DepthFrame, centers_xyz_mm: npt.ArrayLike, timings: dict[str, float] | None = None
    ) -> tuple[list[HandPose], F32]:
        """:meth:`estimate`, also returning the (N, 1, S, S) normalised patches the network saw.

        The patches tell how much of each cube holds depth (values inside (−1, 1)); the live pipeline uses that to
        notice a followed hand that left its crop.
        """
        t0 = time.perf_counter()
        patches, crops = self.crop_hands(frame, centers_xyz_mm)
        t1 = time.perf_counter()
        poses: list[HandPose] = []
        if crops:
            raw = self.predict_patches(patches)
            poses = [self.decode(out, crop, frame.intrinsics) for out, crop in zip(raw, crops, strict=True)]
        if timings is not None:
            timings["crop"] = (t1 - t0) * 1e3
            timings["pose"] = (time.perf_counter() - t1) * 1e3
        return poses, patches

    def decode(self, output: npt.NDArray[np.floating], crop: HandCrop, intrinsics: CameraIntrinsics) -> HandPose:
        """One hand's network output → :class:`HandPose` in camera mm and image uvd.

        Args:
            output: (J, 3) network output for the hand, in the model's output space.
            crop: The crop the patch was cut with.
            intrinsics: The frame's camera.

        Returns:
            The pose; ``visible`` is False for joints outside the camera image (the network's guess beyond the
            edge, e.g. the wrist of a hand reaching in).
        """
        xyz = crop_output_to_xyz(output, self.info.output_space, crop, intrinsics)
        uvd = xyz_to_uvd(xyz, intrinsics)
        visible = inside_image(xyz, intrinsics)
        return HandPose(xyz.astype(np.float32), uvd.astype(np.float32), self.info.joint_set, visible=visible)

    def close(self) -> None:
        """Release the runtime."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
